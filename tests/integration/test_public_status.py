"""The public status beside the service centre, through GET /api/status on a real PostgreSQL:
the hotline's wait for a caller who rings now (the wait the phone line tells them), whether
the line is open and when it opens, and the e-mail promise with the median time to the first
answer of the last 7 days, counted in the open hours as the statistics count it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from contactd.app import create_app
from contactd.clock import FixedClock
from contactd.http.appkeys import CALLS, POOL
from contactd.settings import Settings
from contactd.store import contacts as store
from contactd.store.staff import Role
from routing.contact import Channel
from tests.conftest import CPH, WORKDAY, token_for
from tests.integration.history import insert_contacts

Client = TestClient[web.Request, web.Application]
# WORKDAY is Tuesday 1 December 2026, 10:00 in Copenhagen: the hotline (calendars.phone) is
# open 09-15. The office (calendars.office, the e-mail goals' calendar) is open 08-16 Monday
# to Thursday and 08-15:30 on Friday.
AFTER_HOURS = WORKDAY.replace(hour=15, minute=30)

# The family queue's name in every language the status page is offered in.
FAMILY = {"da": "Familiesammenføring", "en": "Family reunification", "ar": "لمّ شمل الأسرة",
          "uk": "Возз’єднання сім’ї", "tr": "Aile birleşimi"}  # fmt: skip


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    """A time in Copenhagen in November (day <= 30) or December 2026 (day > 30: 1 December
    is 31)."""
    if day > 30:
        return datetime(2026, 12, day - 30, hour, minute, tzinfo=CPH)
    return datetime(2026, 11, day, hour, minute, tzinfo=CPH)


@pytest.fixture
def clock() -> FixedClock:
    """The daemon's clock, standing still at WORKDAY; a test moves it."""
    return FixedClock(WORKDAY)


@pytest.fixture
async def daemon(config: Settings, clock: FixedClock) -> AsyncIterator[Client]:
    async with TestClient(TestServer(create_app(config, clock=clock))) as client:
        yield client


def _pool(client: Client) -> asyncpg.Pool:
    return client.app[POOL]


async def _shown(client: Client, check: Callable[[Any], bool]) -> Any:
    """The status once it shows what `check` looks for: contacts written straight into the
    database wake it with the NOTIFY a transition sends."""
    await _pool(client).execute("SELECT pg_notify('contactd_contacts', '')")
    status: Any = None
    for _ in range(200):
        status = await (await client.get("/api/status")).json()
        if check(status):
            return status
        await asyncio.sleep(0.05)
    raise AssertionError(f"never: {status}")


def _queue(part: Any, code: str) -> Any:
    return next(q for q in part["queues"] if q["queue"] == code)


async def _agent(client: Client, login: str, skills: dict[str, int], state: str) -> None:
    supervisor = await token_for(_pool(client), f"sup-{login}", Role.SUPERVISOR)
    agent = await token_for(_pool(client), login, Role.AGENT)
    profile = {"skills": skills, "languages": ["da"]}
    saved = await client.put(f"/api/agents/{login}", json=profile, headers=supervisor)
    assert saved.status == 200
    signed_in = await client.post("/api/desk/state", json={"state": state}, headers=agent)
    assert signed_in.status == 200


async def test_the_hotline_shows_the_wait_a_caller_ringing_now_is_told(
    daemon: Client, clock: FixedClock
) -> None:
    pool = _pool(daemon)
    # Karin takes family calls; she is signed in, on a break: the calls wait for her.
    await _agent(daemon, "karin", {"family": 4}, "away")
    now = clock()
    # A call handled today took 5 minutes: each caller ahead of a new one takes as long.
    await insert_contacts(
        pool,
        created=now - timedelta(hours=1),
        due=now,
        answered=now - timedelta(minutes=50),
        closed=now - timedelta(minutes=45),
        outcome="answered",
    )
    # A callback booked for this afternoon does not wait yet.
    afternoon = now.replace(hour=13)
    await insert_contacts(
        pool, channel="callback", created=now, due=now, state="queued", not_before=afternoon
    )
    # Written last, so that a status showing them shows the rest too.
    await insert_contacts(
        pool, created=now - timedelta(minutes=3), due=now, state="queued", count=3
    )
    status = await _shown(daemon, lambda s: _queue(s["phone"], "family")["waiting"] == 3)
    family = _queue(status["phone"], "family")
    # Three before them, one caseworker, 5 minutes each: 15 minutes.
    assert family == {"queue": "family", **FAMILY, "waiting": 3,
                      "estimated_wait_minutes": 15}  # fmt: skip
    # No one waits for visa: a caller is next.
    assert _queue(status["phone"], "visa")["estimated_wait_minutes"] == 0
    assert (status["phone"]["open"], status["phone"]["opens_at"]) == (True, None)

    # A caller who rings now is told the same wait by the phone line.
    [caller] = await insert_contacts(pool, created=now, due=now, state="queued")
    place = await daemon.app[CALLS].place(await store.get_by_id(pool, caller))
    assert (place.position, round(place.estimated_wait_seconds / 60)) == (4, 15)


async def test_the_hotline_counts_only_what_waits_for_the_phone_queues(daemon: Client) -> None:
    status = await _shown(daemon, lambda s: True)
    phone_queues = [q["queue"] for q in status["phone"]["queues"]]
    # config/contactd.toml: every queue takes calls, in configuration order.
    assert phone_queues == ["family", "work_study", "asylum", "residence", "visa", "appeals",
                            "general"]  # fmt: skip
    assert {q["waiting"] for q in status["phone"]["queues"]} == {0}
    # Nobody waiting and nobody signed in: a caller is next.
    assert {q["estimated_wait_minutes"] for q in status["phone"]["queues"]} == {0}


async def test_a_closure_of_the_line_shows_it_closed_until_the_closure_ends(
    daemon: Client,
) -> None:
    sofie = await token_for(_pool(daemon), "sofie", Role.SUPERVISOR)
    meeting = {"starts_at": WORKDAY.replace(hour=9, minute=30).isoformat(),
               "ends_at": WORKDAY.replace(hour=11).isoformat(), "reason": "Møde"}  # fmt: skip
    added = await daemon.post("/api/calendars/phone/closures", json=meeting, headers=sofie)
    assert added.status == 201
    status = await _shown(daemon, lambda s: not s["phone"]["open"])
    assert status["phone"]["opens_at"] == "2026-12-01T11:00+01:00"


@pytest.mark.parametrize("clock", [FixedClock(AFTER_HOURS)], ids=["after_hours"])
async def test_after_its_hours_the_hotline_is_closed_and_says_when_it_opens(
    daemon: Client,
) -> None:
    status = await _shown(daemon, lambda s: True)
    # Tuesday 15:30: the line closed at 15:00 and opens on Wednesday at 09:00.
    assert (status["phone"]["open"], status["phone"]["opens_at"]) == (
        False,
        "2026-12-02T09:00+01:00",
    )


async def test_the_email_goal_and_the_median_answer_of_the_last_7_days_in_open_hours(
    daemon: Client,
) -> None:
    pool = _pool(daemon)

    async def mail(received: datetime, answered: datetime | None, queue: str = "family") -> None:
        due = received + timedelta(days=7)
        state = "done" if answered else "queued"
        await insert_contacts(
            pool, channel="email", queue=queue, created=received, due=due, state=state,
            first_response=answered, closed=answered, outcome="answered" if answered else None,
        )  # fmt: skip

    # Monday 08:00 to 10:00: 2 open hours, a quarter of an 8-hour day.
    await mail(_at(30, 8), _at(30, 10))
    # Friday 15:00 to Monday 09:00: the last half hour of a 7.5-hour Friday and the first
    # hour of Monday, 1.5 open hours: 0.5/7.5 + 1/8 working days.
    await mail(_at(27, 15), _at(30, 9))
    # Wednesday 12:00 to Tuesday 09:00: 4 + 8 + 7.5 + 8 + 1 open hours, 3.625 working days.
    await mail(_at(25, 12), _at(31, 9))
    # Answered 8 days ago, not recently; not answered yet; another queue's.
    await mail(_at(23, 8), _at(23, 12))
    await mail(_at(31, 8), None)
    await mail(_at(30, 8), _at(30, 9), queue="visa")

    # The status shows the e-mail written last: it shows the others too.
    status = await _shown(daemon, lambda s: _queue(s["email"], "visa")["answered"] == 1)
    family = _queue(status["email"], "family")
    assert family == {
        "queue": "family", **FAMILY,
        "goal": {"amount": 5, "unit": "working days"}, "answered": 3,
        "median_answer_seconds": 2 * 3600, "median_answer_working_days": 0.25,
    }  # fmt: skip
    visa = _queue(status["email"], "visa")
    assert (visa["goal"], visa["answered"], visa["median_answer_seconds"]) == (
        {"amount": 3, "unit": "working days"},
        1,
        3600,
    )
    # A queue with no answer in the last 7 days has its goal and no answer time.
    asylum = _queue(status["email"], "asylum")
    assert asylum["goal"] == {"amount": 2, "unit": "working days"}
    assert (asylum["answered"], asylum["median_answer_seconds"]) == (0, None)
    assert asylum["median_answer_working_days"] is None
    assert status["email"]["since"] == "2026-11-24T10:00:00+01:00"


async def test_the_answer_time_is_the_open_time_the_statistics_count(
    daemon: Client, config: Settings
) -> None:
    """One answered e-mail per queue, across the night, a weekend, and half a year of public
    holidays, closed days and a change from summer time: each queue's median is that
    e-mail's open time, as BusinessCalendar.business_time counts it for the statistics."""
    pool = _pool(daemon)
    times = {
        "family": (_at(30, 7), _at(30, 17)),  # before opening to after closing: 8 h
        "work_study": (_at(28, 12), _at(30, 8, 30)),  # Saturday to Monday
        "asylum": (_at(26, 15, 59), _at(27, 8, 1)),  # over the night
        # From the day before Ascension Day, over Whit Monday, 5 June and 25 October.
        "residence": (datetime(2026, 5, 13, 12, tzinfo=CPH), _at(31, 9, 59)),
        "visa": (_at(31, 9, 59), _at(31, 9, 59)),  # answered at once
    }
    for queue, (received, answered) in times.items():
        await insert_contacts(
            pool, channel="email", queue=queue, created=received, due=answered, state="done",
            first_response=answered, closed=answered, outcome="answered",
        )  # fmt: skip
    status = await _shown(daemon, lambda s: _queue(s["email"], "visa")["answered"] == 1)
    by_code = {q.code: q for q in config.queues}
    for queue, (received, answered) in times.items():
        calendar = by_code[queue].calendar_for(Channel.EMAIL)
        expected = calendar.business_time(received, answered).total_seconds()
        assert _queue(status["email"], queue)["median_answer_seconds"] == expected, queue
