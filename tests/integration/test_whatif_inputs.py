"""The what-if lab's inputs from reality on a real PostgreSQL: the traffic estimated from the
history of chosen days, and the staffing read from today's agent profiles.

The history is made through the services the daemon uses (intake, the contacts' transitions,
the phone channel's callback retries), at known times: calls answered and handled on a
Friday and a Monday, a few abandoned, one transferred; e-mails too few to measure their
handling time by; callbacks with tries the client did not answer; and on the Saturday
between, when the hotline is closed, contacts that must not count. The estimates must be
what those contacts give, computed here from them.
"""

from __future__ import annotations

import dataclasses
import statistics
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from channels.ports import OutboxItem
from contactd.clock import FixedClock
from contactd.metrics import NOT_RECORDED
from contactd.services import whatif_inputs
from contactd.services.calls import Calls
from contactd.services.intake import Intake
from contactd.settings import Settings
from contactd.store import agents, staff
from contactd.store import contacts as store
from contactd.store.staff import Role
from routing.contact import Action, CaseTypeSource, Channel, Contact, Language, NewContact
from tests.conftest import WORKDAY
from whatif.scenario import Agent, Traffic, shipped_traffic

CPH = ZoneInfo("Europe/Copenhagen")
FRIDAY, SATURDAY, MONDAY = date(2026, 11, 20), date(2026, 11, 21), date(2026, 11, 23)
S = timedelta(seconds=1)
Kind = tuple[str, Language]  # a contact's case type and language

# Calls handled: call i waits WAITS[i] and is handled HANDLES[i] seconds; even ones on the
# Friday, odd ones on the Monday; at 09:xx or 10:xx; every fourth in English; every third
# about work, the rest about family reunification.
N_CALLS = 40
HANDLES = [60 + 15 * i for i in range(N_CALLS)]
WAITS = [20 + i for i in range(N_CALLS)]
ABANDONED = [30, 60, 90, 120]  # seconds before hanging up, at 11:xx, about visas, in English
N_EMAILS = 10  # handled, too few for a handling time: the shipped one stays


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=CPH)


def call_time(i: int) -> datetime:
    return at(FRIDAY if i % 2 == 0 else MONDAY, 9 if i % 4 < 2 else 10, i)


class History:
    """Contacts made and moved through the daemon's own services at chosen times."""

    def __init__(self, pool: asyncpg.Pool, config: Settings, agent_id: int) -> None:
        self.pool, self.agent_id = pool, agent_id
        self.clock = FixedClock(WORKDAY)
        self.intake = Intake(pool, config, clock=self.clock, recorder=NOT_RECORDED)
        self.calls = Calls(config.queues, clock=self.clock, recorder=NOT_RECORDED)
        self.calls.start(pool, self.intake, sms_per_hour=100)

    async def new(self, channel: Channel, created: datetime, kind: Kind) -> Contact:
        case_type, language = kind
        contact, _ = await self.intake.submit(
            NewContact(
                channel=channel, case_type=case_type, case_type_source=CaseTypeSource.STAFF,
                language=language, received_at=created,
                client_address="+4520123456" if channel is Channel.CALLBACK else None,
            ),
            actor="test",
        )  # fmt: skip
        return contact

    async def move(self, contact: Contact, action: Action, now: datetime) -> Contact:
        agent_id = self.agent_id if action is Action.OFFER else None
        return await store.transition(
            self.pool, contact.id, action, now=now, actor="staff:ada", recorder=NOT_RECORDED,
            agent_id=agent_id,
        )  # fmt: skip

    async def take(self, contact: Contact, now: datetime) -> Contact:
        offered = await self.move(contact, Action.OFFER, now)
        return await self.move(offered, Action.ACCEPT, now)

    async def handled(
        self, channel: Channel, created: datetime, kind: Kind, wait: float, handle: float
    ) -> None:
        contact = await self.new(channel, created, kind)
        active = await self.take(contact, created + wait * S)
        await self.move(active, Action.FINISH, created + (wait + handle) * S)

    async def abandoned(self, created: datetime, kind: Kind, wait: float) -> None:
        contact = await self.new(Channel.CALL, created, kind)
        await store.abandon(
            self.pool, contact.id, now=created + wait * S, actor="twilio",
            recorder=NOT_RECORDED, why="hung up in the queue",
        )  # fmt: skip

    async def unanswered(self, callback: Contact, now: datetime, *, last: bool = False) -> None:
        """A dialled try the client did not answer, as the phone channel records it."""
        self.clock.at = now
        if last:
            sms = OutboxItem(kind="sms", key=f"sms:{callback.reference}", payload={})
            await self.calls.not_reached(callback, sms)
        else:
            await self.calls.requeue_callback(callback, why="client no-answer", not_before=now)


async def _history(pool: asyncpg.Pool, config: Settings) -> None:
    ada, _ = await staff.add(pool, login="ada", name="Ada", role=Role.AGENT, now=WORKDAY)
    h = History(pool, config, ada.id)
    for i in range(N_CALLS):
        kind = ("work" if i % 3 == 0 else "family", Language.EN if i % 4 == 0 else Language.DA)
        created = call_time(i)
        if i == 0:  # transferred after 1000 s: only the last agent's stretch is handling
            taken = created + WAITS[0] * S
            first = await h.take(await h.new(Channel.CALL, created, kind), taken)
            back = await h.move(first, Action.REQUEUE, taken + 1000 * S)
            again = await h.take(back, taken + 1100 * S)
            await h.move(again, Action.FINISH, taken + (1100 + HANDLES[0]) * S)
        else:
            await h.handled(Channel.CALL, created, kind, WAITS[i], HANDLES[i])
    for n, wait in enumerate(ABANDONED):
        day = FRIDAY if n % 2 == 0 else MONDAY
        await h.abandoned(at(day, 11, n), ("visa", Language.EN), wait)
    for n in range(N_EMAILS):
        day, language = (FRIDAY, Language.DA) if n % 2 == 0 else (MONDAY, Language.EN)
        await h.handled(Channel.EMAIL, at(day, 8, n), ("study", language), 3600, 600)
    await _callbacks(h)
    for n in range(6):  # the Saturday: the hotline is closed; none of these may count
        asylum = ("asylum", Language.EN)
        await h.handled(Channel.CALL, at(SATURDAY, 12, n), asylum, 900, 5000)
        await h.abandoned(at(SATURDAY, 13, n), asylum, 4000)


async def _callbacks(h: History) -> None:
    """Four callbacks booked on the Friday at 12:00: reached at once; reached at the second
    try; not reached in two tries; and one whose agent's phone did not answer (no try at the
    client) before it was reached. Three tries of six went unanswered."""
    booked = at(FRIDAY, 12)
    kind = ("family", Language.DA)
    reached = await h.take(await h.new(Channel.CALLBACK, booked, kind), booked + 600 * S)
    await h.move(reached, Action.FINISH, booked + 900 * S)
    second = await h.take(await h.new(Channel.CALLBACK, booked, kind), booked + 600 * S)
    await h.unanswered(second, booked + 640 * S)
    second = await h.take(second, booked + 1800 * S)
    await h.move(second, Action.FINISH, booked + 2000 * S)
    never = await h.take(await h.new(Channel.CALLBACK, booked, kind), booked + 600 * S)
    await h.unanswered(never, booked + 640 * S)
    never = await h.take(never, booked + 1800 * S)
    await h.unanswered(never, booked + 1840 * S, last=True)
    agent_away = await h.take(await h.new(Channel.CALLBACK, booked, kind), booked + 600 * S)
    h.clock.at = booked + 630 * S
    await h.calls.requeue_callback(agent_away, why="agent no-answer", not_before=None)
    agent_away = await h.take(agent_away, booked + 700 * S)
    await h.move(agent_away, Action.FINISH, booked + 1000 * S)


@pytest.fixture
def shipped(config: Settings) -> Traffic:
    return shipped_traffic(list(config.case_types))


async def _estimated(
    pool: asyncpg.Pool, config: Settings, shipped: Traffic
) -> tuple[Traffic, whatif_inputs.HistoryNote]:
    await _history(pool, config)
    return await whatif_inputs.history_traffic(pool, config, FRIDAY, MONDAY, shipped)


def _note(note: whatif_inputs.HistoryNote, channel: Channel) -> whatif_inputs.ChannelNote:
    return next(n for n in note.channels if n.channel is channel)


async def test_arrivals_per_working_day_and_their_hours(
    pool: asyncpg.Pool, config: Settings, shipped: Traffic
) -> None:
    traffic, _ = await _estimated(pool, config, shipped)
    calls = N_CALLS + len(ABANDONED)
    assert traffic.per_day == {Channel.CALL: calls / 2, Channel.CALLBACK: 4 / 2,
                               Channel.EMAIL: N_EMAILS / 2, Channel.TICKET: 0.0}  # fmt: skip
    assert traffic.profile[Channel.CALL] == pytest.approx({9: 20 / calls, 10: 20 / calls,
                                                           11: 4 / calls})  # fmt: skip
    assert traffic.profile[Channel.EMAIL] == {8: 1.0}
    assert traffic.profile[Channel.CALLBACK] == {12: 1.0}


async def test_case_types_and_the_english_share(
    pool: asyncpg.Pool, config: Settings, shipped: Traffic
) -> None:
    traffic, _ = await _estimated(pool, config, shipped)
    work = sum(1 for i in range(N_CALLS) if i % 3 == 0)
    counts = {"family": N_CALLS - work + 4, "work": work, "visa": len(ABANDONED),
              "study": N_EMAILS}  # fmt: skip
    total = sum(counts.values())
    assert traffic.case_types == pytest.approx({c: n / total for c, n in counts.items()})
    calls = N_CALLS + len(ABANDONED)
    assert traffic.english[Channel.CALL] == pytest.approx((N_CALLS / 4 + len(ABANDONED)) / calls)
    assert traffic.english[Channel.EMAIL] == 0.5
    assert traffic.english[Channel.CALLBACK] == 0.0


async def test_handling_time_runs_from_the_last_accept_to_the_finish(
    pool: asyncpg.Pool, config: Settings, shipped: Traffic
) -> None:
    traffic, note = await _estimated(pool, config, shipped)
    mean = statistics.mean(HANDLES)
    assert traffic.handle[Channel.CALL].mean == pytest.approx(mean)
    assert traffic.handle[Channel.CALL].cv == pytest.approx(statistics.stdev(HANDLES) / mean)
    assert _note(note, Channel.CALL).handled == N_CALLS
    assert "handle" not in _note(note, Channel.CALL).shipped


async def test_patience_is_every_wait_over_the_abandons(
    pool: asyncpg.Pool, config: Settings, shipped: Traffic
) -> None:
    traffic, note = await _estimated(pool, config, shipped)
    assert traffic.patience[Channel.CALL].mean == pytest.approx(
        (sum(WAITS) + sum(ABANDONED)) / len(ABANDONED)
    )
    assert traffic.patience[Channel.CALL].cv == 1.0
    assert note.abandons == len(ABANDONED)


async def test_the_callbacks_unanswered_share_comes_from_the_tries_at_the_client(
    pool: asyncpg.Pool, config: Settings, shipped: Traffic
) -> None:
    traffic, note = await _estimated(pool, config, shipped)
    assert traffic.callbacks.unanswered == 0.5
    assert note.callback_tries == (3, 6)
    assert dataclasses.replace(traffic.callbacks, unanswered=0.15) == shipped.callbacks


async def test_a_channel_with_too_few_handled_keeps_the_shipped_handling_and_says_so(
    pool: asyncpg.Pool, config: Settings, shipped: Traffic
) -> None:
    traffic, note = await _estimated(pool, config, shipped)
    assert traffic.handle[Channel.EMAIL] == shipped.handle[Channel.EMAIL]
    email = _note(note, Channel.EMAIL)
    assert (email.contacts, email.handled) == (N_EMAILS, N_EMAILS)
    assert email.shipped == {"handle": "10 handled, fewer than 30"}
    assert (
        "email: 10 contacts, 10 handled; shipped values kept: handle: 10 handled, fewer than 30"
        in note.lines()
    )
    tickets = _note(note, Channel.TICKET)
    assert set(tickets.shipped) == {"profile", "english", "handle"}
    assert traffic.profile[Channel.TICKET] == shipped.profile[Channel.TICKET]


async def test_a_closed_day_is_not_counted(
    pool: asyncpg.Pool, config: Settings, shipped: Traffic
) -> None:
    traffic, note = await _estimated(pool, config, shipped)
    assert note.working_days == (FRIDAY, MONDAY)
    assert note.closed_days == (SATURDAY, date(2026, 11, 22))
    assert _note(note, Channel.CALL).contacts == N_CALLS + len(ABANDONED)
    assert 12 not in traffic.profile[Channel.CALL]
    assert "asylum" not in traffic.case_types
    with pytest.raises(whatif_inputs.HistoryError, match="closed every day"):
        await whatif_inputs.history_traffic(pool, config, SATURDAY, SATURDAY, shipped)


async def test_an_empty_history_keeps_every_shipped_figure_but_the_volume(
    pool: asyncpg.Pool, config: Settings, shipped: Traffic
) -> None:
    traffic, note = await whatif_inputs.history_traffic(pool, config, FRIDAY, MONDAY, shipped)
    assert traffic == dataclasses.replace(shipped, per_day=dict.fromkeys(Channel, 0.0))
    assert note.shipped == {"case_types": "no contacts of a configured case type"}
    assert _note(note, Channel.CALL).shipped["patience"] == "no call abandoned"
    assert _note(note, Channel.CALLBACK).shipped["unanswered"] == "no unanswered try recorded"


# Staffing: today's agent profiles.
TUESDAY = WORKDAY.date()  # hotline 09-15, office (e-mail) 08-16, service centre 08-14


async def _agent(
    pool: asyncpg.Pool,
    login: str,
    capacity: dict[Channel, int],
    *,
    skills: dict[str, int] | None = None,
    languages: frozenset[Language] = frozenset({Language.DA, Language.EN}),
) -> None:
    person, _ = await staff.add(pool, login=login, name=login.title(), role=Role.AGENT,
                                now=WORKDAY)  # fmt: skip
    await agents.save_profile(
        pool, person.id, skills=skills or {"family": 4, "work": 2}, languages=languages,
        capacity=capacity, known_case_types=frozenset({"family", "work", "study", "visa"}),
        now=WORKDAY,
    )  # fmt: skip


async def _staff(pool: asyncpg.Pool) -> None:
    phones = {Channel.CALL: 1, Channel.CALLBACK: 1, Channel.EMAIL: 0, Channel.TICKET: 0}
    await _agent(pool, "ada", phones)
    await _agent(pool, "bea", phones)  # as ada: one team
    await _agent(pool, "cai", {Channel.EMAIL: 3}, skills={"study": 3},
                 languages=frozenset({Language.DA}))  # fmt: skip
    await _agent(pool, "dan", {Channel.CALL: 1, Channel.EMAIL: 2, Channel.TICKET: 1},
                 skills={"family": 3}, languages=frozenset({Language.DA}))  # fmt: skip
    await _agent(pool, "eve", dict.fromkeys(Channel, 0))  # takes nothing: left out
    await _agent(pool, "fay", phones)
    await staff.disable(pool, "fay", now=WORKDAY)  # disabled: left out
    await _agent(pool, "gus", phones, skills={"visa": 5})  # as ada's channels, other skills


async def test_profiles_become_agents_at_work_while_their_channels_are_open(
    pool: asyncpg.Pool, config: Settings
) -> None:
    await _staff(pool)
    found = await whatif_inputs.profile_staffing(pool, config, TUESDAY)
    assert [a.name for a in found] == ["ada", "bea", "cai", "dan", "gus"]
    ada, _, cai, dan, gus = found
    both = frozenset({Language.DA, Language.EN})
    assert ada == Agent(name="ada", team="call-callback-da-en-1", skills={"family": 4, "work": 2},
                        languages=both, capacity={Channel.CALL: 1, Channel.CALLBACK: 1},
                        start=time(9), end=time(15))  # fmt: skip
    assert (cai.team, cai.skills, cai.languages, cai.capacity) == (
        "email-da",
        {"study": 3},
        frozenset({Language.DA}),
        {Channel.EMAIL: 3},
    )
    assert (cai.start, cai.end) == (time(8), time(16))  # the office's hours: e-mail
    assert dan.capacity == {Channel.CALL: 1, Channel.EMAIL: 2, Channel.TICKET: 1}
    assert (dan.team, dan.start, dan.end) == ("call-email-ticket-da", time(8), time(16))
    assert (gus.team, gus.skills) == ("call-callback-da-en-2", {"visa": 5})
    assert all(a.breaks == () for a in found)


async def test_identical_profiles_make_one_team(pool: asyncpg.Pool, config: Settings) -> None:
    await _staff(pool)
    found = await whatif_inputs.profile_staffing(pool, config, TUESDAY)
    teams: dict[str, list[str]] = {}
    for a in found:
        teams.setdefault(a.team, []).append(a.name)
    assert teams == {"call-callback-da-en-1": ["ada", "bea"], "email-da": ["cai"],
                     "call-email-ticket-da": ["dan"], "call-callback-da-en-2": ["gus"]}  # fmt: skip


async def test_given_hours_replace_the_calendars(pool: asyncpg.Pool, config: Settings) -> None:
    await _staff(pool)
    found = await whatif_inputs.profile_staffing(pool, config, TUESDAY, (time(7), time(12)))
    assert {(a.start, a.end) for a in found} == {(time(7), time(12))}
    with pytest.raises(whatif_inputs.StaffingError, match="must end after"):
        await whatif_inputs.profile_staffing(pool, config, TUESDAY, (time(12), time(7)))


async def test_a_closed_day_has_no_hours_to_play(pool: asyncpg.Pool, config: Settings) -> None:
    await _staff(pool)
    saturday = TUESDAY + timedelta(days=4)
    with pytest.raises(whatif_inputs.StaffingError, match="no calendar"):
        await whatif_inputs.profile_staffing(pool, config, saturday)
    assert (
        len(await whatif_inputs.profile_staffing(pool, config, saturday, (time(9), time(13)))) == 5
    )
