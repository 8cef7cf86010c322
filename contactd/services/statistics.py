"""The leader's statistics: today's service figures, the queues now and staffing advice.

One pass reads the database (contactd/store/sql/statistics.sql: only today's and the live
contacts) and turns the rows into a Snapshot; the leader exports it on /metrics
(contactd/metrics.py), `contactd staffing` prints it, and `contactd report` uses the same
counts for any past day. The figures are those of docs/reference/kpi.md (routing/figures.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta

import asyncpg
import structlog
from prometheus_client.core import GaugeMetricFamily, Metric

from contactd.leader import outbox
from contactd.metrics import LeaderFigures, threshold_seconds
from contactd.settings import Settings
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


def day_start(at: datetime, settings: Settings) -> datetime:
    """Local midnight of the day `at` falls on (the day has 23 or 25 hours at DST)."""
    return local_midnight(at.astimezone(settings.timezone).date(), settings)


def local_midnight(day: date, settings: Settings) -> datetime:
    """In UTC: a difference between two local times of one zone would ignore a DST change."""
    return datetime(day.year, day.month, day.day, tzinfo=settings.timezone).astimezone(UTC)


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
    db: Executor, settings: Settings, start: datetime, end: datetime
) -> dict[str, float]:
    """Mean time to the first answer per queue, in the open hours of its e-mail calendar."""
    by_code = {q.code: q for q in settings.queues}
    spent: dict[str, list[float]] = defaultdict(list)
    for r in await db.fetch(queries.get("statistics_email_responses"), start, end):
        queue = by_code.get(r["queue"])
        if queue is None:  # a queue removed from the configuration
            continue
        calendar = queue.calendar_for(Channel.EMAIL)
        business = calendar.business_time(r["created_at"], r["first_response_at"])
        spent[queue.code].append(business.total_seconds())
    return {code: sum(v) / len(v) for code, v in spent.items()}


async def snapshot(conn: database.Conn, settings: Settings, now: datetime) -> Snapshot:
    """One statistics pass, in one read-only transaction so the figures agree."""
    start = day_start(now, settings)
    end = local_midnight(start.astimezone(settings.timezone).date() + timedelta(days=1), settings)
    window = now - timedelta(minutes=settings.staffing.window_minutes)
    handle_window = now - timedelta(minutes=settings.staffing.handle_window_minutes)
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
        email = await email_response_between(conn, settings, start, end)
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
    queue_agents, agents, staffed = _agents(agent_rows, settings.queues)
    # Erlang for every queue is the pass's one heavy computation: off the event loop.
    staffing = await asyncio.to_thread(_staffing, settings, arrivals, handling, today, staffed)
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
    settings: Settings,
    arrivals: Mapping[Key, int],
    handling: Mapping[Key, float],
    today: Mapping[Key, Counts],
    staffed: Mapping[str, int],
) -> dict[Key, Advice]:
    config = settings.staffing
    window = config.window_minutes * 60
    advice: dict[Key, Advice] = {}
    for q in settings.queues:
        for channel in REAL_TIME:
            target = threshold_seconds(q, channel)
            if channel not in q.channels or target is None:
                continue
            key = (q.code, channel)
            rate = arrivals.get(key, 0) / window
            # Before any is finished: the configured handling time (the tickets' own for them).
            default = config.default_handle_seconds
            if channel is Channel.TICKET:
                default = settings.tickets.default_handle_minutes * 60
            handle = handling.get(key, default) + settings.routing.wrap_up_seconds
            counts = today.get(key, Counts())
            patience = (
                figures.patience(counts) if counts.abandoned >= MIN_ABANDONS_FOR_PATIENCE else None
            )
            patience = patience or config.default_patience_seconds
            goal = q.goals[channel]
            agents = staffed.get(q.code, 0)
            load = rate * handle
            occupancy = config.max_occupancy
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


def families(snap: Snapshot, settings: Settings, duration: float) -> list[Metric]:
    """The snapshot as the leader-only metrics of docs/reference/metrics.md."""
    qc = ["queue", "channel"]
    out: dict[str, GaugeMetricFamily] = {}

    def gauge(name: str, doc: str, labels: list[str]) -> GaugeMetricFamily:
        family = out[name] = GaugeMetricFamily(name, doc, labels=labels)
        return family

    waiting = gauge("contactd_queue_waiting", "Contacts waiting.", qc)
    oldest = gauge("contactd_queue_oldest_wait_seconds", "The longest wait now.", qc)
    overdue = gauge("contactd_queue_overdue", "Live contacts past their due time.", qc)
    target = gauge("contactd_service_goal_target_ratio", "The goal's target.", qc)
    variant = gauge("contactd_service_goal_variant", "The goal's SL variant (1-5).", qc)
    threshold = gauge(
        "contactd_service_goal_threshold_seconds", "The goal's wall-clock threshold.", qc
    )
    answered = gauge("contactd_today_answered", "Answered today.", qc)
    abandoned = gauge("contactd_today_abandoned", "Abandoned today.", qc)
    sl = gauge("contactd_service_level_ratio", "Today's service level, by the goal's variant.", qc)
    rate = gauge("contactd_answer_rate_ratio", "Today's answered / offered.", qc)
    aband = gauge("contactd_abandonment_ratio", "Today's abandoned / offered.", qc)
    asa = gauge("contactd_asa_seconds", "Today's average speed of answer.", qc)
    for q in settings.queues:
        for channel in sorted(q.channels):
            key, labels = (q.code, channel), [q.code, str(channel)]
            goal = q.goals[channel]
            now = snap.live.get(key, Live())
            waiting.add_metric(labels, now.waiting)
            oldest.add_metric(labels, now.oldest_wait_seconds)
            overdue.add_metric(labels, now.overdue)
            target.add_metric(labels, goal.target)
            variant.add_metric(labels, goal.sl_variant)
            if (seconds := threshold_seconds(q, channel)) is not None:
                threshold.add_metric(labels, seconds)
            counts = snap.today.get(key, Counts())
            answered.add_metric(labels, counts.answered)
            abandoned.add_metric(labels, counts.abandoned)
            for family, value in (
                (sl, figures.service_level(counts, goal.sl_variant)),
                (rate, _answer_rate(channel, counts)),
                (aband, figures.abandonment(counts)),
                (asa, figures.average_speed_of_answer(counts)),
            ):
                if value is not None:  # no traffic: no figure, never NaN
                    family.add_metric(labels, value)
    _queue_families(snap, settings, gauge)
    _staffing_families(snap, gauge)
    _system_families(snap, gauge, duration)
    return list(out.values())


def _answer_rate(channel: Channel, counts: Counts) -> float | None:
    if channel is Channel.CALLBACK:  # reached in their window / due (kpi.md)
        return counts.answered_within / counts.offered if counts.offered else None
    return figures.answer_rate(counts)


Gauge = Callable[[str, str, list[str]], GaugeMetricFamily]


def _queue_families(snap: Snapshot, settings: Settings, gauge: Gauge) -> None:
    compliance = gauge(
        "contactd_callback_compliance_ratio",
        "Today's callbacks reached in their window.",
        ["queue"],
    )
    due = gauge("contactd_callbacks_due", "Callbacks whose window is open, waiting.", ["queue"])
    email = gauge(
        "contactd_email_first_response_business_seconds",
        "Mean business time to the first answer of e-mails answered today.",
        ["queue"],
    )
    per_queue = gauge(
        "contactd_queue_agents", "Agents with a skill for the queue.", ["queue", "state"]
    )
    for q in settings.queues:
        if Channel.CALLBACK in q.channels:
            due_today, reached = snap.callbacks.get(q.code, (0, 0))
            if due_today:
                compliance.add_metric([q.code], reached / due_today)
            waiting = snap.live.get((q.code, Channel.CALLBACK), Live())
            due.add_metric([q.code], waiting.callbacks_due)
        if q.code in snap.email_response:
            email.add_metric([q.code], snap.email_response[q.code])
        for state, count in snap.queue_agents.get(q.code, {}).items():
            per_queue.add_metric([q.code, state], count)
    agents = gauge("contactd_agents", "Agents by state.", ["state"])
    for state, count in snap.agents.items():
        agents.add_metric([state], count)
    score = gauge("contactd_csat_score", "Today's mean satisfaction score.", ["queue", "channel"])
    answers = gauge("contactd_csat_answers", "Today's satisfaction answers.", ["queue", "channel"])
    asked = {(q.code, ch) for q in settings.queues if q.csat_share > 0 for ch in q.channels}
    for queue, channel in sorted(asked | set(snap.csat)):
        count, mean = snap.csat.get((queue, channel), (0, 0.0))
        answers.add_metric([queue, str(channel)], count)
        if count:  # a mean of no answers is no figure
            score.add_metric([queue, str(channel)], mean)


def _staffing_families(snap: Snapshot, gauge: Gauge) -> None:
    qc = ["queue", "channel"]
    arrivals = gauge("contactd_staffing_arrivals_per_second", "The live arrival rate.", qc)
    handle = gauge("contactd_staffing_handle_seconds", "The average handling time.", qc)
    patience = gauge("contactd_staffing_patience_seconds", "The callers' mean patience.", qc)
    staffed = gauge("contactd_staffing_agents", "Agents signed in for the queue.", ["queue"])
    required = gauge("contactd_staffing_agents_required", "Agents needed now.", [*qc, "model"])
    level = gauge(
        "contactd_staffing_service_level_ratio", "The SL the agents now give.", [*qc, "model"]
    )
    seen: set[str] = set()
    for (queue, channel), a in snap.staffing.items():
        labels = [queue, str(channel)]
        arrivals.add_metric(labels, a.arrivals_per_second)
        handle.add_metric(labels, a.handle_seconds)
        patience.add_metric(labels, a.patience_seconds)
        required.add_metric([*labels, "erlang_c"], a.required_c)
        required.add_metric([*labels, "erlang_a"], a.required_a)
        level.add_metric([*labels, "erlang_c"], a.service_level_c)
        level.add_metric([*labels, "erlang_a"], a.service_level_a)
        if queue not in seen:
            seen.add(queue)
            staffed.add_metric([queue], a.agents)


def _system_families(snap: Snapshot, gauge: Gauge, duration: float) -> None:
    pending = gauge("contactd_outbox_pending", "Messages waiting to be sent.", ["kind"])
    for kind in sorted(set(outbox.KINDS) | set(snap.outbox)):  # 0 for a kind with none
        pending.add_metric([kind], snap.outbox.get(kind, 0))
    gauge("contactd_outbox_oldest_pending_seconds", "The oldest message waiting.", []).add_metric(
        [], snap.outbox_oldest_seconds
    )
    # `connection`, not `channel`: everywhere else a channel is call, callback, email, ticket.
    up = gauge("contactd_channel_up", "1 when the channel's connection works.", ["connection"])
    checked = gauge(
        "contactd_channel_checked_timestamp_seconds", "When it was last checked.", ["connection"]
    )
    for name, (is_up, at) in snap.channels.items():
        up.add_metric([name], 1.0 if is_up else 0.0)
        checked.add_metric([name], at.timestamp())
    gauge("contactd_statistics_duration_seconds", "How long the last pass took.", []).add_metric(
        [], duration
    )
    gauge("contactd_statistics_timestamp_seconds", "When the last pass finished.", []).add_metric(
        [], snap.at.timestamp()
    )


async def run(
    pool: asyncpg.Pool,
    settings: Settings,
    figures_out: LeaderFigures,
    clock: Callable[[], datetime],
) -> None:
    """The leader loop: a pass every `metrics.statistics_seconds`. A failed pass keeps the
    last figures (contactd_statistics_timestamp_seconds shows how old they are)."""
    every = settings.metrics.statistics_seconds
    try:
        while True:
            started = time.perf_counter()
            try:
                async with pool.acquire() as conn:
                    snap = await snapshot(conn, settings, clock())
            except database.ANY_ERROR as exc:
                log.warning("statistics.failed", error=type(exc).__name__)
            else:
                figures_out.update(families(snap, settings, time.perf_counter() - started))
            await asyncio.sleep(every)
    finally:
        figures_out.update([])  # a follower exports none of them


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
