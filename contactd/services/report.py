"""`contactd report`: the service-goal attainment of past days, per queue and channel.

The agency's own follow-up (its "cycle of improvement"): a table per day on stdout, a CSV row
per day, queue and channel, and a chart of service level against target. The figures come
from the leader's own queries and arithmetic (contactd/services/statistics.py,
routing/figures.py), so
the report of today and Grafana's "today" cannot disagree. Only queues, channels and counts
are shown: no contact, client or agent.
"""

from __future__ import annotations

import dataclasses
import re
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from contactd.services import statistics
from contactd.store import database, queries
from contactd.store.contacts import Executor
from routing import figures
from routing.contact import Channel
from routing.figures import Counts
from routing.goals import ServiceGoal
from routing.queues import Queue

MAX_DAYS = 366
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")  # fromisoformat alone also takes 20261124, 2026-W48


def decimal(value: float | None, places: int = 6) -> str:
    """A figure for a CSV: a plain decimal number, empty for none."""
    return "" if value is None else repr(round(value, places))


VARIANTS = {  # docs/reference/kpi.md, for the legend under the table
    1: "(answered + abandoned within goal) / (answered + abandoned)",
    2: "answered within goal / answered",
    3: "answered within goal / (answered + abandoned)",
    4: "answered within goal / (answered + abandoned after goal)",
    5: "(answered within goal + abandoned within 5 s) / (answered + abandoned)",
}
CSV_COLUMNS = (
    "date", "hours", "queue", "channel", "offered", "answered", "answered_within_goal", "abandoned",
    "abandoned_short", "abandoned_within_goal", "abandoned_after_goal", "threshold",
    "sl_variant", "service_level", "target", "met", "answer_rate", "asa_seconds",
    "abandonment", "callbacks_due", "callbacks_reached_in_window", "callback_compliance",
    "email_first_response_business_seconds", "csat_answers", "csat_mean",
)  # fmt: skip


class PeriodError(ValueError):
    """Dates the command cannot report on: bad usage, exit status 2."""


def period(
    *, day: str | None, first: str | None, last: str | None, today: date
) -> tuple[date, date]:
    """The inclusive local days asked for by `--date`, or `--from` and `--to`."""
    if day is not None and (first is not None or last is not None):
        raise PeriodError("give --date D, or --from D1 --to D2, not both")
    if day is not None:
        one = _day(day, "--date", today)
        return one, one
    if first is None or last is None:
        raise PeriodError("give --date D, or both --from D1 and --to D2")
    start, end = _day(first, "--from", today), _day(last, "--to", today)
    if start > end:
        raise PeriodError(f"--from {start} is after --to {end}")
    if (days := (end - start).days + 1) > MAX_DAYS:
        raise PeriodError(f"{days} days asked for; report at most {MAX_DAYS} at a time")
    return start, end


def _day(text: str, flag: str, today: date) -> date:
    try:
        if not _ISO_DAY.fullmatch(text):
            raise ValueError
        day = date.fromisoformat(text)
    except ValueError:
        raise PeriodError(f"{flag} {text!r} is not a date; use YYYY-MM-DD") from None
    if day > today:
        raise PeriodError(f"{flag} {day} is in the future (today is {today})")
    return day


@dataclasses.dataclass(frozen=True, kw_only=True)
class Row:
    """One queue and channel over one day (or, in the table's summary, over the period)."""

    queue: str
    channel: Channel
    goal: ServiceGoal | None  # None: a queue or channel no longer in the configuration
    counts: Counts
    callbacks: tuple[int, int] | None = None  # (due, reached in window): callback rows only
    email_response: float | None = None  # mean business seconds: e-mail rows only
    csat_answers: int = 0
    csat_mean: float | None = None

    @property
    def service_level(self) -> float | None:
        return figures.service_level(self.counts, self.goal.sl_variant) if self.goal else None

    @property
    def met(self) -> bool | None:
        level = self.service_level
        return None if level is None or self.goal is None else level >= self.goal.target

    @property
    def answer_rate(self) -> float | None:
        if self.channel is Channel.CALLBACK:  # reached in their window / due (kpi.md)
            return self.compliance
        return figures.answer_rate(self.counts)

    @property
    def compliance(self) -> float | None:
        due, reached = self.callbacks or (0, 0)
        return reached / due if due else None


@dataclasses.dataclass(frozen=True, kw_only=True)
class Day:
    day: date
    start: datetime  # local midnight, in UTC
    end: datetime  # the next local midnight, or now for today
    complete: bool  # False for today: counted until `end`
    rows: tuple[Row, ...]
    # Why clients contacted us: (queue, wrap-up code, contacts finished that day with it).
    wrap_ups: tuple[tuple[str, str, int], ...] = ()

    @property
    def hours(self) -> float:
        """24; 23 or 25 on the days the clocks change; today's so far."""
        return (self.end - self.start).total_seconds() / 3600


async def csat_between(
    db: Executor, start: datetime, end: datetime
) -> dict[statistics.Key, tuple[int, float]]:
    rows = await db.fetch(queries.get("statistics_csat_between"), start, end)
    return {(r["queue"], Channel(r["channel"])): (r["answers"], r["mean_score"]) for r in rows}


async def gather(
    conn: database.Conn,
    queues: Sequence[Queue],
    timezone: ZoneInfo,
    first: date,
    last: date,
    now: datetime,
) -> list[Day]:
    """Every day from `first` to `last`, in one read-only snapshot so that the days agree."""
    days: list[Day] = []
    async with conn.transaction(readonly=True, isolation="repeatable_read"):
        day = first
        while day <= last:
            start = statistics.local_midnight(day, timezone)
            midnight = statistics.local_midnight(day + timedelta(days=1), timezone)
            # Today is counted as the leader counts it: callbacks whose window ended by now.
            counts = await statistics.counts_between(conn, start, midnight, now)
            callbacks = statistics.callback_compliance(counts)
            email = await statistics.email_response_between(conn, queues, start, midnight)
            csat = await csat_between(conn, start, midnight)
            rows = _rows(queues, counts, callbacks, email, csat)
            wrap_ups = await conn.fetch(queries.get("report_wrap_ups"), start, midnight)
            days.append(
                Day(day=day, start=start, end=min(midnight, now), complete=midnight <= now,
                    rows=rows, wrap_ups=tuple((r["queue"], r["wrap_up"], r["n"]) for r in wrap_ups))
            )  # fmt: skip
            day += timedelta(days=1)
    return days


def _rows(
    queues: Sequence[Queue],
    counts: dict[statistics.Key, Counts],
    callbacks: dict[str, tuple[int, int]],
    email: dict[str, float],
    csat: dict[statistics.Key, tuple[int, float]],
) -> tuple[Row, ...]:
    """Every configured queue and channel, in the configuration's order (a quiet one too, so
    that the table shows it has no figures), then any other that had traffic that day."""
    goals = {(q.code, ch): q.goals.get(ch) for q in queues for ch in sorted(q.channels)}
    others = sorted((set(counts) | set(csat)) - set(goals))
    rows = []
    for key in [*goals, *others]:
        queue, channel = key
        answers, mean = csat.get(key, (0, None))
        rows.append(
            Row(
                queue=queue,
                channel=channel,
                goal=goals.get(key),
                counts=counts.get(key, Counts()),
                callbacks=callbacks.get(queue, (0, 0)) if channel is Channel.CALLBACK else None,
                email_response=email.get(queue) if channel is Channel.EMAIL else None,
                csat_answers=answers,
                csat_mean=mean,
            )
        )
    return tuple(rows)


def summary(days: Sequence[Day]) -> tuple[Row, ...]:
    """The period as one: the days' counts summed, the means weighted by what they count."""
    order: dict[statistics.Key, Row] = {}
    totals: dict[statistics.Key, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for d in days:
        for r in d.rows:
            key = (r.queue, r.channel)
            order.setdefault(key, r)
            total = totals[key]
            for field in dataclasses.fields(Counts):
                total[field.name] += getattr(r.counts, field.name)
            due, reached = r.callbacks or (0, 0)
            total["due"] += due
            total["reached"] += reached
            if r.email_response is not None:  # its mean is over the day's e-mails answered
                total["email_n"] += r.counts.answered
                total["email_seconds"] += r.email_response * r.counts.answered
            if r.csat_mean is not None:
                total["csat_n"] += r.csat_answers
                total["csat_sum"] += r.csat_mean * r.csat_answers
    rows = []
    for key, first in order.items():
        t = totals[key]
        counts = Counts(
            **{
                f.name: type(getattr(first.counts, f.name))(t[f.name])
                for f in dataclasses.fields(Counts)
            }
        )
        rows.append(
            dataclasses.replace(
                first,
                counts=counts,
                callbacks=(int(t["due"]), int(t["reached"])) if first.callbacks else None,
                email_response=t["email_seconds"] / t["email_n"] if t["email_n"] else None,
                csat_answers=int(t["csat_n"]),
                csat_mean=t["csat_sum"] / t["csat_n"] if t["csat_n"] else None,
            )
        )
    return tuple(rows)
