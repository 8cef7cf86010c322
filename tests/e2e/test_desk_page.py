"""The agent desk page in a real browser (Debian's chromium, driven by playwright)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import Browser, Page, expect

from contactd.app import create_app
from contactd.clock import Clock
from contactd.http.appkeys import POOL
from contactd.settings import Settings
from contactd.store.staff import Role
from tests.conftest import token_for
from tests.e2e.conftest import off_clock


async def _sign_in(page: Page, url: str, token: str, login: str = "karin") -> None:
    await page.goto(url)
    await page.get_by_label("Brugernavn").fill(login)
    await page.get_by_label("Din adgangsnøgle").fill(token)
    await page.keyboard.press("Enter")


@pytest.mark.timeout(90)
async def test_a_caseworker_takes_an_offer_that_arrives_live_using_only_the_keyboard(
    client: TestClient[web.Request, web.Application],
    app_pool: asyncpg.Pool,
    browser: Browser,
    clock: Clock,
) -> None:
    supervisor = await token_for(app_pool, "sofie", Role.SUPERVISOR)
    karin = await token_for(app_pool, "karin", Role.AGENT)
    front = await token_for(app_pool, "frida", Role.FRONTDESK)
    profile = {"skills": {"family": 4}, "languages": ["da"]}
    assert (await client.put("/api/agents/karin", json=profile, headers=supervisor)).status == 200

    page = await browser.new_page(locale="da-DK")
    await off_clock(page, clock)
    await _sign_in(page, str(client.make_url("/desk")), karin["Authorization"].split()[1])
    await expect(page.get_by_text("Ingen henvendelser lige nu.")).to_be_visible()
    await page.get_by_role("button", name="Klar").click()
    await expect(page.locator("#state")).to_have_text("Klar")

    created = await client.post(
        "/api/contacts",
        json={"channel": "email", "case_type": "family", "subject": "Opholdstilladelse"},
        headers=front,
    )
    reference = (await created.json())["reference"]
    offer = page.locator(f'.contact[data-reference="{reference}"]')
    await expect(offer).to_have_attribute("data-state", "offered", timeout=10_000)
    await expect(offer.locator(".caseType")).to_have_text("Familiesammenføring")
    await expect(offer.get_by_role("button", name="Tag imod")).to_be_focused()
    # An e-mail offer stands 120 s, counted by the daemon's clock (the browser's is 2 days on).
    await expect(offer.locator(".expires")).to_have_text(re.compile(r"^ · udløber om 1[01]\d s$"))

    await page.keyboard.press("Enter")  # accept the focused offer
    await expect(offer).to_have_attribute("data-state", "active")
    await offer.get_by_label("Resultat").fill("besvaret")
    await page.keyboard.press("Enter")  # submits the finish form
    await expect(page.locator(".contact")).to_have_count(0)
    await expect(page.locator("#state")).to_have_text("Efterbehandling")

    done = await (await client.get(f"/api/contacts/{reference}", headers=front)).json()
    assert (done["state"], done["outcome"]) == ("done", "besvaret")

    await page.locator("#lang").select_option("en")
    await expect(page.locator("#state")).to_have_text("Wrap-up")
    await expect(page.get_by_role("button", name="Available")).to_be_visible()
    await page.close()


async def test_a_wrong_token_is_told_on_the_page(
    client: TestClient[web.Request, web.Application], browser: Browser, clock: Clock
) -> None:
    page = await browser.new_page(locale="da-DK")
    await off_clock(page, clock)
    await _sign_in(page, str(client.make_url("/desk")), "cdt_not-a-real-token")
    await expect(page.get_by_role("alert").first).to_have_text(
        "Brugernavn eller adgangsnøgle passer ikke."
    )
    await page.close()


@pytest.mark.timeout(90)
async def test_the_session_outlives_a_reload_and_ends_on_sign_out(
    client: TestClient[web.Request, web.Application],
    app_pool: asyncpg.Pool,
    browser: Browser,
    clock: Clock,
) -> None:
    supervisor = await token_for(app_pool, "sofie", Role.SUPERVISOR)
    karin = await token_for(app_pool, "karin", Role.AGENT)
    profile = {"skills": {"family": 4}, "languages": ["da"]}
    assert (await client.put("/api/agents/karin", json=profile, headers=supervisor)).status == 200
    context = await browser.new_context(locale="da-DK")
    page = await context.new_page()
    await off_clock(page, clock)
    await _sign_in(page, str(client.make_url("/desk")), karin["Authorization"].split()[1])
    await expect(page.get_by_role("button", name="Klar")).to_be_visible()
    # The page keeps no token: only an HttpOnly cookie, which no script can read.
    stored = await page.evaluate("JSON.stringify([{...sessionStorage}, {...localStorage}])")
    assert "cdt_" not in stored
    assert await page.evaluate("document.cookie") == ""
    [cookie] = await context.cookies()
    assert (cookie["name"], cookie["httpOnly"], cookie["sameSite"]) == (
        "contactd_session",
        True,
        "Lax",
    )

    await page.reload()  # signed in still: the cookie, not the tab, holds the session
    await expect(page.get_by_role("button", name="Klar")).to_be_visible()
    await page.get_by_role("button", name="Klar").click()  # a change: the CSRF token goes along
    await expect(page.locator("#state")).to_have_text("Klar")

    await page.get_by_role("button", name="Log ud", exact=True).click()
    await expect(page.get_by_label("Brugernavn")).to_be_visible()
    await page.reload()
    await expect(page.get_by_label("Brugernavn")).to_be_visible()
    assert (
        await client.get("/api/session", cookies={cookie["name"]: cookie["value"]})
    ).status == 401
    await context.close()


@pytest.fixture
async def classifying(
    classifier_config: Settings, clock: Clock
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    async with TestClient(TestServer(create_app(classifier_config, clock=clock))) as c:
        yield c


@pytest.mark.timeout(90)
async def test_triage_picks_one_of_the_models_guesses_and_sends_the_contact_on(
    classifying: TestClient[web.Request, web.Application], browser: Browser, clock: Clock
) -> None:
    pool: asyncpg.Pool = classifying.app[POOL]
    supervisor = await token_for(pool, "sofie", Role.SUPERVISOR)
    karin = await token_for(pool, "karin", Role.AGENT)
    profile = {"skills": {"general": 3}, "languages": ["da"]}
    assert (await classifying.put("/api/agents/karin", json=profile, headers=supervisor)).ok
    unsure = (
        "Jeg har permanent ophold men har været ude af landet i et år. "
        "Bortfalder det? Og kan jeg klage?"
    )
    created = await classifying.post(
        "/api/contacts", json={"channel": "email", "text": unsure}, headers=supervisor
    )
    reference = (await created.json())["reference"]

    page = await browser.new_page(locale="da-DK")
    await off_clock(page, clock)
    await _sign_in(page, str(classifying.make_url("/desk")), karin["Authorization"].split()[1])
    await page.get_by_role("button", name="Klar").click()
    item = page.locator(f'.contact[data-reference="{reference}"]')
    await item.get_by_role("button", name="Tag imod").click()
    await expect(item).to_have_attribute("data-state", "active")
    await expect(item.locator(".caseType")).to_have_text("Generelt")
    await expect(item.locator(".sortedBy")).to_contain_text("sorteret af modellen")
    guesses = item.locator(".guess")
    await expect(guesses).to_have_count(3)
    await expect(guesses.first).to_contain_text("Bortfald og generindrejse")
    await guesses.first.click()
    await expect(item.get_by_label("Rigtig sagstype")).to_have_value("lapse")
    await item.get_by_role("button", name="Overfør").click()
    await expect(page.locator(".contact")).to_have_count(0)

    moved = await (await classifying.get(f"/api/contacts/{reference}", headers=supervisor)).json()
    assert (moved["case_type"], moved["case_type_source"], moved["queue"]) == (
        "lapse",
        "staff",
        "residence",
    )
    corrected = await pool.fetchrow("SELECT from_type, to_type FROM case_type_corrections")
    assert corrected is not None
    assert tuple(corrected) == ("general", "lapse")
    await page.close()
