"""The service centre's tickets through the daemon's API on a real PostgreSQL: numbering per
queue and day without gaps or repeats (also from two daemons at once), one ticket per press,
a closed kiosk, calling to a counter (the board and status follow), recall, no-show,
transfer keeping the place, the SMS when the turn is near and the closing rule; a visitor who
reads another language than the counter speaks gets the ticket's promise and the SMS in it."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from contactd.app import create_app
from contactd.clock import FixedClock
from contactd.http.appkeys import POOL, TICKETS
from contactd.settings import Settings
from contactd.store import contacts as store
from contactd.store.staff import Role
from tests.conftest import WORKDAY, token_for

Client = TestClient[web.Request, web.Application]
# WORKDAY is a Tuesday, 10:00: the service centre is open 08-14. The Sunday after it, closed.
SUNDAY = WORKDAY + timedelta(days=5)
MONDAY_8 = (WORKDAY + timedelta(days=6)).replace(hour=8)


@pytest.fixture
def clock() -> FixedClock:
    """The daemon's clock here stands still at WORKDAY; a test moves it."""
    return FixedClock(WORKDAY)


@pytest.fixture
async def daemon(config: Settings, clock: FixedClock) -> AsyncIterator[Client]:
    async with TestClient(TestServer(create_app(config, clock=clock))) as client:
        yield client


def _pool(client: Client) -> asyncpg.Pool:
    return client.app[POOL]


async def _issue(client: Client, auth: dict[str, str], **body: Any) -> tuple[int, Any]:
    response = await client.post("/api/tickets", json={"case_type": "family", **body}, headers=auth)
    return response.status, await response.json()


async def test_tickets_are_numbered_per_queue_and_a_second_press_gives_the_same_ticket(
    daemon: Client,
) -> None:
    front = await token_for(_pool(daemon), "frida", Role.FRONTDESK)
    assert (await _issue(daemon, front))[1]["number"] == "A001"
    status, second = await _issue(daemon, front, language="en", request_id="press-0002")
    assert (status, second["number"], second["language"]) == (201, "A002", "en")
    assert (second["position"], second["estimated_wait_minutes"]) == (2, 10)
    assert (await _issue(daemon, front, case_type="visa"))[1]["number"] == "E001"
    status, again = await _issue(daemon, front, language="en", request_id="press-0002")
    assert (status, again["number"], again["reference"]) == (200, "A002", second["reference"])
    assert await _pool(daemon).fetchval("SELECT count(*) FROM tickets") == 3


async def test_bad_input_is_refused_clearly_and_issues_nothing(
    daemon: Client, clock: FixedClock
) -> None:
    front = await token_for(_pool(daemon), "frida", Role.FRONTDESK)
    agent = await token_for(_pool(daemon), "karin", Role.AGENT)
    status, body = await _issue(daemon, front, case_type="holiday")
    assert (status, body["error"]["code"]) == (422, "not_accepted")
    status, body = await _issue(daemon, front, phone="12")
    assert (status, body["error"]["code"]) == (422, "bad_phone")
    assert (await _issue(daemon, agent))[0] == 403
    _, issued = await _issue(daemon, front, request_id="press-late")
    clock.at = SUNDAY
    status, body = await _issue(daemon, front)
    assert (status, body["error"]["code"]) == (409, "kiosk_closed")
    # The same press again after closing (its answer was lost): its ticket, not a refusal.
    status, again = await _issue(daemon, front, request_id="press-late")
    assert (status, again["number"]) == (200, issued["number"])
    assert body["error"]["details"] == [{"opens_at": MONDAY_8.isoformat(timespec="minutes")}]
    assert await _pool(daemon).fetchval("SELECT count(*) FROM contacts") == 1


async def test_two_daemons_issuing_at_once_number_without_gaps_or_repeats(
    config: Settings, clock: FixedClock
) -> None:
    async with (
        TestClient(TestServer(create_app(config, clock=clock))) as one,
        TestClient(TestServer(create_app(config, clock=clock))) as two,
    ):
        front = await token_for(_pool(one), "frida", Role.FRONTDESK)
        results = await asyncio.gather(
            *(
                _issue(client, front, case_type=case_type)
                for _ in range(40)
                for client in (one, two)
                for case_type in ("family", "visa")
            )
        )
    numbers = sorted(body["number"] for status, body in results if status == 201)
    assert len(numbers) == 160
    expected = sorted([f"A{n:03d}" for n in range(1, 81)] + [f"E{n:03d}" for n in range(1, 81)])
    assert numbers == expected


async def _counter_agent(daemon: Client, login: str, counter: str | None) -> dict[str, str]:
    pool = _pool(daemon)
    supervisor = await token_for(pool, f"sup-{login}", Role.SUPERVISOR)
    agent = await token_for(pool, login, Role.AGENT)
    profile = {"skills": {"family": 3}, "languages": ["da", "en"], "counter": counter}
    assert (
        await daemon.put(f"/api/agents/{login}", json=profile, headers=supervisor)
    ).status == 200
    await daemon.post("/api/desk/state", json={"state": "available"}, headers=agent)
    return agent


async def _offered(daemon: Client, agent: dict[str, str]) -> str:
    for _ in range(200):
        desk = await (await daemon.get("/api/desk", headers=agent)).json()
        if desk["contacts"]:
            return str(desk["contacts"][0]["reference"])
        await asyncio.sleep(0.05)
    raise AssertionError("no ticket was offered")


async def _eventually(read: Callable[[], Any], check: Callable[[Any], bool]) -> Any:
    for _ in range(200):
        value = await read()
        if check(value):
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"never: {value}")


async def test_a_counter_calls_a_ticket_and_the_board_and_status_show_it(daemon: Client) -> None:
    pool = _pool(daemon)
    front = await token_for(pool, "frida", Role.FRONTDESK)
    await _issue(daemon, front)
    await _issue(daemon, front)
    karin = await _counter_agent(daemon, "karin", None)
    # Without a counter she is not offered a numbered ticket (she could not call it): the
    # router, woken when she became available, offered nothing in a second...
    await asyncio.sleep(1)
    assert (await (await daemon.get("/api/desk", headers=karin)).json())["contacts"] == []
    # ...and once she sits at one, she is.
    await daemon.post("/api/desk/counter", json={"counter": "3"}, headers=karin)
    ref = await _offered(daemon, karin)
    await daemon.post("/api/desk/counter", json={"counter": None}, headers=karin)
    # A counter given up while the offer is open: accepting it says why it cannot be called.
    refused = await daemon.post(f"/api/desk/contacts/{ref}/accept", headers=karin)
    assert (refused.status, (await refused.json())["error"]["code"]) == (409, "no_counter")
    await daemon.post("/api/desk/counter", json={"counter": "3"}, headers=karin)

    events = await daemon.get("/api/board/events")
    first = await _next_event(events)
    assert first == {"called": []}
    assert (await daemon.post(f"/api/desk/contacts/{ref}/accept", headers=karin)).status == 200
    board = await _next_event(events)
    assert [(c["number"], c["counter"], c["serving"]) for c in board["called"]] == [
        ("A001", "3", True)
    ]
    events.close()

    async def status() -> Any:
        return await (await daemon.get("/api/status")).json()

    shown = await _eventually(status, lambda s: _family(s)["now_serving"] == "A001")
    assert _family(shown)["waiting"] == 1
    assert _family(shown)["open"] is True


def _family(status: Any) -> Any:
    return next(q for q in status["queues"] if q["queue"] == "family")


async def _next_event(response: Any) -> Any:
    while True:
        line = (await asyncio.wait_for(response.content.readline(), 10)).decode()
        if line.startswith("data: "):
            return json.loads(line[6:])


async def test_a_no_show_needs_three_calls_and_then_ends_the_ticket(daemon: Client) -> None:
    pool = _pool(daemon)
    front = await token_for(pool, "frida", Role.FRONTDESK)
    await _issue(daemon, front, phone="+4520123456")
    karin = await _counter_agent(daemon, "karin", "3")
    ref = await _offered(daemon, karin)
    await daemon.post(f"/api/desk/contacts/{ref}/accept", headers=karin)
    early = await daemon.post(f"/api/desk/contacts/{ref}/no-show", headers=karin)
    assert (early.status, (await early.json())["error"]["code"]) == (409, "too_few_calls")
    for calls in (2, 3):
        recalled = await daemon.post(f"/api/desk/contacts/{ref}/recall", headers=karin)
        assert (await recalled.json())["calls"] == calls
    done = await daemon.post(f"/api/desk/contacts/{ref}/no-show", headers=karin)
    ended = await done.json()
    assert (done.status, ended["outcome"]) == (200, "no_show")
    # Done, the visitor's number is no longer the caseworker's to read.
    assert (ended["client_address"], ended["withheld"][0]) == (None, "client_address")
    assert (await daemon.post(f"/api/desk/contacts/{ref}/recall", headers=karin)).status == 409


async def test_a_transferred_ticket_keeps_its_place_by_issue_time(
    daemon: Client, clock: FixedClock
) -> None:
    pool = _pool(daemon)
    front = await token_for(pool, "frida", Role.FRONTDESK)
    _, early = await _issue(daemon, front)  # family, 10:00
    clock.at = WORKDAY.replace(minute=20)
    _, later = await _issue(daemon, front, case_type="visa")  # visa, 10:20
    karin = await _counter_agent(daemon, "karin", "3")
    ref = await _offered(daemon, karin)
    assert ref == early["reference"]
    await daemon.post(f"/api/desk/contacts/{ref}/accept", headers=karin)
    moved = await daemon.post(
        f"/api/desk/contacts/{ref}/transfer", json={"queue": "visa"}, headers=karin
    )
    assert moved.status == 200
    tickets = daemon.app[TICKETS]
    contacts = {r["reference"]: r for r in await pool.fetch("SELECT * FROM contacts")}
    moved_contact = store.contact_from_row(contacts[early["reference"]])
    later_contact = store.contact_from_row(contacts[later["reference"]])
    assert (await tickets.place(moved_contact))[0] == 1
    assert (await tickets.place(later_contact))[0] == 2
    assert contacts[early["reference"]]["queued_at"] == contacts[early["reference"]]["created_at"]
    # Back in a queue, it waits again: off the board, its calls counted afresh.
    ticket = await pool.fetchrow("SELECT calls, counter FROM tickets WHERE number = 'A001'")
    assert ticket is not None
    assert (ticket["calls"], ticket["counter"]) == (0, None)


async def test_a_visitor_with_a_number_gets_one_sms_when_the_turn_is_near(
    daemon: Client,
) -> None:
    pool = _pool(daemon)
    front = await token_for(pool, "frida", Role.FRONTDESK)
    for n in range(5):
        await _issue(daemon, front, phone="+45 20 12 34 5" + str(n))
    tickets = daemon.app[TICKETS]
    await tickets.notify_near_turn()
    await tickets.notify_near_turn()  # a second pass tells no one twice
    rows = await pool.fetch("SELECT payload FROM outbox WHERE kind = 'sms' ORDER BY id")
    # Three ahead or fewer: the first four tickets.
    assert [r["payload"]["to"] for r in rows] == [f"+452012345{n}" for n in range(4)]
    assert rows[3]["payload"]["body"] == (
        "Udlændingestyrelsen: Dit nummer A004 kaldes snart op. Der er 3 foran dig."
    )
    assert rows[0]["payload"]["body"] == (
        "Udlændingestyrelsen: Dit nummer A001 kaldes op som det næste."
    )


async def test_waiting_tickets_are_cancelled_at_closing_when_so_configured(
    config: Settings, clock: FixedClock
) -> None:
    closing = dataclasses.replace(
        config, tickets=config.tickets.model_copy(update={"at_closing": "cancel"})
    )
    async with TestClient(TestServer(create_app(closing, clock=clock))) as daemon:
        front = await token_for(_pool(daemon), "frida", Role.FRONTDESK)
        await _issue(daemon, front, phone="+4520123456")
        tickets = daemon.app[TICKETS]
        await tickets.notify_near_turn()  # an SMS waits in the outbox (no Twilio here)
        await tickets.cancel_when_closed()
        assert await _pool(daemon).fetchval("SELECT state FROM contacts") == "queued"
        clock.at = WORKDAY.replace(hour=14, minute=5)
        await tickets.cancel_when_closed()
        row = await _pool(daemon).fetchrow("SELECT state, outcome FROM contacts")
        assert row is not None
        sms = await _pool(daemon).fetchrow("SELECT sent_at, failed_at, last_error FROM outbox")
        assert sms is not None
    assert (row["state"], row["outcome"]) == ("cancelled", "closed")
    # Its SMS is withdrawn, not sent whenever Twilio is set up.
    assert (sms["sent_at"], sms["last_error"]) == (None, "withdrawn: the ticket was cancelled")


async def test_a_letter_moved_to_another_queue_during_the_day_goes_on_counting(
    config: Settings, clock: FixedClock
) -> None:
    async with TestClient(TestServer(create_app(config, clock=clock))) as daemon:
        front = await token_for(_pool(daemon), "frida", Role.FRONTDESK)
        assert (await _issue(daemon, front))[1]["number"] == "A001"
    queues = tuple(
        dataclasses.replace(
            q, ticket_letter={"family": "B", "work_study": "A"}.get(q.code, q.ticket_letter)
        )
        for q in config.queues
    )
    moved = dataclasses.replace(config, queues=queues)
    async with TestClient(TestServer(create_app(moved, clock=clock))) as daemon:
        front = await token_for(_pool(daemon), "frida2", Role.FRONTDESK)
        assert (await _issue(daemon, front, case_type="work"))[1]["number"] == "A002"
        assert (await _issue(daemon, front))[1]["number"] == "B001"


async def test_an_appointment_goes_ahead_of_the_visitors_who_came_without_one(
    daemon: Client,
) -> None:
    front = await token_for(_pool(daemon), "frida", Role.FRONTDESK)
    await _issue(daemon, front)
    await _issue(daemon, front)
    _, booked = await _issue(daemon, front, priority="appointment")
    _, helped = await _issue(daemon, front, priority="assistance")
    assert (booked["number"], booked["position"]) == ("A003", 1)
    assert (helped["number"], helped["position"]) == ("A004", 2)


async def test_a_visitor_who_reads_turkish_is_promised_in_turkish_and_texted_in_it(
    daemon: Client,
) -> None:
    """Served in English at the counter, told in Turkish: the case type's name, processing goal
    and checklist (the English page: there is no Turkish one), and the SMS."""
    pool = _pool(daemon)
    front = await token_for(pool, "frida", Role.FRONTDESK)
    status, ticket = await _issue(
        daemon, front, language="en", client_language="tr", phone="+45 20 12 34 50"
    )
    assert status == 201, ticket
    assert (ticket["language"], ticket["client_language"]) == ("en", "tr")
    assert ticket["promise"] == {
        "name": "Aile birleşimi",
        "goal": "10 ay",
        "url": "https://www.nyidanmark.dk/en-GB/You-want-to-apply/Family",
    }
    stored = await pool.fetchrow("SELECT language, client_language FROM contacts")
    assert stored is not None
    assert (stored["language"], stored["client_language"]) == ("en", "tr")
    await daemon.app[TICKETS].notify_near_turn()
    sms = await pool.fetchval("SELECT payload ->> 'body' FROM outbox WHERE kind = 'sms'")
    assert sms == "Udlændingestyrelsen: Sıra numaranız A001. Sıradaki sizsiniz."


async def test_a_visitor_who_reads_the_counters_language_is_promised_in_it(
    daemon: Client,
) -> None:
    """Danish at the counter and on the ticket: kept as the contact's language alone, as a
    callback booked on the web is; the Danish checklist."""
    pool = _pool(daemon)
    front = await token_for(pool, "frida", Role.FRONTDESK)
    status, ticket = await _issue(daemon, front, language="da", client_language="da")
    assert status == 201, ticket
    assert ticket["client_language"] is None
    assert ticket["promise"] == {
        "name": "Familiesammenføring",
        "goal": "10 måneder",
        "url": "https://www.nyidanmark.dk/da/Du-vil-ansoege/Familie",
    }
    assert await pool.fetchval("SELECT client_language FROM contacts") is None
    # Without client_language: the language the counter speaks.
    _, english = await _issue(daemon, front, language="en", case_type="visa")
    assert english["promise"]["goal"] == "15 days"


@pytest.mark.parametrize(
    ("client_language", "status", "code"),
    [("sv", 422, "language_not_served"), ("DA", 422, "invalid_body"), ("", 422, "invalid_body")],
)
async def test_a_language_the_agency_does_not_serve_is_refused_and_issues_nothing(
    daemon: Client, client_language: str, status: int, code: str
) -> None:
    front = await token_for(_pool(daemon), "frida", Role.FRONTDESK)
    answer = await _issue(daemon, front, client_language=client_language, request_id="press-sv01")
    assert (answer[0], answer[1]["error"]["code"]) == (status, code)
    if code == "language_not_served":
        assert answer[1]["error"]["message"] == (
            "client_language 'sv' is not served; the client languages are da, en, ar, uk, tr"
        )
    assert await _pool(daemon).fetchval("SELECT count(*) FROM contacts") == 0
