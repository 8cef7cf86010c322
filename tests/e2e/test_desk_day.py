"""A caseworker's day on the desk in a real browser (Debian's chromium, playwright): a new offer
changes the title, sounds and is announced; the client's history and notes show on the offer;
a note is added; a wrap-up code is required where the queue requires one; a supervisor finds the
client in the console by the number written as "20 12 34 56" and as "+4520123456"."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import Browser, Page, expect

from contactd import settings
from contactd.app import create_app
from contactd.clock import Clock
from contactd.http.appkeys import POOL
from contactd.store.staff import Role
from tests.conftest import ROOT, WORKDAY, token_for
from tests.e2e.conftest import NewPage, watched_pages
from tests.integration.test_desk import PROFILE

Client = TestClient[web.Request, web.Application]
ANNA = "+4520123456"
MAIL = "anna@example.dk"
# Every tone the page plays, counted (the page's sound, without a speaker).
COUNT_TONES = """
window.tones = 0;
const start = OscillatorNode.prototype.start;
OscillatorNode.prototype.start = function (...args) {
  window.tones += 1;
  return start.apply(this, args);
};
"""


@pytest.fixture
async def desk(db_url: str, clock: Clock) -> AsyncIterator[Client]:
    """The daemon, the family queue requiring a wrap-up code."""
    config = settings.load(
        ROOT / "config" / "contactd.toml",
        environ={
            "CONTACTD_DATABASE_URL": db_url,
            "CONTACTD_CLASSIFIER__ENABLED": "false",
            "CONTACTD_QUEUES__FAMILY__WRAP_UP_REQUIRED": "true",
        },
    )
    async with TestClient(TestServer(create_app(config, clock=clock))) as client:
        yield client


@pytest.fixture
async def new_page(browser: Browser, clock: Clock) -> AsyncIterator[NewPage]:
    async with watched_pages(browser, locale="da-DK", clock=clock) as new:
        yield new


async def _signed_in(new_page: NewPage, client: Client, path: str, login: str, token: str) -> Page:
    page = await new_page()
    await page.add_init_script(COUNT_TONES)
    await page.goto(str(client.make_url(path)))
    await page.locator("#login").fill(login)
    await page.locator("#token").fill(token)
    await page.keyboard.press("Enter")
    return page


async def _earlier(pool: asyncpg.Pool, reference: str, days_ago: int, address: str = ANNA) -> int:
    at = WORKDAY - timedelta(days=days_ago)
    contact_id: int = await pool.fetchval(
        """INSERT INTO contacts (reference, channel, case_type, case_type_source, language, queue,
               due_at, state, outcome, wrap_up, created_at, state_changed_at, queued_at,
               closed_at, client_address)
           VALUES ($1, 'call', 'family', 'ivr', 'da', 'family', $2, 'done', 'answered',
                   'documents', $2, $2, $2, $2, $3) RETURNING id""",
        reference, at, address,
    )  # fmt: skip
    return contact_id


@pytest.mark.timeout(120)
async def test_an_offer_alerts_shows_the_client_and_needs_a_wrap_up(
    desk: Client, new_page: NewPage
) -> None:
    pool: asyncpg.Pool = desk.app[POOL]
    supervisor = await token_for(pool, "sofie", Role.SUPERVISOR)
    karin = await token_for(pool, "karin", Role.AGENT)
    front = await token_for(pool, "frida", Role.FRONTDESK)
    assert (await desk.put("/api/agents/karin", json=PROFILE, headers=supervisor)).ok
    earlier = await _earlier(pool, "AAAA-AAA3", 20, address=MAIL)
    await pool.execute(
        "INSERT INTO contact_notes (contact_id, author, at, text) VALUES ($1, 'jens', $2,"
        " 'Sender pas i næste uge')",
        earlier,
        WORKDAY - timedelta(days=20),
    )
    page = await _signed_in(new_page, desk, "/desk", "karin", karin["Authorization"].split()[1])
    await page.get_by_role("button", name="Klar").click()
    await expect(page).to_have_title("contactd – Skrivebord")

    new = {"channel": "email", "case_type": "family", "client_address": MAIL, "subject": "Pas"}
    assert (await desk.post("/api/contacts", json=new, headers=front)).status == 201
    await expect(page).to_have_title("(1) Nyt tilbud – Skrivebord")
    await expect(page.locator("#offerAnnounce")).to_contain_text("Nyt tilbud")
    assert await page.evaluate("window.tones") == 1
    item = page.locator(".contact").first
    history = item.locator(".history")
    await expect(history).to_contain_text("AAAA-AAA3")
    await expect(history).to_contain_text("Dokumenter mangler eller er sendt")
    await expect(history).to_contain_text("jens: Sender pas i næste uge")

    await item.get_by_role("button", name="Tag imod").click()
    await expect(item.locator(".noteForm")).to_be_visible()
    await item.locator(".noteText").fill("Ønsker svar på mail")
    await item.get_by_role("button", name="Gem note").click()
    await expect(item.locator(".notes")).to_contain_text("karin: Ønsker svar på mail")

    await item.locator(".outcome").fill("answered")
    await item.get_by_role("button", name="Afslut").click()
    # The queue requires a wrap-up code: the browser asks for it before anything is sent.
    wrap_up = item.locator(".wrapUp")
    assert await wrap_up.evaluate("(select) => !select.checkValidity()")
    await wrap_up.select_option("case_status")
    await item.get_by_role("button", name="Afslut").click()
    await expect(page.locator(".contact")).to_have_count(0)
    row = await pool.fetchrow(
        "SELECT state, wrap_up FROM contacts WHERE client_address = $1 ORDER BY id DESC", MAIL
    )
    assert row is not None
    assert (row["state"], row["wrap_up"]) == ("done", "case_status")
    await expect(page).to_have_title("contactd – Skrivebord")


@pytest.mark.timeout(90)
async def test_a_supervisor_finds_the_client_however_the_number_is_written(
    desk: Client, new_page: NewPage
) -> None:
    pool: asyncpg.Pool = desk.app[POOL]
    sofie = await token_for(pool, "sofie", Role.SUPERVISOR)
    await _earlier(pool, "AAAA-AAA3", 20)
    await _earlier(pool, "AAAA-AAA4", 2)
    page = await _signed_in(new_page, desk, "/console", "sofie", sofie["Authorization"].split()[1])
    for written in ("20 12 34 56", "+4520123456"):
        await page.locator("#searchText").fill(written)
        await page.get_by_role("button", name="Søg", exact=True).click()
        result = page.locator("#searchResult")
        await expect(result).to_contain_text("2 henvendelser")
        await expect(result.locator("tbody tr").first).to_contain_text("AAAA-AAA4")
        await page.locator("#searchResult").evaluate("(box) => box.replaceChildren()")
