"""The public callback booking page in a real browser (Debian's chromium via playwright)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import Browser, expect

from contactd import settings
from contactd.app import create_app
from contactd.clock import FixedClock
from contactd.http.appkeys import POOL
from tests.conftest import ROOT, WORKDAY
from tests.e2e.conftest import off_clock


@pytest.fixture
def clock() -> FixedClock:
    """Tuesday 10:00 (WORKDAY), standing still: the windows offered start at 11:00."""
    return FixedClock(WORKDAY)


@pytest.fixture
async def site(
    db_url: str, clock: FixedClock
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    config = settings.load(
        ROOT / "config" / "contactd.toml",
        environ={"CONTACTD_DATABASE_URL": db_url, "CONTACTD_CLASSIFIER__ENABLED": "false"},
    )
    async with TestClient(TestServer(create_app(config, clock=clock))) as c:
        yield c


@pytest.mark.timeout(90)
async def test_a_client_books_a_callback_with_the_keyboard_and_gets_the_reference_by_sms(
    site: TestClient[web.Request, web.Application], browser: Browser, clock: FixedClock
) -> None:
    page = await browser.new_page(locale="da-DK", timezone_id="Europe/Copenhagen")
    await off_clock(page, clock)
    await page.goto(str(site.make_url("/callback")))
    await expect(page.get_by_role("heading", name="Bestil et opkald")).to_be_visible()

    await page.get_by_label("Dit telefonnummer").fill("9012 3456")  # premium rate
    await page.get_by_label("Hvad drejer det sig om?").select_option(label="Visum")
    await page.get_by_role("button", name="Bestil opkald").click()
    await expect(page.get_by_role("alert")).to_have_text(
        "Det nummer kan vi ikke ringe til. Skriv et dansk nummer med 8 cifre, eller "
        "+landekode og nummer."
    )

    await page.get_by_label("Dit telefonnummer").fill("20 12 34 56")
    windows = page.get_by_label("Hvornår må vi ringe?")
    await expect(windows.locator("option")).to_have_count(9)
    await windows.select_option(index=1)  # Tuesday 11:00-13:00
    await page.get_by_label("Dit telefonnummer").press("Enter")  # submits the form
    await expect(page.get_by_role("heading", name="Tak, dit opkald er bestilt")).to_be_visible()
    # "Today" by the daemon's clock: the browser's own stands two days later (off_clock).
    done = "Vi ringer i dag mellem kl. 11.00 og 13.00."
    await expect(page.locator("#doneWindow")).to_have_text(done)
    # The reference goes by SMS only: the page must not tell who already waits for a call.
    await expect(page.get_by_text("Havde du allerede bestilt et opkald")).to_be_visible()

    pool: asyncpg.Pool = site.app[POOL]
    contact = await pool.fetchrow("SELECT * FROM contacts")
    assert contact is not None
    assert (contact["case_type"], contact["client_address"]) == ("visa", "+4520123456")
    [sms] = await pool.fetch("SELECT payload FROM outbox WHERE kind = 'sms'")
    assert f"Reference: {contact['reference']}." in sms["payload"]["body"]
    assert contact["reference"] not in await page.content()

    await page.locator("#lang").select_option("en")
    await expect(page.get_by_role("heading", name="Thank you, your call is booked")).to_be_visible()
    await page.close()
