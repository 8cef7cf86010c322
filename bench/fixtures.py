"""Bulk rows for bench.metrics: a day of traffic for /metrics and a year of finished
contacts for the statistics pass, more than the daemon could make in a run.

This is the one module of bench/ that writes the schema directly, and why: the statistics
pass is measured over 1,000,000 finished contacts (and /metrics over 3,000 waiting and a
day's 8,000 closed), each with its own times, waits and outcome, written in seconds with
COPY and INSERT ... SELECT; through the intake and the desk they would take hours, and
their times could not be in the past. It assumes the columns of contacts, csat and outbox
as the migrations up to 0011_one_clock.sql make them (contactd/store/sql/schema.sql: every
time given, no column defaults to now()); a migration that changes those tables changes
this module and bench/history.sql (the statement that writes the year) too. Staff and
agents go through the store's own functions (contactd.store.staff.add,
contactd.store.agents.save_profile and set_state), as the CLI and the API write them.
"""

from __future__ import annotations

import random
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from channels.ports import OUTBOX_KINDS
from contactd import metrics, settings
from contactd.services import statistics
from contactd.store import agents as store_agents
from contactd.store import database
from contactd.store import staff as store_staff
from routing.agents import AgentState
from routing.contact import Channel, Language
from routing.goals import Unit
from routing.queues import Queue

CHANNELS = ("call", "callback", "email", "ticket")
MIB = 2**20
# The column default of agents.capacity (schema.sql): what an agent added without one has.
CAPACITY = {Channel.CALL: 1, Channel.CALLBACK: 1, Channel.EMAIL: 3, Channel.TICKET: 1}


# An agent to add: login, skills, languages, state.
Profile = tuple[str, Mapping[str, int], frozenset[Language], AgentState]


def log(message: str) -> None:
    print(f"[bench.metrics] {message}", file=sys.stderr, flush=True)


async def add_agents(
    conn: database.Conn,
    profiles: Sequence[Profile],
    *,
    known: frozenset[str],
    created: datetime,
    now: datetime,
) -> list[int]:
    """Each (login, skills, languages, state) as staff (created at `created`) with an agent
    profile in that state since `now`; their ids, in order."""
    ids = []
    for i, (login, skills, languages, state) in enumerate(profiles, 1):
        person, _ = await store_staff.add(
            conn, login=login, name=f"Agent {i}", role=store_staff.Role.AGENT, now=created
        )
        await store_agents.save_profile(
            conn,
            person.id,
            skills=skills,
            languages=languages,
            capacity=CAPACITY,
            known_case_types=known,
            now=now,
        )
        await store_agents.set_state(conn, person.id, state, now=now)
        ids.append(person.id)
    return ids


# --- a day of traffic (/metrics) ----------------------------------------------------------

CONTACT_COLUMNS = (
    "reference", "channel", "case_type", "case_type_source", "language", "queue", "priority",
    "state", "created_at", "state_changed_at", "queued_at", "answered_at", "closed_at",
    "due_at", "client_address", "subject", "agent_id", "attempts", "outcome", "not_before",
    "first_response_at",
)  # fmt: skip


class DayRows:
    """The day's contacts as COPY records, counted by state."""

    def __init__(self, rng: random.Random, start: datetime, now: datetime) -> None:
        self.rng = rng
        self.start = start
        self.now = now
        self.day = now - start
        self.rows: list[tuple[Any, ...]] = []
        self.count: Counter[str] = Counter()

    def fit(self, wanted: timedelta) -> timedelta:
        """Everything finished today fits in the day so far, as the statistics read it (each
        wait at most a sixth of it, in the first minutes after midnight too)."""
        return min(wanted, self.day / 6)

    def add(
        self, q: Queue, channel: str, state: str, created: datetime, *,
        answered: datetime | None = None, closed: datetime | None = None,
        outcome: str | None = None, agent: int | None = None,
        not_before: datetime | None = None, first_response: datetime | None = None,
    ) -> None:  # fmt: skip
        goal = q.goals[Channel(channel)]
        amount = goal.threshold.amount
        due = created + (
            timedelta(seconds=metrics.threshold_seconds(q, Channel(channel)) or 0)
            if goal.threshold.unit in (Unit.SECONDS, Unit.MINUTES, Unit.HOURS)
            else timedelta(days=amount * 1.4 if channel == "email" else amount / 6)
        )
        if not_before is not None:
            due = not_before + timedelta(hours=4)
        changed = closed or answered or created
        n = len(self.rows)
        self.rows.append((
            f"M{n:07d}", channel, self.rng.choice(sorted(q.case_types)), "staff",
            self.rng.choice(("da", "en")), q.code, q.priority, state, created, changed, created,
            answered, closed, due, f"+4520{n:06d}", None, agent,
            1 if answered else 0, outcome, not_before, first_response,
        ))  # fmt: skip
        self.count[state] += 1

    def waiting(self, q: Queue, channel: str, count: int) -> None:
        rng, now = self.rng, self.now
        for _ in range(count):
            if channel == "email":
                self.add(q, channel, "queued", now - timedelta(hours=rng.uniform(0, 100)))
            elif channel == "callback":
                booked = now - timedelta(hours=rng.uniform(0, 5))
                opens = booked + timedelta(hours=rng.uniform(0.5, 6))
                self.add(q, channel, "queued", booked, not_before=opens)
            else:
                wait = 600 if channel == "call" else 2400
                self.add(q, channel, "queued", now - timedelta(seconds=rng.uniform(0, wait)))

    def answered(self, q: Queue, channel: str, staff: Sequence[int]) -> None:
        """The day so far: answered (within and after the goal)."""
        rng, fit = self.rng, self.fit
        for _ in range(rng.randint(20, 60)):
            created = self.start + rng.uniform(0.02, 0.4) * self.day
            waited = fit(timedelta(seconds=rng.expovariate(1 / 120)))
            if channel == "email":
                waited = fit(timedelta(hours=rng.uniform(0, 2)))
                self.add(q, channel, "done", created, answered=created + waited,
                         closed=created + waited * 2,
                         first_response=created + waited * 1.5)  # fmt: skip
            elif channel == "callback":
                opens = created + fit(timedelta(minutes=10))
                reached = rng.random() < 0.85
                self.add(q, channel, "done", created, not_before=opens,
                         answered=opens + waited,
                         closed=opens + waited + fit(timedelta(minutes=4)),
                         outcome=None if reached else "not_reached")  # fmt: skip
            else:
                handled = fit(timedelta(seconds=rng.uniform(60, 600)))
                self.add(q, channel, "done", created, answered=created + waited,
                         closed=created + waited + handled, agent=rng.choice(staff))  # fmt: skip

    def abandoned(self, q: Queue, channel: str) -> None:
        """The day so far: abandoned (some at once)."""
        for _ in range(self.rng.randint(2, 10)):
            created = self.start + self.rng.uniform(0.02, 0.4) * self.day
            left = self.fit(timedelta(seconds=self.rng.choice((2, 30, 200, 900))))
            outcome = "no_show" if channel == "ticket" else None
            self.add(q, channel, "abandoned", created, closed=created + left, outcome=outcome)


def day_agents(rng: random.Random, kinds: Sequence[str], agents: int) -> list[Profile]:
    """`agents` agents with three skills each: 100 offline, 40 away, 40 in wrap-up, the rest
    available."""
    states = [AgentState.OFFLINE] * 100 + [AgentState.AWAY] * 40 + [AgentState.WRAP_UP] * 40
    states += [AgentState.AVAILABLE] * (agents - len(states))
    profiles: list[Profile] = []
    for i, state in enumerate(states, 1):
        # The draws in this order: skills, then languages (the same agents run after run).
        skills = {ct: rng.randint(1, 5) for ct in rng.sample(kinds, 3)}
        both = rng.random() < 0.6
        languages = frozenset({Language.DA, Language.EN} if both else {Language.DA})
        profiles.append((f"agent{i:04d}", skills, languages, state))
    return profiles


async def traffic(url: str, config: settings.Settings, agents: int, waiting: int) -> dict[str, int]:
    """Agents and the day's contacts so far."""
    rng = random.Random(8)
    kinds = list(config.case_types)
    now = datetime.now(UTC)
    start = statistics.day_start(now, config.timezone)
    conn = await database.connect(url)
    try:
        profiles = day_agents(rng, kinds, agents)
        staff = await add_agents(conn, profiles, known=frozenset(kinds), created=start, now=now)
        available = [
            sid
            for sid, profile in zip(staff, profiles, strict=True)
            if profile[3] is AgentState.AVAILABLE
        ]
        day = DayRows(rng, start, now)
        pairs = [(q, ch) for q in config.queues for ch in CHANNELS if Channel(ch) in q.channels]
        per_pair = waiting // len(pairs)
        for q, channel in pairs:
            day.waiting(q, channel, rng.randint(per_pair // 2, per_pair * 3 // 2))
            day.answered(q, channel, staff)
            day.abandoned(q, channel)
        for agent in available[:250]:  # each holds one contact now
            q, channel = rng.choice(pairs)
            created = now - timedelta(minutes=rng.uniform(1, 20))
            day.add(q, channel, "active", created, answered=created + timedelta(minutes=1),
                    agent=agent)  # fmt: skip
        await conn.copy_records_to_table("contacts", records=day.rows, columns=CONTACT_COLUMNS)
        await _day_answers_and_outbox(conn, now)
    finally:
        await conn.close()
    return {"staff_agents": agents, "contacts": len(day.rows), **dict(day.count)}


async def _day_answers_and_outbox(conn: database.Conn, now: datetime) -> None:
    # Satisfaction answers today: three for every queue and channel.
    await conn.execute("""
        INSERT INTO csat (contact_id, queue, channel, asked_at, via, expires_at, score,
                          answered_at)
        SELECT id, queue, channel, closed_at, 'sms', closed_at + interval '14 days',
               1 + n % 5, closed_at + interval '1 minute'
        FROM (SELECT id, queue, channel, closed_at,
                     row_number() OVER (PARTITION BY queue, channel ORDER BY id) AS n
              FROM contacts WHERE state = 'done') c
        WHERE n <= 3
        """)
    # Messages waiting for every kind (not due yet, so the outbox leaves them).
    await conn.execute(
        """
        INSERT INTO outbox (kind, payload, idempotency_key, created_at, next_attempt_at)
        SELECT k, '{}', 'bench-' || k || '-' || g, $2, $2::timestamptz + interval '1 day'
        FROM unnest($1::text[]) k, generate_series(1, 3) g
        """,
        list(OUTBOX_KINDS),
        now,
    )
    await conn.execute("ANALYZE")


# --- a year of contacts (the statistics pass) ---------------------------------------------

HISTORY_SQL = (Path(__file__).parent / "history.sql").read_text(encoding="utf-8")


def history_parameters(config: settings.Settings, channel: Channel) -> tuple[list[Any], ...]:
    """Per case type: the queue intake gives it on `channel`, its priority and due time."""
    kinds, codes, priorities, due = [], [], [], []
    for kind in config.case_types:
        q = next(q for q in config.queues if kind in q.case_types and channel in q.channels)
        seconds = metrics.threshold_seconds(q, channel)
        if seconds is None:  # working time: callbacks' window of 4 h, e-mails in calendar days
            goal = q.goals[channel].threshold
            seconds = 4 * 3600 if channel is Channel.CALLBACK else goal.amount * 1.4 * 86400
        kinds.append(kind)
        codes.append(q.code)
        priorities.append(q.priority)
        due.append(float(seconds))
    return kinds, codes, priorities, due


def year_agents(kinds: Sequence[str]) -> list[Profile]:
    """400 agents, agent1..agent400; agent i (staff id i in a fresh database) with two skills
    and a state drawn from i."""
    states = (AgentState.OFFLINE, AgentState.AVAILABLE, AgentState.AWAY, AgentState.WRAP_UP)
    profiles: list[Profile] = []
    for i in range(1, 401):
        skills = {kinds[i % len(kinds)]: 3}
        skills[kinds[(i // 3) % len(kinds)]] = 2  # the same case type twice: level 2
        profiles.append((f"agent{i}", skills, frozenset({Language.DA}), states[i % 4]))
    return profiles


async def year_of_contacts(
    url: str, config: settings.Settings, total: int, now: datetime
) -> dict[str, Any]:
    today = now.astimezone(config.timezone).date()
    conn = await database.connect(url, command_timeout=3600)
    try:
        await conn.execute("SELECT setseed(0.8)")
        agents = await add_agents(
            conn,
            year_agents(list(config.case_types)),
            known=frozenset(config.case_types),
            created=now - timedelta(days=365),
            now=now,
        )
        # Each agent's skills were drawn from the id it would get: a fresh database's.
        assert agents == list(range(1, len(agents) + 1)), "bench.fixtures: not a fresh database"
        await _history(conn, config, total, now, today, agents)
        await _year_answers_and_outbox(conn, now)
        started = time.perf_counter()
        await conn.execute("VACUUM ANALYZE")
        log(f"statistics: VACUUM ANALYZE in {time.perf_counter() - started:.0f} s")
        rows = await conn.fetch(
            "SELECT CASE WHEN state IN ('queued', 'offered', 'active') THEN 'live' "
            "ELSE 'finished' END AS kind, count(*) AS n FROM contacts GROUP BY 1"
        )
        start = statistics.day_start(now, config.timezone)
        today_rows = await conn.fetch(
            "SELECT channel, count(*) AS n FROM contacts WHERE created_at >= $1 GROUP BY 1", start
        )
        size = await conn.fetchval("SELECT pg_total_relation_size('contacts')")
    finally:
        await conn.close()
    return {
        **{f"contacts_{r['kind']}": r["n"] for r in rows},
        "created_today": {r["channel"]: r["n"] for r in today_rows},
        "contacts_table_with_indexes_mib": round(size / MIB, 1),
    }


async def _history(
    conn: database.Conn,
    config: settings.Settings,
    total: int,
    now: datetime,
    today: date,
    agents: list[int],
) -> None:
    shares = {"call": 0.68, "callback": 0.05, "email": 0.12, "ticket": 0.15}
    # Today until 14:00: 1,500 calls, 60 callbacks, 200 e-mails, 250 tickets (the query
    # spreads them over the whole opening day and keeps those created by now).
    today_counts = {"call": 1800, "callback": 72, "email": 343, "ticket": 250}
    for channel, share in shares.items():
        params = history_parameters(config, Channel(channel))
        for prefix, n, days in (
            (f"H-{channel}-", round(total * share), 365),
            (f"T-{channel}-", today_counts[channel], 0),
        ):
            started = time.perf_counter()
            await conn.execute(HISTORY_SQL, n, prefix, today, days, channel, now, *params, agents)
            took = time.perf_counter() - started
            log(f"statistics: {n:,} {channel} ({prefix}) in {took:.0f} s")


async def _year_answers_and_outbox(conn: database.Conn, now: datetime) -> None:
    await conn.execute("""
        INSERT INTO csat (contact_id, queue, channel, asked_at, via, expires_at, score,
                          answered_at)
        SELECT id, queue, channel, closed_at + interval '5 minutes',
               CASE channel WHEN 'email' THEN 'email' ELSE 'sms' END,
               closed_at + interval '14 days', 1 + (id % 5),
               closed_at + interval '5 minutes' + (id % 120) * interval '1 minute'
        FROM contacts WHERE state = 'done' AND id % 20 = 0
        """)
    await conn.execute(
        "UPDATE csat SET answered_at = NULL, score = NULL WHERE answered_at > $1", now
    )
    await conn.execute("""
        INSERT INTO outbox (contact_id, kind, payload, idempotency_key, created_at,
                            next_attempt_at, attempts, sent_at)
        SELECT id, CASE channel WHEN 'email' THEN 'email' ELSE 'sms' END,
               jsonb_build_object('template', 'acknowledgement'), 'ack-' || id,
               created_at, created_at, 1, created_at + interval '2 seconds'
        FROM contacts WHERE channel IN ('email', 'callback')
        """)
    await conn.execute(
        "INSERT INTO outbox (kind, payload, idempotency_key, created_at, next_attempt_at) "
        "SELECT 'sms', '{}', 'pending-' || g, $1, $1 FROM generate_series(1, 5) g",
        now,
    )
