"""The public satisfaction page in a real browser (Debian's chromium via playwright): the
link from the SMS opens the question in the contact's language, the answer is given with
the keyboard and stored, and the page keeps to its Content Security Policy."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import Browser, expect

from contactd import settings
from contactd.app import create_app
from contactd.clock import Clock
from contactd.http import surveys as api_csat
from contactd.http.appkeys import POOL
from contactd.services import surveys as csat
from tests.conftest import ROOT
from tests.e2e.conftest import NewPage, watched_pages

Client = TestClient[web.Request, web.Application]
PUBLIC = "https://kontakt.example.dk"


@pytest.fixture
async def site(db_url: str, clock: Clock) -> AsyncIterator[Client]:
    loaded = settings.load(
        ROOT / "config" / "contactd.toml",
        environ={
            "CONTACTD_DATABASE_URL": db_url,
            "CONTACTD_CLASSIFIER__ENABLED": "false",
            "CONTACTD_PUBLIC_URL": PUBLIC,
            "CONTACTD_TWILIO_AUTH_TOKEN": "test-token",
            "CONTACTD_PHONE__ACCOUNT_SID": "AC" + "0123456789abcdef" * 2,
            "CONTACTD_PHONE__NUMBER": "+4570201010",
            "CONTACTD_PHONE__API_URL": "http://127.0.0.1:9",  # no Twilio: the SMS waits
        },
    )
    queues = tuple(dataclasses.replace(q, csat_share=1.0) for q in loaded.queues)
    config = dataclasses.replace(loaded, queues=queues)
    async with TestClient(TestServer(create_app(config, clock=clock))) as client:
        yield client


@pytest.fixture
async def new_page(browser: Browser, clock: Clock) -> AsyncIterator[NewPage]:
    async with watched_pages(browser, locale="en-GB", clock=clock) as new:
        yield new


def _pool(client: Client) -> asyncpg.Pool:
    return client.app[POOL]


async def _link(client: Client, clock: Clock, language: str) -> tuple[int, str]:
    """A call that came in twenty minutes ago and finished ten minutes ago (by the daemon's
    clock), asked by SMS: its id and the link's path."""
    pool = _pool(client)
    now = clock()
    contact_id: int = await pool.fetchval(
        """INSERT INTO contacts (reference, channel, case_type, case_type_source, language,
                                 queue, due_at, client_address, state, closed_at, outcome,
                                 created_at, queued_at, state_changed_at)
           VALUES ('TEST-0001', 'call', 'family', 'ivr', $1, 'family', $2, '+4520123456',
                   'done', $3, 'answered', $2, $2, $3)
           RETURNING id""",
        language,
        now - timedelta(minutes=20),
        now - timedelta(minutes=10),
    )
    surveys: csat.Surveys = client.app[api_csat.SURVEYS].surveys
    await surveys.ask_due()
    sms = await pool.fetchval(
        "SELECT payload ->> 'body' FROM outbox WHERE contact_id = $1", contact_id
    )
    found = re.search(re.escape(PUBLIC) + r"(/s/[A-Za-z0-9_-]{28})$", sms)
    assert found, sms
    return contact_id, found.group(1)


@pytest.mark.timeout(90)
async def test_a_danish_client_answers_4_with_a_comment_using_the_keyboard(
    site: Client, new_page: NewPage, clock: Clock
) -> None:
    contact_id, path = await _link(site, clock, "da")
    page = await new_page()  # an English browser: the contact's language wins
    response = await page.goto(str(site.make_url(path)))
    assert response is not None
    assert response.status == 200
    assert response.headers["content-security-policy"] == (
        "default-src 'self'; frame-ancestors 'none'"
    )
    await expect(page.get_by_role("heading", name="Hvor tilfreds var du?")).to_be_visible()
    question = page.get_by_role("group", name="Hvor tilfreds er du alt i alt med den service")
    await expect(question).to_be_visible()
    await expect(page.locator("html")).to_have_attribute("lang", "da")

    await page.get_by_role("button", name="Send svar").click()  # no score chosen yet
    await expect(page.get_by_role("alert")).to_have_text("Vælg et svar fra 1 til 5.")
    await expect(page.get_by_role("radio", name="1 – Meget utilfreds")).to_be_focused()
    for _ in range(3):  # arrows move through the scale, as in any radio group
        await page.keyboard.press("ArrowDown")
    await expect(page.get_by_role("radio", name="4 – Tilfreds")).to_be_checked()
    comment = page.get_by_label("Vil du fortælle os mere? (frivilligt)")
    await comment.focus()
    await page.keyboard.type("Sagsbehandleren var venlig og forklarede det hele.")
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("button", name="Send svar")).to_be_focused()
    await page.keyboard.press("Enter")

    thanks = page.get_by_role("heading", name="Tak for dit svar")
    await expect(thanks).to_be_visible()
    await expect(page.locator("#result")).to_be_focused()
    row = await _pool(site).fetchrow("SELECT * FROM csat WHERE contact_id = $1", contact_id)
    assert row is not None
    assert (row["score"], row["comment"]) == (
        4,
        "Sagsbehandleren var venlig og forklarede det hele.",
    )
    assert row["answered_at"] is not None

    # The link again: answered already; the switch shows it in English.
    again = await page.goto(str(site.make_url(path)))
    assert again is not None
    assert again.status == 409
    await expect(page.get_by_role("heading", name="Tak, du har allerede svaret")).to_be_visible()
    await expect(page.get_by_role("radio")).to_have_count(0)
    await page.get_by_label("Sprog").select_option("en")
    await expect(
        page.get_by_role("heading", name="Thank you, you have already answered")
    ).to_be_visible()


@pytest.mark.timeout(90)
async def test_an_english_client_sees_english_and_a_broken_link_is_explained(
    site: Client, new_page: NewPage, clock: Clock
) -> None:
    _, path = await _link(site, clock, "en")
    page = await new_page()
    await page.goto(str(site.make_url(path)))
    await expect(
        page.get_by_role("group", name="How satisfied are you, in general, with the service?")
    ).to_be_visible()
    await expect(page.get_by_role("radio", name="5 – Very satisfied")).to_be_visible()

    broken = await page.goto(str(site.make_url(path[:-1] + ("A" if path[-1] != "A" else "B"))))
    assert broken is not None
    assert broken.status == 404
    await expect(
        page.get_by_role("heading", name="Vi kan ikke finde undersøgelsen")
    ).to_be_visible()
    assert (
        await _pool(site).fetchval("SELECT count(*) FROM csat WHERE answered_at IS NOT NULL") == 0
    )
