"""`contactd report`: the service-goal attainment of past days, per queue and channel.

The agency's own follow-up (its "cycle of improvement"): a table per day on stdout, a CSV row
per day, queue and channel, and a chart of service level against target. The figures come
from the leader's own queries and arithmetic (contactd/services/statistics.py,
routing/figures.py), so
the report of today and Grafana's "today" cannot disagree. Only queues, channels and counts
are shown: no contact, client or agent.
"""

from __future__ import annotations

import csv
import dataclasses
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

from contactd.services import statistics
from contactd.settings import Settings
from contactd.store import database, queries
from contactd.store.contacts import Executor
from routing import figures
from routing.contact import Channel
from routing.figures import Counts
from routing.goals import ServiceGoal

MAX_DAYS = 366
NO_FIGURE = "–"  # a figure over no contacts: never NaN, never 0
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")  # fromisoformat alone also takes 20261124, 2026-W48
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
    conn: database.Conn, settings: Settings, first: date, last: date, now: datetime
) -> list[Day]:
    """Every day from `first` to `last`, in one read-only snapshot so that the days agree."""
    days: list[Day] = []
    async with conn.transaction(readonly=True, isolation="repeatable_read"):
        day = first
        while day <= last:
            start = statistics.local_midnight(day, settings)
            midnight = statistics.local_midnight(day + timedelta(days=1), settings)
            # Today is counted as the leader counts it: callbacks whose window ended by now.
            counts = await statistics.counts_between(conn, start, midnight, now)
            callbacks = statistics.callback_compliance(counts)
            email = await statistics.email_response_between(conn, settings, start, midnight)
            csat = await csat_between(conn, start, midnight)
            rows = _rows(settings, counts, callbacks, email, csat)
            days.append(
                Day(day=day, start=start, end=min(midnight, now), complete=midnight <= now,
                    rows=rows)
            )  # fmt: skip
            day += timedelta(days=1)
    return days


def _rows(
    settings: Settings,
    counts: dict[statistics.Key, Counts],
    callbacks: dict[str, tuple[int, int]],
    email: dict[str, float],
    csat: dict[statistics.Key, tuple[int, float]],
) -> tuple[Row, ...]:
    """Every configured queue and channel, in the configuration's order (a quiet one too, so
    that the table shows it has no figures), then any other that had traffic that day."""
    goals = {(q.code, ch): q.goals.get(ch) for q in settings.queues for ch in sorted(q.channels)}
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


# The table --------------------------------------------------------------------------------


def _percent(value: float | None) -> str:
    return NO_FIGURE if value is None else f"{value:.1%}"


def _duration(seconds: float | None) -> str:
    """H:MM:SS; hours go past 24 (an e-mail's wait may be days)."""
    if seconds is None:
        return NO_FIGURE
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def _yes_no(value: bool | None) -> str:
    return NO_FIGURE if value is None else ("yes" if value else "no")


def _aligned(rows: Sequence[Sequence[str]], names: int) -> Iterator[str]:
    """Names left, figures right, as `contactd staffing` prints."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = zip(row, widths, strict=True)
        line = "  ".join(c.ljust(w) if i < names else c.rjust(w) for i, (c, w) in enumerate(cells))
        yield line.rstrip()


def _queue_table(rows: Sequence[Row]) -> Iterator[str]:
    head = ("queue", "channel", "offered", "answered", "within goal", "abandoned", "SL",
            "variant", "target", "met", "answer rate", "ASA", "abandonment", "CSAT answers",
            "CSAT mean")  # fmt: skip
    body = [head]
    for r in rows:
        c = r.counts
        body.append((
            r.queue, str(r.channel), str(c.offered), str(c.answered), str(c.answered_within),
            str(c.abandoned), _percent(r.service_level),
            str(r.goal.sl_variant) if r.goal else NO_FIGURE,
            _percent(r.goal.target) if r.goal else NO_FIGURE, _yes_no(r.met),
            _percent(r.answer_rate), _duration(figures.average_speed_of_answer(c)),
            _percent(figures.abandonment(c)), str(r.csat_answers),
            NO_FIGURE if r.csat_mean is None else f"{r.csat_mean:.2f}",
        ))  # fmt: skip
    yield from _aligned(body, names=2)
    per_queue: dict[str, list[str]] = {}
    for r in rows:
        cells = per_queue.setdefault(r.queue, [r.queue, *[NO_FIGURE] * 5])
        if r.callbacks is not None:
            due, reached = r.callbacks
            cells[1:4] = [str(due), str(reached), _percent(r.compliance)]
        if r.channel is Channel.EMAIL:
            cells[4:6] = [str(r.counts.answered), _duration(r.email_response)]
    yield ""
    per_queue_head = ("queue", "callbacks due", "reached in window", "compliance",
                      "e-mails answered", "first response (business time)")  # fmt: skip
    yield from _aligned([per_queue_head, *per_queue.values()], names=1)


def table(days: Sequence[Day], settings: Settings) -> Iterator[str]:
    """The readable report: a table per day, the period's for a range, and a legend."""
    zone = settings.timezone.key
    for d in days:
        hours = round(d.hours)
        if not d.complete:
            note = f"today, until {d.end.astimezone(settings.timezone):%H:%M}"
        elif hours != 24:
            note = f"{hours} hours: the clocks changed"
        else:
            note = "24 hours"
        yield f"{d.day} {d.day:%A} ({zone}, {note})"
        yield from _queue_table(d.rows)
        yield ""
    if len(days) > 1:
        so_far = "" if days[-1].complete else ", today so far"
        yield f"{days[0].day} to {days[-1].day}, all {len(days)} days{so_far}"
        yield from _queue_table(summary(days))
        yield ""
    used = sorted({r.goal.sl_variant for d in days for r in d.rows if r.goal})
    yield "SL: service level by the goal's variant (docs/reference/kpi.md):"
    for variant in used:
        yield f"  {variant} = {VARIANTS[variant]}"
    yield (
        "Answer rate of callbacks: reached in their window / due. ASA and e-mail first response: "
        "H:MM:SS. "
        f"{NO_FIGURE}: no contacts to count."
    )


# CSV --------------------------------------------------------------------------------------


def _decimal(value: float | None, places: int = 6) -> str:
    return "" if value is None else repr(round(value, places))


def csv_rows(days: Iterable[Day]) -> Iterator[tuple[str, ...]]:
    yield CSV_COLUMNS
    for d in days:
        for r in d.rows:
            c, goal = r.counts, r.goal
            due, reached = r.callbacks if r.callbacks is not None else (None, None)
            yield (
                d.day.isoformat(), _decimal(d.hours, 2), r.queue, str(r.channel), str(c.offered),
                str(c.answered),
                str(c.answered_within), str(c.abandoned), str(c.abandoned_short),
                str(c.abandoned_within), str(c.abandoned_after),
                str(goal.threshold) if goal else "", str(goal.sl_variant) if goal else "",
                _decimal(r.service_level), _decimal(goal.target) if goal else "",
                "" if r.met is None else ("yes" if r.met else "no"),
                _decimal(r.answer_rate), _decimal(figures.average_speed_of_answer(c), 3),
                _decimal(figures.abandonment(c)), "" if due is None else str(due),
                "" if reached is None else str(reached), _decimal(r.compliance),
                _decimal(r.email_response, 3), str(r.csat_answers), _decimal(r.csat_mean),
            )  # fmt: skip


def write_csv(days: Sequence[Day], path: Path) -> None:
    """RFC 4180: CRLF line ends (the csv module's default), a header row, UTF-8."""
    with path.open("w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows(csv_rows(days))


# The chart --------------------------------------------------------------------------------


def draw(days: Sequence[Day], path: Path) -> None:
    """Service level against target per queue, one panel per channel: bars for one day, a line
    per queue over a range. matplotlib is imported here only: the daemon never draws."""
    import matplotlib

    matplotlib.use("Agg")  # no screen: draw to a file
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter

    channels = sorted({r.channel for d in days for r in d.rows if r.goal})
    figure, axes = plt.subplots(len(channels), 1, figsize=(11, 3.2 * len(channels)), squeeze=False)
    levels = {(d.day, r.queue, r.channel): r.service_level for d in days for r in d.rows}
    for ax, channel in zip(axes[:, 0], channels, strict=True):
        targets = {r.queue: r.goal.target for r in days[0].rows if r.channel is channel and r.goal}
        if len(days) == 1:
            day = days[0].day
            for i, (queue, target) in enumerate(targets.items()):
                level = levels[day, queue, channel]
                ax.bar(i, level or 0.0, color="tab:blue", label="service level" if i == 0 else None)
                ax.hlines(target, i - 0.4, i + 0.4, colors="tab:red",
                          label="target" if i == 0 else None)  # fmt: skip
                if level is None:  # no contacts: say so rather than draw a 0
                    ax.text(i, 0.02, NO_FIGURE, ha="center")
            ax.set_xticks(range(len(targets)), list(targets))
        else:
            # Days as positions, labelled: the date axis of matplotlib guesses its range badly
            # when some lines hold no point at all.
            dates = [d.day for d in days]
            for queue in targets:
                # A day with no contacts breaks the line rather than drawing a 0.
                line = [levels.get((day, queue, channel)) for day in dates]
                ax.plot(range(len(dates)), [float("nan") if v is None else v for v in line],
                        marker="o", markersize=3, label=queue)  # fmt: skip
            for target in sorted(set(targets.values())):
                ax.axhline(target, color="tab:red", linestyle="--", label=f"target {target:.0%}")
            every = max(1, len(dates) // 12)
            ax.set_xticks(range(0, len(dates), every), [str(d) for d in dates[::every]])
            ax.set_xlim(-0.5, len(dates) - 0.5)
            ax.tick_params(axis="x", labelrotation=30)
        ax.set_ylim(0, 1.05)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_title(f"{channel}: service level against target")
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize="small")
    span = f"{days[0].day}" if len(days) == 1 else f"{days[0].day} to {days[-1].day}"
    figure.suptitle(f"Service goals, {span}")
    figure.tight_layout()
    figure.savefig(path, dpi=100, format="png")
    plt.close(figure)
