"""The leader's statistics: today's service figures, the queues now and staffing advice.

One pass reads the database (contactd/store/sql/statistics.sql: only today's and the live
contacts) and turns the rows into a Snapshot; the leader exports it on /metrics
(contactd/metrics.py), `contactd staffing` prints it, and `contactd report` uses the same
counts for any past day. The figures are those of docs/reference/kpi.md (routing/figures.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import structlog

from contactd.metrics import threshold_seconds
from contactd.settings import Settings, StaffingConfig
from contactd.store import database, queries
from contactd.store.contacts import Executor
from routing import erlang, figures
from routing.contact import Channel
from routing.figures import Counts
from routing.queues import Queue

log = structlog.get_logger(__name__)

Key = tuple[str, Channel]  # (queue, channel)
AGENT_STATES = ("available", "busy", "wrap_up", "away")
REAL_TIME = (Channel.CALL, Channel.TICKET)  # the channels Erlang staffing is computed for
UP_STATES = frozenset({"idle", "polling"})  # a mailbox that reads (channels/email/imap.py)
# Fewer abandons than this say little about patience: the configured default is used.
MIN_ABANDONS_FOR_PATIENCE = 10


@dataclasses.dataclass(frozen=True, kw_only=True)
class Live:
    waiting: int = 0
    oldest_wait_seconds: float = 0.0
    overdue: int = 0
    callbacks_due: int = 0


@dataclasses.dataclass(frozen=True, kw_only=True)
class Advice:
    """Erlang staffing for one queue's real-time channel."""

    arrivals_per_second: float
    handle_seconds: float
    patience_seconds: float
    agents: int  # signed in now with a skill for the queue
    required_c: int
    required_a: int
    service_level_c: float  # what the agents signed in now give, by Erlang C
    service_level_a: float


@dataclasses.dataclass(frozen=True, kw_only=True)
class Snapshot:
    at: datetime
    today: Mapping[Key, Counts]
    live: Mapping[Key, Live]
    callbacks: Mapping[str, tuple[int, int]]  # queue -> (due, reached in window) today
    email_response: Mapping[str, float]  # queue -> mean business seconds to first answer
    queue_agents: Mapping[str, Mapping[str, int]]  # queue -> state -> agents
    agents: Mapping[str, int]  # state -> agents (with offline)
    staffing: Mapping[Key, Advice]
    outbox: Mapping[str, int]  # kind -> pending
    outbox_oldest_seconds: float
    channels: Mapping[str, tuple[bool, datetime]]  # name -> (up, checked at)
    csat: Mapping[Key, tuple[int, float]]  # (answers, mean score) today


@dataclasses.dataclass(frozen=True, kw_only=True)
class StatisticsConfig:
    """What a statistics pass needs of the configuration, and nothing more."""

    timezone: ZoneInfo  # the agency's day
    queues: tuple[Queue, ...]
    staffing: StaffingConfig
    wrap_up_seconds: float  # after every contact (routing.wrap_up_seconds)
    ticket_handle_seconds: float  # a ticket's, before any is finished (tickets.*)

    @classmethod
    def from_settings(cls, settings: Settings) -> StatisticsConfig:
        return cls(
            timezone=settings.timezone,
            queues=settings.queues,
            staffing=settings.staffing,
            wrap_up_seconds=settings.routing.wrap_up_seconds,
            ticket_handle_seconds=settings.tickets.default_handle_minutes * 60,
        )


def day_start(at: datetime, timezone: ZoneInfo) -> datetime:
    """Local midnight of the day `at` falls on (the day has 23 or 25 hours at DST)."""
    return local_midnight(at.astimezone(timezone).date(), timezone)


def local_midnight(day: date, timezone: ZoneInfo) -> datetime:
    """In UTC: a difference between two local times of one zone would ignore a DST change."""
    return datetime(day.year, day.month, day.day, tzinfo=timezone).astimezone(UTC)


async def counts_between(
    db: Executor, start: datetime, end: datetime, now: datetime | None = None
) -> dict[Key, Counts]:
    """The contacts whose wait ended in [start, end), and the callbacks whose window ended
    in it by `now` (default: `end`) or that were reached already (kpi.md)."""
    rows = await db.fetch(queries.get("statistics_ended"), start, end)
    counts = {
        (r["queue"], Channel(r["channel"])): Counts(
            answered=r["answered"],
            answered_within=r["answered_within"],
            abandoned=r["abandoned"],
            abandoned_short=r["abandoned_short"],
            abandoned_within=r["abandoned_within"],
            answered_wait_seconds=r["answered_wait_seconds"],
            abandoned_wait_seconds=r["abandoned_wait_seconds"],
        )
        for r in rows
    }
    callbacks = await db.fetch(queries.get("statistics_callbacks"), start, end, now or end)
    for r in callbacks:
        counts[r["queue"], Channel.CALLBACK] = Counts(
            answered=r["reached"],
            answered_within=r["reached_in_window"],
            abandoned=r["due"] - r["reached"],  # a broken promise, whenever it was given up
            answered_wait_seconds=r["reached_wait_seconds"],
        )
    return counts


def callback_compliance(counts: Mapping[Key, Counts]) -> dict[str, tuple[int, int]]:
    """Per queue: callbacks due, and those reached inside their window."""
    return {
        queue: (c.offered, c.answered_within)
        for (queue, channel), c in counts.items()
        if channel is Channel.CALLBACK
    }


async def email_response_between(
    db: Executor, queues: Sequence[Queue], start: datetime, end: datetime
) -> dict[str, float]:
    """Mean time to the first answer per queue, in the open hours of its e-mail calendar."""
    by_code = {q.code: q for q in queues}
    spent: dict[str, list[float]] = defaultdict(list)
    for r in await db.fetch(queries.get("statistics_email_responses"), start, end):
        queue = by_code.get(r["queue"])
        if queue is None:  # a queue removed from the configuration
            continue
        calendar = queue.calendar_for(Channel.EMAIL)
        business = calendar.business_time(r["created_at"], r["first_response_at"])
        spent[queue.code].append(business.total_seconds())
    return {code: sum(v) / len(v) for code, v in spent.items()}


async def snapshot(conn: database.Conn, config: StatisticsConfig, now: datetime) -> Snapshot:
    """One statistics pass, in one read-only transaction so the figures agree."""
    zone = config.timezone
    start = day_start(now, zone)
    end = local_midnight(start.astimezone(zone).date() + timedelta(days=1), zone)
    window = now - timedelta(minutes=config.staffing.window_minutes)
    handle_window = now - timedelta(minutes=config.staffing.handle_window_minutes)
    async with conn.transaction(readonly=True, isolation="repeatable_read"):
        today = await counts_between(conn, start, end, now)
        live = {
            (r["queue"], Channel(r["channel"])): Live(
                waiting=r["waiting"],
                oldest_wait_seconds=r["oldest_wait_seconds"],
                overdue=r["overdue"],
                callbacks_due=r["callbacks_due"],
            )
            for r in await conn.fetch(queries.get("statistics_live"), now)
        }
        email = await email_response_between(conn, config.queues, start, end)
        agent_rows = await conn.fetch(queries.get("statistics_agents"))
        arrivals = {
            (r["queue"], Channel(r["channel"])): r["arrivals"]
            for r in await conn.fetch(queries.get("statistics_arrivals"), window)
        }
        handling = {
            (r["queue"], Channel(r["channel"])): r["handle_seconds"]
            for r in await conn.fetch(queries.get("statistics_handling"), handle_window)
        }
        outbox_rows = await conn.fetch(queries.get("statistics_outbox"))
        channel_rows = await conn.fetch(queries.get("statistics_channels"))
        csat_rows = await conn.fetch(queries.get("statistics_csat"), start)
    queue_agents, agents, staffed = _agents(agent_rows, config.queues)
    # Erlang for every queue is the pass's one heavy computation: off the event loop.
    staffing = await asyncio.to_thread(_staffing, config, arrivals, handling, today, staffed)
    oldest = min((r["oldest"] for r in outbox_rows), default=None)
    return Snapshot(
        at=now,
        today=today,
        live=live,
        callbacks=callback_compliance(today),
        email_response=email,
        queue_agents=queue_agents,
        agents=agents,
        staffing=staffing,
        outbox={r["kind"]: r["pending"] for r in outbox_rows},
        outbox_oldest_seconds=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0,
        channels={r["name"]: (r["state"] in UP_STATES, r["checked_at"]) for r in channel_rows},
        csat={
            (r["queue"], Channel(r["channel"])): (r["answers"], r["mean_score"]) for r in csat_rows
        },
    )


def _agents(
    rows: list[asyncpg.Record], queues: tuple[Queue, ...]
) -> tuple[dict[str, dict[str, int]], dict[str, int], dict[str, int]]:
    """Agents per queue by state, all agents by state, and those signed in per queue."""
    per_queue: dict[str, dict[str, int]] = {q.code: dict.fromkeys(AGENT_STATES, 0) for q in queues}
    overall = dict.fromkeys((*AGENT_STATES, "offline"), 0)
    staffed = dict.fromkeys((q.code for q in queues), 0)
    for r in rows:
        state = "busy" if r["busy"] and r["state"] != "offline" else r["state"]
        overall[state] += 1
        if state == "offline":
            continue
        skills = set(r["case_types"])
        for q in queues:
            if skills & q.case_types:
                per_queue[q.code][state] += 1
                if state != "away":
                    staffed[q.code] += 1
    return per_queue, overall, staffed


def _staffing(
    config: StatisticsConfig,
    arrivals: Mapping[Key, int],
    handling: Mapping[Key, float],
    today: Mapping[Key, Counts],
    staffed: Mapping[str, int],
) -> dict[Key, Advice]:
    staffing = config.staffing
    window = staffing.window_minutes * 60
    advice: dict[Key, Advice] = {}
    for q in config.queues:
        for channel in REAL_TIME:
            target = threshold_seconds(q, channel)
            if channel not in q.channels or target is None:
                continue
            key = (q.code, channel)
            rate = arrivals.get(key, 0) / window
            # Before any is finished: the configured handling time (the tickets' own for them).
            default = staffing.default_handle_seconds
            if channel is Channel.TICKET:
                default = config.ticket_handle_seconds
            handle = handling.get(key, default) + config.wrap_up_seconds
            counts = today.get(key, Counts())
            patience = (
                figures.patience(counts) if counts.abandoned >= MIN_ABANDONS_FOR_PATIENCE else None
            )
            patience = patience or staffing.default_patience_seconds
            goal = q.goals[channel]
            agents = staffed.get(q.code, 0)
            load = rate * handle
            occupancy = staffing.max_occupancy
            advice[key] = Advice(
                arrivals_per_second=rate,
                handle_seconds=handle,
                patience_seconds=patience,
                agents=agents,
                required_c=erlang.agents_required(
                    load, handle, target, goal.target, max_occupancy=occupancy
                ),
                required_a=erlang.agents_required_a(
                    rate, handle, patience, target, goal.target, max_occupancy=occupancy
                ),
                service_level_c=(
                    erlang.erlang_c(agents, load, handle, target).service_level if rate else 1.0
                ),
                service_level_a=(
                    erlang.erlang_a(agents, rate, handle, patience, target).service_level
                    if rate
                    else 1.0
                ),
            )
    return advice


def table(snap: Snapshot) -> Iterator[tuple[str, ...]]:
    """`contactd staffing`: one row per queue and real-time channel."""
    yield (
        "queue", "channel", "waiting", "arrivals/h", "AHT s", "patience s", "agents",
        "need (C)", "need (A)", "SL now (C)", "SL now (A)",
    )  # fmt: skip
    for (queue, channel), a in sorted(snap.staffing.items()):
        now = snap.live.get((queue, channel), Live())
        yield (
            queue,
            str(channel),
            str(now.waiting),
            f"{a.arrivals_per_second * 3600:.1f}",
            f"{a.handle_seconds:.0f}",
            f"{a.patience_seconds:.0f}",
            str(a.agents),
            str(a.required_c),
            str(a.required_a),
            f"{a.service_level_c:.1%}",
            f"{a.service_level_a:.1%}",
        )
