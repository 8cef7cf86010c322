"""The improvement report (issue 22) on a real PostgreSQL: two weeks of history made through
the daemon's own intake and transitions (calls, callbacks, e-mails and tickets of twenty
clients who come back, satisfaction answers with comments, wrap-up codes, the classifier's
case types corrected), then every figure of the report checked against a count this test
makes itself from what it created."""

from __future__ import annotations

import dataclasses
import functools
import random
from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from contactd.clock import FixedClock
from contactd.metrics import NOT_RECORDED
from contactd.services import improvement, improvement_output
from contactd.services.improvement import Period
from contactd.services.intake import Intake
from contactd.settings import Settings
from contactd.store import contacts as store
from contactd.store import staff
from contactd.store.staff import Role
from routing.contact import Action, CaseTypeSource, Channel, Language, NewContact

CPH = ZoneInfo("Europe/Copenhagen")
WEEK = Period(date(2026, 11, 23), date(2026, 11, 29))  # 2026-W48
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=CPH)  # W49's Tuesday: W48's last windows still open
FOLLOW_UP = 7
CLIENTS = 50  # a client comes back about weekly: the window decides what counts
QUEUES = {"family": "family", "work": "work_study", "visa": "visa", "asylum": "asylum"}
CHANNELS = (Channel.CALL, Channel.CALL, Channel.EMAIL, Channel.TICKET, Channel.CALLBACK)
COMMENTS = ("Lang ventetid", "Fin hjælp, tak", "Ring til mig på 20 12 34 56",
            "Skriv til jens@example.org om sagen", "Svaret var uklart")  # fmt: skip


@dataclasses.dataclass
class Made:
    """A contact as this test made it: what the report is counted against."""

    id: int
    client: int
    channel: Channel
    case_type: str
    queue: str
    created: datetime
    ends: str  # "answered", "abandoned" (calls), "not_reached" (callbacks)
    ended: datetime
    wrap_up: str | None = None
    score: int | None = None
    comment: str | None = None
    answered_csat: datetime | None = None
    taken: datetime | None = None  # when a caseworker took it: a call's wait ended
    classified: bool = False
    sorted_as: str | None = None  # the classifier's case type, when staff corrected it
    corrected_to: str | None = None


def _address(client: int, channel: Channel) -> str:
    if channel is Channel.EMAIL:
        return f"client{client}@example.org"
    return f"+45{20_100_000 + client}"


async def _make(pool: asyncpg.Pool, config: Settings) -> list[Made]:
    ada, _ = await staff.add(pool, login="ada", name="Ada", role=Role.AGENT, now=NOW)
    intake = Intake(pool, config, clock=FixedClock(NOW), recorder=NOT_RECORDED)
    rng, made = random.Random(22), []  # noqa: S311 - a fixed history, not security
    first = WEEK.first - timedelta(days=7)
    for day in (
        first + timedelta(days=n) for n in range(16)
    ):  # W47, W48, and W49's Mon-Tue (some after NOW: not yet seen)
        for k in range(9):
            created = datetime.combine(day, time(8, 30), CPH) + timedelta(minutes=41 * k)
            made.append(await _one(pool, intake, ada.id, rng, created))
    # Two clients who call on the Saturday and again on Tuesday 1 December: one before NOW
    # (failure demand already), one after (not yet: the report is read at NOW).
    for client, again in (
        (CLIENTS, NOW - timedelta(hours=1)),
        (CLIENTS + 1, NOW + timedelta(hours=2)),
    ):
        for created in (datetime(2026, 11, 28, 11, 0, tzinfo=CPH), again):
            made.append(await _one(pool, intake, ada.id, rng, created, client=client))
    return made


async def _one(
    pool: asyncpg.Pool,
    intake: Intake,
    agent: int,
    rng: random.Random,
    created: datetime,
    *,
    client: int | None = None,
) -> Made:
    # A client's e-mail address and phone number are two clients to contactd: their repeats
    # are counted per address, as the keyed hash of the address is all that stays.
    if client is None:
        client, channel = rng.randrange(CLIENTS), rng.choice(CHANNELS)
    else:
        channel = Channel.CALLBACK  # answered or not reached, never abandoned
    case_type = rng.choice(list(QUEUES))
    classified = channel is Channel.EMAIL and rng.random() < 0.6
    contact, _ = await intake.submit(
        NewContact(
            channel=channel, case_type=case_type, language=Language.DA, received_at=created,
            case_type_source=CaseTypeSource.CLASSIFIER if classified else CaseTypeSource.STAFF,
            confidence=0.9 if classified else None,
            client_address=_address(client, channel),
        ),
        actor="test",
    )  # fmt: skip
    m = Made(id=contact.id, client=client, channel=channel, case_type=case_type,
             queue=contact.queue, created=created, ends="answered", ended=created,
             classified=classified)  # fmt: skip
    taken = created + timedelta(seconds=rng.randrange(20, 900))
    if channel is Channel.CALL and rng.random() < 0.25:
        await store.abandon(pool, contact.id, why="hung up", actor="twilio", now=taken,
                            recorder=NOT_RECORDED)  # fmt: skip
        m.ends, m.ended = "abandoned", taken
        return m
    move = functools.partial(
        store.transition, pool, contact.id, now=taken, actor="staff:ada", recorder=NOT_RECORDED
    )
    await move(Action.OFFER, agent_id=agent)
    await move(Action.ACCEPT)
    m.taken = taken
    if classified and rng.random() < 0.4:  # staff correct the classifier's case type
        m.sorted_as, m.corrected_to = case_type, "general" if case_type != "visa" else "family"
        await move(Action.REQUEUE, case_type=m.corrected_to)
        await move(Action.OFFER, agent_id=agent)
        await move(Action.ACCEPT)
        m.case_type = m.corrected_to
    m.ended = taken + timedelta(minutes=5)
    not_reached = channel is Channel.CALLBACK and rng.random() < 0.3
    await store.transition(pool, contact.id, Action.FINISH, now=m.ended, actor="staff:ada",
                           recorder=NOT_RECORDED,
                           outcome="not_reached" if not_reached else None)  # fmt: skip
    if not_reached:
        m.ends = "not_reached"
        return m
    m.wrap_up = rng.choice(["documents", "status", None])
    await pool.execute("UPDATE contacts SET wrap_up = $2 WHERE id = $1", contact.id, m.wrap_up)
    if rng.random() < 0.5:
        m.score, m.answered_csat = rng.randint(1, 5), m.ended + timedelta(hours=2)
        m.comment = rng.choice([*COMMENTS, None])
        await pool.execute(
            "INSERT INTO csat (contact_id, queue, channel, asked_at, via, expires_at, score,"
            " comment, answered_at) VALUES ($1, $2, $3, $4, 'sms', $5, $6, $7, $8)",
            contact.id, m.queue, str(channel), m.ended, m.ended + timedelta(days=14), m.score,
            m.comment, m.answered_csat,
        )  # fmt: skip
    return m


def _in(at: datetime | None, period: Period) -> bool:
    return at is not None and period.first <= at.astimezone(CPH).date() <= period.last


@pytest.fixture
async def history(
    pool: asyncpg.Pool, config: Settings
) -> tuple[improvement.Improvement, list[Made]]:
    made = await _make(pool, config)
    async with pool.acquire() as conn:
        found = await improvement.gather(
            conn, config.queues, config.timezone, WEEK, now=NOW.astimezone(CPH),
            follow_up_days=FOLLOW_UP, csat_goal=4.0,
        )  # fmt: skip
    return found, made


async def test_failure_demand_and_first_contact_resolution_are_counted_per_client(
    history: tuple[improvement.Improvement, list[Made]],
) -> None:
    found, made = history
    expected: dict[tuple[str, Channel], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for m in made:
        if not _in(m.created, WEEK):
            continue
        address = _address(m.client, m.channel)
        again = any(
            n is not m and _address(n.client, n.channel) == address
            and m.created < n.created <= min(m.created + timedelta(days=FOLLOW_UP), NOW)
            for n in made
        )  # fmt: skip
        answered = m.ends == "answered"
        e = expected[m.case_type, m.channel]
        for i, counted in enumerate((True, again, answered, answered and again)):
            e[i] += int(counted)
    got = {(r.case_type, r.channel): [r.contacts, r.followed, r.answered, r.answered_followed]
           for r in found.repeats}  # fmt: skip
    assert got == dict(expected)
    every = found.repeats_in_all()
    assert every.contacts == sum(e[0] for e in expected.values()) > 40
    assert 0 < every.followed < every.contacts  # clients over two weeks come back
    assert every.failure_demand == every.followed / every.contacts
    settled = sum(e[2] - e[3] for e in expected.values())
    assert every.first_contact_resolution == settled / sum(e[2] for e in expected.values())


async def test_satisfaction_comments_callbacks_wrap_ups_and_corrections(
    history: tuple[improvement.Improvement, list[Made]],
) -> None:
    found, made = history
    # Satisfaction per queue and channel, this week and the week before.
    for s in found.satisfaction:
        for period, answers, mean in (
            (WEEK, s.answers, s.mean),
            (WEEK.before(), s.before_answers, s.before_mean),
        ):
            scores = [m.score for m in made if m.queue == s.queue and m.channel is s.channel
                      and m.score is not None and _in(m.answered_csat, period)]  # fmt: skip
            assert answers == len(scores)
            assert mean == (pytest.approx(sum(scores) / len(scores)) if scores else None)
    answered_this_week = [m for m in made if m.score is not None and _in(m.answered_csat, WEEK)]
    assert sum(s.answers for s in found.satisfaction) == len(answered_this_week)
    # Every comment of the week, numbers and addresses masked, none of another week.
    commented = [m for m in answered_this_week if m.comment]
    assert sorted(c.text for c in found.comments) == sorted(
        improvement.masked(m.comment or "") for m in commented
    )
    shown = " ".join(c.text for c in found.comments)
    for hidden in ("20 12 34 56", "jens@example.org"):
        assert hidden not in shown
    for mask in ("[phone]", "[e-mail]"):
        assert mask in shown
    groups = found.comment_groups()
    assert sum(len(g) for g in groups.values()) == len(commented)
    assert Counter((c.case_type, c.wrap_up) for c in found.comments) == Counter(
        (m.case_type, m.wrap_up) for m in commented
    )
    # Callbacks not reached, per queue.
    callbacks = [m for m in made if m.channel is Channel.CALLBACK and _in(m.ended, WEEK)]
    assert {(c.queue, c.closed, c.not_reached) for c in found.callbacks} == {
        (q, sum(1 for m in callbacks if m.queue == q),
         sum(1 for m in callbacks if m.queue == q and m.ends == "not_reached"))
        for q in {m.queue for m in callbacks}
    }  # fmt: skip
    # Why clients contacted us: the wrap-up codes of contacts finished this week.
    assert Counter({(q, c): n for q, c, n in found.wrap_ups}) == Counter(
        (m.queue, m.wrap_up) for m in made if m.wrap_up and _in(m.ended, WEEK)
    )
    # The classifier's case types staff corrected, and what it sorted.
    this_week = [m for m in made if _in(m.created, WEEK)]
    corrected = Counter((m.sorted_as, m.corrected_to) for m in this_week if m.corrected_to)
    assert Counter({(a, b): n for a, b, n in found.corrections}) == corrected
    assert found.classified == sum(1 for m in this_week if m.classified)


async def test_the_goals_are_counted_per_queue_and_show_the_trend(
    history: tuple[improvement.Improvement, list[Made]], config: Settings
) -> None:
    found, made = history
    calls = [g for g in found.goals if g.channel is Channel.CALL]
    minutes = {q.code: q.goals[Channel.CALL].threshold.amount for q in config.queues
               if Channel.CALL in q.goals}  # fmt: skip
    assert len(calls) == len(minutes)
    for g in calls:
        due = timedelta(minutes=minutes[g.queue])
        ours = [m for m in made if m.queue == g.queue and m.channel is Channel.CALL]
        for period, row in ((WEEK, g.now), (WEEK.before(), g.before)):
            assert row is not None
            taken = [m for m in ours if _in(m.taken, period)]  # a call counts when taken
            left = [m for m in ours if m.ends == "abandoned" and _in(m.ended, period)]
            assert (row.counts.answered, row.counts.abandoned) == (len(taken), len(left))
            assert row.counts.answered_within == sum(
                1 for m in taken if m.taken and m.taken <= m.created + due
            )
        now, was = g.now.service_level, g.before.service_level if g.before else None
        assert g.change == (None if now is None or was is None else pytest.approx(now - was))
    # The report's text, CSV and JSON show the same figures.
    lines = list(improvement_output.text(found))
    assert lines[0] == "Improvement report 2026-W48 (2026-11-23 to 2026-11-29)"
    rows = list(improvement_output.csv_rows(found))
    assert sum(1 for r in rows if r[0] == "comment") == len(found.comments)
    shown = improvement_output.as_json(found)
    assert shown["failure_demand"]["contacts"] == found.repeats_in_all().contacts
