"""Callbacks booked on the web: windows inside the opening hours, the reference in an SMS
written with the booking, one booking per form and per waiting number, the case type's
promise in the page's language, bad input refused with nothing stored, and floods limited.
(Abuse: test_booking_abuse.py.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from contactd import settings
from contactd.app import create_app
from contactd.clock import FixedClock
from contactd.http.appkeys import POOL
from contactd.store import queries
from tests.conftest import CPH, ROOT, WORKDAY

Client = TestClient[web.Request, web.Application]
# Windows never on offer on the daemon's day (WORKDAY): before the line opens, and in the past.
BEFORE_OPENING = WORKDAY.replace(hour=7).isoformat(timespec="minutes")
YESTERDAY = (WORKDAY - timedelta(days=1)).replace(hour=9).isoformat(timespec="minutes")


@pytest.fixture
async def web_client(db_url: str) -> AsyncIterator[Client]:
    config = settings.load(
        ROOT / "config" / "contactd.toml",
        environ={
            "CONTACTD_DATABASE_URL": db_url,
            "CONTACTD_CLASSIFIER__ENABLED": "false",
            "CONTACTD_PHONE__BOOKINGS_PER_ADDRESS_PER_HOUR": "8",
        },
    )
    async with TestClient(TestServer(create_app(config, clock=FixedClock(WORKDAY)))) as c:
        yield c


def _pool(client: Client) -> asyncpg.Pool:
    return client.app[POOL]


async def _windows(client: Client) -> list[dict[str, str]]:
    body = await (await client.get("/api/callbacks")).json()
    return body["windows"]  # type: ignore[no-any-return]


def _booking(window_id: str, **changes: str) -> dict[str, str]:
    return {
        "number": "20 12 34 56",
        "language": "da",
        "case_type": "family",
        "window": window_id,
        "key": "form-0001-abcd",
        **changes,
    }


async def test_windows_are_inside_the_opening_hours_of_the_next_working_days(
    web_client: Client,
) -> None:
    windows = await _windows(web_client)
    starts = [datetime.fromisoformat(w["start"]).astimezone(CPH) for w in windows]
    # Tuesday from 09:00 (it ends after 10:30), Wednesday and Thursday: 09-11, 11-13, 13-15.
    assert [(s.day, s.hour) for s in starts] == [
        (1, 9), (1, 11), (1, 13), (2, 9), (2, 11), (2, 13), (3, 9), (3, 11), (3, 13),
    ]  # fmt: skip
    options = await (await web_client.get("/api/callbacks")).json()
    # Named in every language the booking page is offered in.
    assert {
        "code": "family",
        "da": "Familiesammenføring",
        "en": "Family reunification",
        "ar": "لمّ شمل الأسرة",
        "uk": "Возз’єднання сім’ї",
        "tr": "Aile birleşimi",
    } in options["case_types"]


async def test_a_booking_gets_its_window_and_an_sms_with_the_reference_once(
    web_client: Client,
) -> None:
    window = (await _windows(web_client))[3]  # Wednesday 09:00-11:00
    first = await web_client.post("/api/callbacks", json=_booking(window["id"]))
    assert first.status == 202, await first.text()
    booked = await first.json()
    assert booked == {
        "window_start": window["start"],
        "window_end": window["end"],
        "promise": {
            "name": "Familiesammenføring",
            "goal": "10 måneder",
            "url": "https://www.nyidanmark.dk/da/Du-vil-ansoege/Familie",
        },
    }
    again = await web_client.post("/api/callbacks", json=_booking(window["id"]))
    assert (again.status, await again.json()) == (202, booked)
    other_form = await web_client.post(
        "/api/callbacks", json=_booking(window["id"], key="form-0002-abcd", number="+4520123456")
    )
    assert (other_form.status, await other_form.json()) == (202, booked)

    pool = _pool(web_client)
    [contact] = await pool.fetch("SELECT * FROM contacts")
    assert (
        contact["channel"],
        contact["case_type"],
        contact["case_type_source"],
        contact["client_address"],
        contact["not_before"],
        contact["due_at"],
    ) == (
        "callback",
        "family",
        "form",
        "+4520123456",
        datetime.fromisoformat(window["start"]),
        datetime.fromisoformat(window["end"]),
    )
    [sms] = await pool.fetch("SELECT kind, payload FROM outbox")
    assert sms["kind"] == "sms"
    assert sms["payload"]["to"] == "+4520123456"
    assert sms["payload"]["body"] == (
        "Udlændingestyrelsen ringer dig op 02.12.2026 mellem kl. 09:00 og 11:00. "
        f"Reference: {contact['reference']}. Sagsbehandlingstid for Familiesammenføring: "
        "10 måneder. Tjekliste: https://www.nyidanmark.dk/da/Du-vil-ansoege/Familie"
    )
    # Not offered before its window opens (the router's query, given the contact's queue with
    # its priority, which is the queue's).
    queues = {contact["queue"]: contact["priority"]}
    waiting = await pool.fetch(queries.get("waiting_contacts"), 100, WORKDAY, queues, WORKDAY)
    assert waiting == []


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"number": "+4590123456"}, 422, "bad_number"),  # premium rate
        ({"number": "12345678"}, 422, "bad_number"),  # not a Danish number
        ({"number": "anonymous"}, 422, "bad_number"),
        ({"case_type": "pets"}, 422, "unknown_case_type"),
        ({"window": BEFORE_OPENING}, 422, "window_not_offered"),
        ({"window": YESTERDAY}, 422, "window_not_offered"),
        ({"key": "x"}, 422, "invalid_body"),
    ],
)
async def test_bad_bookings_are_refused_and_nothing_is_stored(
    web_client: Client, changes: dict[str, str], status: int, code: str
) -> None:
    window = (await _windows(web_client))[0]["id"]
    response = await web_client.post("/api/callbacks", json=_booking(window, **changes))
    assert response.status == status
    assert (await response.json())["error"]["code"] == code
    broken = await web_client.post(
        "/api/callbacks", data=b'{"number": ', headers={"Content-Type": "application/json"}
    )
    assert (broken.status, (await broken.json())["error"]["code"]) == (400, "invalid_json")
    assert await _pool(web_client).fetchval("SELECT count(*) FROM contacts") == 0


async def test_floods_of_bookings_are_limited(web_client: Client) -> None:
    window = (await _windows(web_client))[4]["id"]
    pool = _pool(web_client)
    statuses = []
    for n in range(5):
        response = await web_client.post(
            "/api/callbacks", json=_booking(window, key=f"form-flood-{n:04d}")
        )
        statuses.append(response.status)
        # Served meanwhile, so the next booking is not merged into this one.
        await pool.execute("UPDATE contacts SET state = 'done', closed_at = $1", WORKDAY)
    assert statuses == [202, 202, 202, 429, 429]  # three a day per number
    for n in range(5):  # then the address: 8 an hour (set in the fixture), all told
        response = await web_client.post(
            "/api/callbacks",
            json=_booking(window, key=f"form-addr-{n:04d}", number=f"+45201234{60 + n}"),
        )
        statuses.append(response.status)
        await pool.execute("UPDATE contacts SET state = 'done', closed_at = $1", WORKDAY)
    assert statuses[5:] == [202, 202, 202, 429, 429]
    assert await pool.fetchval("SELECT count(*) FROM contacts") == 6


@pytest.mark.parametrize(
    ("page", "opening"),
    [
        ("ar", "ستتصل بك دائرة الهجرة الدنماركية"),
        ("uk", "Udlændingestyrelsen зателефонує вам"),
        ("tr", "Udlændingestyrelsen sizi"),
    ],
)
async def test_a_booking_made_in_another_language_is_confirmed_in_it(
    web_client: Client, page: str, opening: str
) -> None:
    """The page read in Arabic, Ukrainian or Turkish: the call is in Danish (the language
    chosen for it), the SMS the client reads in the page's language (issue 20)."""
    window = (await _windows(web_client))[3]
    booked = await web_client.post(
        "/api/callbacks", json=_booking(window["id"], client_language=page)
    )
    assert booked.status == 202, await booked.text()
    pool = _pool(web_client)
    contact = await pool.fetchrow("SELECT language, client_language, reference FROM contacts")
    body = await pool.fetchval("SELECT payload ->> 'body' FROM outbox")
    assert contact is not None
    assert (contact["language"], contact["client_language"]) == ("da", page)
    assert body.startswith(opening), body
    assert contact["reference"] in body


async def test_a_booking_in_a_language_the_agency_does_not_serve_is_confirmed_in_its_own(
    web_client: Client,
) -> None:
    window = (await _windows(web_client))[3]
    booked = await web_client.post(
        "/api/callbacks", json=_booking(window["id"], client_language="sv", language="en")
    )
    assert booked.status == 202, await booked.text()
    body = await _pool(web_client).fetchval("SELECT payload ->> 'body' FROM outbox")
    assert body.startswith("The Danish Immigration Service will call you on 02.12.2026"), body


async def test_the_booking_answers_the_promise_of_the_case_type_in_the_pages_language(
    web_client: Client,
) -> None:
    """The page read in Ukrainian: the case type's name and processing goal in Ukrainian, and
    the checklist (the English page: there is no Ukrainian one)."""
    window = (await _windows(web_client))[3]
    booked = await web_client.post(
        "/api/callbacks", json=_booking(window["id"], client_language="uk")
    )
    assert booked.status == 202, await booked.text()
    assert (await booked.json())["promise"] == {
        "name": "Возз’єднання сім’ї",
        "goal": "10 місяців",
        "url": "https://www.nyidanmark.dk/en-GB/You-want-to-apply/Family",
    }


async def test_a_number_that_waits_is_told_only_of_the_case_type_it_asked_about(
    web_client: Client,
) -> None:
    """The callback that waits stands, and the answer tells nothing of it: the promise is
    that of the case type the form sent, in the form's language."""
    window = (await _windows(web_client))[3]
    first = await web_client.post("/api/callbacks", json=_booking(window["id"]))
    assert first.status == 202, await first.text()
    other = _booking(window["id"], key="form-0002-abcd", case_type="visa", language="en")
    again = await web_client.post("/api/callbacks", json=other)
    assert again.status == 202, await again.text()
    assert (await again.json())["promise"] == {
        "name": "Visa",
        "goal": "15 days",
        "url": "https://www.nyidanmark.dk/en-GB/You-want-to-apply/Visa",
    }
    assert await _pool(web_client).fetchval("SELECT case_type FROM contacts") == "family"
