"""The console in a real browser (Debian's chromium, driven by playwright): an administrator
signs in, adds a caseworker and gives them skills without a curl command; a supervisor sees
the agent grid change within a second of an agent's change, sets an agent away, takes back a
contact and reads the day's satisfaction comments."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser, Page, expect

from contactd.clock import Clock
from contactd.store.staff import Role
from tests.conftest import token_for
from tests.e2e.conftest import NewPage, watched_pages
from tests.integration.test_desk import _accepted_family_email, _team

Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def new_page(browser: Browser, clock: Clock) -> AsyncIterator[NewPage]:
    async with watched_pages(browser, locale="da-DK", clock=clock) as new:
        yield new


async def _console(new_page: NewPage, client: Client, login: str, token: str) -> Page:
    page = await new_page()
    await page.goto(str(client.make_url("/console")))
    await page.get_by_label("Brugernavn").first.fill(login)
    await page.get_by_label("Din adgangsnøgle").fill(token)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Køer")).to_be_visible()
    return page


@pytest.mark.timeout(90)
async def test_an_admin_adds_a_caseworker_and_gives_them_skills_in_the_console(
    client: Client, app_pool: asyncpg.Pool, new_page: NewPage
) -> None:
    admin = await token_for(app_pool, "ada", Role.ADMIN)
    page = await _console(new_page, client, "ada", admin["Authorization"].split()[1])

    await page.locator("#newLogin").fill("karin")
    await page.locator("#newName").fill("Karin Holm")
    await page.locator("#newRole").select_option("agent")
    await page.get_by_role("button", name="Tilføj").click()
    issued = page.locator("#issued")
    await expect(issued).to_contain_text("Ny adgangsnøgle til karin (vises kun nu): cdt_")
    token = re.search(r"cdt_\S+", await issued.inner_text())
    assert token is not None

    await page.locator("#profileLogin").fill("karin")
    await page.get_by_role("button", name="Hent").click()
    await expect(page.locator("#profileSaved")).to_contain_text("Ingen medarbejderprofil")
    await page.get_by_label("Familiesammenføring").fill("4")
    await page.get_by_role("checkbox", name="English").check()
    await page.get_by_role("button", name="Gem").click()
    await expect(page.locator("#profileSaved")).to_have_text("Gemt.")
    supervisor = await token_for(app_pool, "sofie", Role.SUPERVISOR)
    agents = await (await client.get("/api/agents", headers=supervisor)).json()
    [karin] = agents["agents"]
    assert (karin["skills"], karin["languages"]) == ({"family": 4}, ["da", "en"])
    # The new caseworker signs in with the token the console showed once.
    signed_in = await client.post("/api/session", json={"login": "karin", "token": token.group()})
    assert signed_in.status == 201
    audit = await (await client.get("/api/audit?actor=ada", headers=admin)).json()
    done = [(e["action"], e["target"]) for e in audit["entries"]]
    assert done[:2] == [("agent.profile_changed", "karin"), ("staff.added", "karin")]


@pytest.mark.timeout(90)
async def test_a_supervisor_watches_the_grid_sets_an_agent_away_and_takes_back_a_contact(
    client: Client, app_pool: asyncpg.Pool, new_page: NewPage
) -> None:
    _, karin, _, front = await _team(client, app_pool)  # the team's supervisor sets profiles
    sofie = await token_for(app_pool, "sofie2", Role.SUPERVISOR)
    page = await _console(new_page, client, "sofie2", sofie["Authorization"].split()[1])
    row = page.locator('#agents tr[data-login="karin"]')
    await expect(row.locator(".state")).to_have_text("Offline")

    reference = await _accepted_family_email(client, karin, front)
    await expect(row.locator(".state")).to_have_text("Optaget", timeout=1000)
    await expect(row).to_contain_text(reference, timeout=1000)

    await row.get_by_role("button", name="Væk: Karin").click()
    await expect(row.locator(".state")).to_have_text("Væk", timeout=1000)
    await row.get_by_role("button", name=f"Tag tilbage {reference}").click()
    await expect(row).not_to_contain_text(reference, timeout=1000)
    state = await app_pool.fetchval("SELECT state FROM contacts WHERE reference = $1", reference)
    assert state == "queued"

    # A staff meeting: the service centre closes 10:00-12:00 today, without a restart.
    await page.locator("#closureCalendar").select_option("service_centre")
    await page.locator("#closureFrom").fill("2026-12-01T10:00")
    await page.locator("#closureTo").fill("2026-12-01T12:00")
    await page.locator("#closureReason").fill("Personalemøde")
    await page.get_by_role("button", name="Luk", exact=True).click()
    await expect(page.locator("#closures")).to_contain_text("Personalemøde")
    ticket = await client.post("/api/tickets", json={"case_type": "family"}, headers=front)
    assert (ticket.status, (await ticket.json())["error"]["code"]) == (409, "kiosk_closed")
    await page.get_by_role("button", name=re.compile(r"^Åbn igen service_centre")).click()
    await expect(page.locator("#closures")).not_to_contain_text("Personalemøde")
    ticket = await client.post("/api/tickets", json={"case_type": "family"}, headers=front)
    assert ticket.status == 201
