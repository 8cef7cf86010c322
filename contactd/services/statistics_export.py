"""The leader's statistics as Prometheus gauges: each queue's figures today and now, the
staffing advice and the state of the system, from one Snapshot (contactd/services/statistics.py).
docs/reference/metrics.md lists every name."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from datetime import datetime

import asyncpg
import structlog
from prometheus_client.core import GaugeMetricFamily, Metric

from channels.ports import OUTBOX_KINDS
from contactd.metrics import LeaderFigures, threshold_seconds
from contactd.services.statistics import Live, Snapshot, StatisticsConfig, snapshot
from contactd.store import database
from routing import figures
from routing.contact import Channel
from routing.figures import Counts
from routing.queues import Queue

log = structlog.get_logger(__name__)


def families(snap: Snapshot, queues: Sequence[Queue], duration: float) -> list[Metric]:
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
    for q in queues:
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
    _queue_families(snap, queues, gauge)
    _staffing_families(snap, gauge)
    _system_families(snap, gauge, duration)
    return list(out.values())


def _answer_rate(channel: Channel, counts: Counts) -> float | None:
    if channel is Channel.CALLBACK:  # reached in their window / due (kpi.md)
        return counts.answered_within / counts.offered if counts.offered else None
    return figures.answer_rate(counts)


Gauge = Callable[[str, str, list[str]], GaugeMetricFamily]


def _queue_families(snap: Snapshot, queues: Sequence[Queue], gauge: Gauge) -> None:
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
    for q in queues:
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
    asked = {(q.code, ch) for q in queues if q.csat_share > 0 for ch in q.channels}
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
    for kind in sorted(set(OUTBOX_KINDS) | set(snap.outbox)):  # 0 for a kind with none
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
    config: StatisticsConfig,
    figures_out: LeaderFigures,
    clock: Callable[[], datetime],
    *,
    every_seconds: float,
) -> None:
    """The leader loop: a pass every `every_seconds` (metrics.statistics_seconds). A failed
    pass keeps the last figures (contactd_statistics_timestamp_seconds shows how old they are)."""
    try:
        while True:
            started = time.perf_counter()
            try:
                async with pool.acquire() as conn:
                    snap = await snapshot(conn, config, clock())
            except database.ANY_ERROR as exc:
                log.warning("statistics.failed", error=type(exc).__name__)
            else:
                figures_out.update(families(snap, config.queues, time.perf_counter() - started))
            await asyncio.sleep(every_seconds)
    finally:
        figures_out.update([])  # a follower exports none of them
