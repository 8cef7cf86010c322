"""The public pages in a real browser (Debian's chromium via playwright), checked with axe-core
against WCAG 2.1 A and AA in each state a visitor meets them in, in every shipped client
language (Danish, English, Arabic written right to left, Ukrainian, Turkish): the callback
form, the satisfaction survey, the waiting-room board and the service centre's status. No rule
may be broken."""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import Browser, Page, expect

from contactd import settings
from contactd.app import create_app
from contactd.clock import FixedClock
from contactd.http import surveys as api_csat
from contactd.http.appkeys import POOL
from contactd.services import surveys as csat
from contactd.store.staff import Role
from tests.conftest import ROOT, WORKDAY, token_for
from tests.e2e import axe
from tests.e2e.conftest import NewPage, watched_pages
from tests.integration.history import insert_contacts

Client = TestClient[web.Request, web.Application]
PUBLIC = "https://kontakt.example.dk"
LANGUAGES = ["da", "en", "ar", "uk", "tr"]  # config/contactd.toml [agency] languages
# The languages a contact is served in (a survey asks in its contact's language).
SERVICE_LANGUAGES = ["da", "en"]
DIRECTION = {"ar": "rtl"}  # the others: left to right
# Tuesday 15:00: the service centre (open 08-14 on Tuesdays) has closed for the day.
AFTER_HOURS = WORKDAY.replace(hour=15)


@pytest.fixture
def clock() -> FixedClock:
    """Tuesday 10:00 (WORKDAY), standing still: the hotline and the service centre are open,
    callback windows are offered."""
    return FixedClock(WORKDAY)


@pytest.fixture
async def site(db_url: str, clock: FixedClock) -> AsyncIterator[Client]:
    """The daemon, every contact asked how satisfied the client was (by SMS, which waits:
    there is no Twilio)."""
    loaded = settings.load(
        ROOT / "config" / "contactd.toml",
        environ={
            "CONTACTD_DATABASE_URL": db_url,
            "CONTACTD_CLASSIFIER__ENABLED": "false",
            "CONTACTD_PUBLIC_URL": PUBLIC,
            "CONTACTD_TWILIO_AUTH_TOKEN": "test-token",
            "CONTACTD_PHONE__ACCOUNT_SID": "AC" + "0123456789abcdef" * 2,
            "CONTACTD_PHONE__NUMBER": "+4570201010",
            "CONTACTD_PHONE__API_URL": "http://127.0.0.1:9",
        },
    )
    queues = tuple(dataclasses.replace(q, csat_share=1.0) for q in loaded.queues)
    config = dataclasses.replace(loaded, queues=queues)
    async with TestClient(TestServer(create_app(config, clock=clock))) as client:
        yield client


@pytest.fixture
async def new_page(browser: Browser, clock: FixedClock) -> AsyncIterator[NewPage]:
    """Pages whose script errors and Content Security Policy refusals fail the test."""
    async with watched_pages(browser, locale="da-DK", clock=clock) as new:
        yield new


def _pool(client: Client) -> asyncpg.Pool:
    return client.app[POOL]


async def assert_accessible(page: Page, state: str) -> None:
    found = await axe.violations(page)
    assert not found, f"{page.url} ({state}): {axe.describe(found)}"


async def _survey_link(client: Client, clock: FixedClock, language: str) -> str:
    """A call finished ten minutes ago and asked by SMS: the path of the survey's link."""
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
    return found.group(1)


async def _issue(client: Client, headers: dict[str, str], case_type: str) -> str:
    """A ticket from the kiosk's API: its number."""
    body = {"case_type": case_type, "request_id": uuid.uuid4().hex}
    response = await client.post("/api/tickets", json=body, headers=headers)
    assert response.status == 201
    number: str = (await response.json())["number"]
    return number


async def _call(client: Client, clock: FixedClock, number: str, counter: str, after: int) -> None:
    """The ticket called to a counter `after` minutes ago, as the desk's call does
    (queries.sql ticket_called): the board is woken."""
    await _pool(client).execute(
        """UPDATE tickets SET calls = calls + 1, called_at = $2, counter = $3
           WHERE number = $1 AND day = $4""",
        number,
        clock() - timedelta(minutes=after),
        counter,
        clock().date(),
    )
    await _pool(client).execute("SELECT pg_notify('contactd_board', '')")


async def _service_centre_in_use(client: Client, clock: FixedClock) -> None:
    """Five tickets in two queues, the first of each called to a counter (A001 to 3, then
    E001 to 12)."""
    front = await token_for(_pool(client), "frida", Role.FRONTDESK)
    family = [await _issue(client, front, "family") for _ in range(3)]
    visa = [await _issue(client, front, "visa") for _ in range(2)]
    await _call(client, clock, family[0], "3", after=4)
    await _call(client, clock, visa[0], "12", after=1)


@pytest.mark.timeout(90)
@pytest.mark.parametrize("lang", LANGUAGES)
async def test_the_callback_form_breaks_no_rule_before_on_a_refusal_and_after_booking(
    site: Client, new_page: NewPage, lang: str
) -> None:
    page = await new_page()
    await page.goto(str(site.make_url(f"/callback?lang={lang}")))
    await expect(page.locator("html")).to_have_attribute("lang", lang)
    await expect(page.locator("html")).to_have_attribute("dir", DIRECTION.get(lang, "ltr"))
    number = page.locator("#number")
    windows = page.locator("#window")
    await expect(windows.locator("option")).to_have_count(9)
    await assert_accessible(page, "the form")

    await number.fill("9012 3456")  # premium rate: refused
    await page.locator("#submit").click()
    await expect(page.get_by_role("alert")).not_to_be_empty()
    await assert_accessible(page, "a refused number")

    await number.fill("20 12 34 56")
    await page.locator("#submit").click()
    await expect(page.locator("#done")).to_be_visible()
    await expect(page.locator("#doneWindow")).not_to_be_empty()
    await assert_accessible(page, "booked")


@pytest.mark.timeout(90)
@pytest.mark.parametrize("lang", SERVICE_LANGUAGES)
async def test_the_survey_breaks_no_rule_before_on_a_missing_answer_and_after_answering(
    site: Client, new_page: NewPage, clock: FixedClock, lang: str
) -> None:
    path = await _survey_link(site, clock, lang)
    page = await new_page()
    await page.goto(str(site.make_url(path)))
    await expect(page.locator("html")).to_have_attribute("lang", lang)
    await expect(page.get_by_role("radio")).to_have_count(5)
    await assert_accessible(page, "the question")

    await page.locator("#submit").click()  # no score chosen
    await expect(page.get_by_role("alert")).not_to_be_empty()
    await assert_accessible(page, "no answer chosen")

    await page.get_by_role("radio").nth(3).check()
    await page.locator("#comment").fill("Fint.")
    await page.locator("#submit").click()
    await expect(page.locator("#result")).to_be_focused()
    await assert_accessible(page, "answered")

    again = await page.goto(str(site.make_url(path)))
    assert again is not None
    assert again.status == 409
    await expect(page.locator("#resultTitle")).not_to_be_empty()
    await assert_accessible(page, "answered already")


@pytest.mark.timeout(90)
@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("link", ["expired", "unknown"])
async def test_a_survey_link_that_cannot_be_answered_breaks_no_rule(
    site: Client, new_page: NewPage, clock: FixedClock, lang: str, link: str
) -> None:
    path = await _survey_link(site, clock, "da")
    if link == "expired":
        await _pool(site).execute("UPDATE csat SET expires_at = $1", clock() - timedelta(minutes=1))
    else:
        path = path[:-1] + ("A" if path[-1] != "A" else "B")
    page = await new_page()
    response = await page.goto(str(site.make_url(f"{path}?lang={lang}")))
    assert response is not None
    assert response.status == (410 if link == "expired" else 404)
    await expect(page.locator("html")).to_have_attribute("lang", lang)
    await expect(page.locator("#resultTitle")).not_to_be_empty()
    await assert_accessible(page, f"link {link}")


@pytest.mark.timeout(90)
async def test_the_board_breaks_no_rule_reconnecting_empty_and_with_numbers_called(
    site: Client, new_page: NewPage, clock: FixedClock
) -> None:
    board = await new_page()
    await board.route("**/api/board/events", lambda route: route.abort())
    await board.goto(str(site.make_url("/board")))
    await expect(board.locator("#connection")).to_be_visible()
    await assert_accessible(board, "reconnecting")

    await board.unroute("**/api/board/events")
    await expect(board.locator("#connection")).to_be_hidden(timeout=15_000)
    await expect(board.locator("#empty")).to_be_visible()
    await assert_accessible(board, "no numbers called")

    await _service_centre_in_use(site, clock)
    await expect(board.locator(".call")).to_have_count(2, timeout=10_000)
    await expect(board.locator(".call.newest .number")).to_have_text("E001")
    await assert_accessible(board, "numbers called")

    await board.locator("#sound").click()
    await expect(board.locator("#sound")).to_have_attribute("aria-pressed", "true")
    await assert_accessible(board, "sound on")


@pytest.mark.timeout(90)
async def test_the_board_text_is_readable_on_a_phone(
    site: Client, new_page: NewPage, clock: FixedClock
) -> None:
    """The board's sizes follow the screen's width (a TV), never below 16 px: text sized by
    the width alone would be a few pixels high on a phone and would not grow when zoomed."""
    board = await new_page()
    await board.set_viewport_size({"width": 320, "height": 640})
    await _service_centre_in_use(site, clock)
    await board.goto(str(site.make_url("/board")))
    await expect(board.locator(".call")).to_have_count(2)
    texts = board.locator("h1, button, .call .number, .call .counterLabel")
    sizes = await texts.evaluate_all(
        "(all) => all.map((el) => [el.textContent.trim(),"
        " parseFloat(getComputedStyle(el).fontSize)])"
    )
    assert len(sizes) == 6
    assert [text for text, px in sizes if px < 16] == []


async def _hotline_and_inbox_in_use(client: Client, clock: FixedClock) -> None:
    """Two family calls waiting, and a family e-mail answered yesterday after half a working
    day: the status's phone line and e-mail have a wait and an answer time to show."""
    pool, now = _pool(client), clock()
    await insert_contacts(pool, created=now, due=now, state="queued", count=2)
    received = now - timedelta(days=1, hours=2)  # Monday 08:00
    answered = received + timedelta(hours=4)
    await insert_contacts(
        pool, channel="email", created=received, due=now, first_response=answered,
        closed=answered, outcome="answered",
    )  # fmt: skip
    await pool.execute("SELECT pg_notify('contactd_contacts', '')")


@pytest.mark.timeout(90)
@pytest.mark.parametrize("lang", LANGUAGES)
async def test_the_status_page_breaks_no_rule_with_queues_in_use_and_reconnecting(
    site: Client, new_page: NewPage, clock: FixedClock, lang: str
) -> None:
    await _service_centre_in_use(site, clock)
    await _hotline_and_inbox_in_use(site, clock)
    status = await new_page()
    await status.goto(str(site.make_url(f"/status?lang={lang}")))
    await expect(status.locator("html")).to_have_attribute("lang", lang)
    await expect(status.locator("html")).to_have_attribute("dir", DIRECTION.get(lang, "ltr"))
    family = status.locator('.queueCard[data-queue="family"]')
    await expect(family.locator(".serving")).to_have_text("A001")
    await expect(status.locator('#phone tr[data-queue="family"] .waiting')).to_have_text("2")
    # Monday 08:00 to 12:00: half of the office's day.
    recent = status.locator('#email tr[data-queue="family"] .recent')
    await expect(recent).to_contain_text(re.compile(r"0[.,]5"))
    await assert_accessible(status, "queues in use")

    await status.route("**/api/status/events", lambda route: route.abort())
    await status.reload()
    await expect(status.locator("#connection")).to_be_visible()
    await assert_accessible(status, "reconnecting")


@pytest.mark.timeout(90)
@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("clock", [FixedClock(AFTER_HOURS)], ids=["after_hours"])
async def test_the_status_page_breaks_no_rule_when_the_service_centre_is_closed(
    site: Client, new_page: NewPage, lang: str
) -> None:
    status = await new_page()
    await status.goto(str(site.make_url(f"/status?lang={lang}")))
    await expect(status.locator("html")).to_have_attribute("lang", lang)
    family = status.locator('.queueCard[data-queue="family"]')
    await expect(family).to_have_class("queueCard closed")
    await expect(family.locator(".openState")).not_to_be_empty()
    # The phone line closed at 15:00 too: it says when it opens, and shows no waits.
    await expect(status.locator("#phone")).to_have_class("reach closed")
    await expect(status.locator("#phone .openState")).not_to_be_empty()
    await expect(status.locator("#phone table")).to_be_hidden()
    await assert_accessible(status, "closed")
