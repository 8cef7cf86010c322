"""`contactd report` on paper: the per-day table in the terminal, the CSV rows and the chart
of service level against target, from the figures of contactd/services/report.py."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

from contactd.services.plain_text import NO_FIGURE, aligned, duration, percent
from contactd.services.report import CSV_COLUMNS, VARIANTS, Day, Row, decimal, summary
from routing import figures
from routing.contact import Channel


def _yes_no(value: bool | None) -> str:
    return NO_FIGURE if value is None else ("yes" if value else "no")


def _queue_table(rows: Sequence[Row]) -> Iterator[str]:
    head = ("queue", "channel", "offered", "answered", "within goal", "abandoned", "SL",
            "variant", "target", "met", "answer rate", "ASA", "abandonment", "CSAT answers",
            "CSAT mean")  # fmt: skip
    body = [head]
    for r in rows:
        c = r.counts
        body.append((
            r.queue, str(r.channel), str(c.offered), str(c.answered), str(c.answered_within),
            str(c.abandoned), percent(r.service_level),
            str(r.goal.sl_variant) if r.goal else NO_FIGURE,
            percent(r.goal.target) if r.goal else NO_FIGURE, _yes_no(r.met),
            percent(r.answer_rate), duration(figures.average_speed_of_answer(c)),
            percent(figures.abandonment(c)), str(r.csat_answers),
            NO_FIGURE if r.csat_mean is None else f"{r.csat_mean:.2f}",
        ))  # fmt: skip
    yield from aligned(body, names=2)
    per_queue: dict[str, list[str]] = {}
    for r in rows:
        cells = per_queue.setdefault(r.queue, [r.queue, *[NO_FIGURE] * 5])
        if r.callbacks is not None:
            due, reached = r.callbacks
            cells[1:4] = [str(due), str(reached), percent(r.compliance)]
        if r.channel is Channel.EMAIL:
            cells[4:6] = [str(r.counts.answered), duration(r.email_response)]
    yield ""
    per_queue_head = ("queue", "callbacks due", "reached in window", "compliance",
                      "e-mails answered", "first response (business time)")  # fmt: skip
    yield from aligned([per_queue_head, *per_queue.values()], names=1)


def table(days: Sequence[Day], timezone: ZoneInfo) -> Iterator[str]:
    """The readable report: a table per day, the period's for a range, and a legend."""
    zone = timezone.key
    for d in days:
        hours = round(d.hours)
        if not d.complete:
            note = f"today, until {d.end.astimezone(timezone):%H:%M}"
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
    yield from _wrap_ups(days)
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


def csv_rows(days: Iterable[Day]) -> Iterator[tuple[str, ...]]:
    yield CSV_COLUMNS
    for d in days:
        for r in d.rows:
            c, goal = r.counts, r.goal
            due, reached = r.callbacks if r.callbacks is not None else (None, None)
            yield (
                d.day.isoformat(), decimal(d.hours, 2), r.queue, str(r.channel), str(c.offered),
                str(c.answered),
                str(c.answered_within), str(c.abandoned), str(c.abandoned_short),
                str(c.abandoned_within), str(c.abandoned_after),
                str(goal.threshold) if goal else "", str(goal.sl_variant) if goal else "",
                decimal(r.service_level), decimal(goal.target) if goal else "",
                "" if r.met is None else ("yes" if r.met else "no"),
                decimal(r.answer_rate), decimal(figures.average_speed_of_answer(c), 3),
                decimal(figures.abandonment(c)), "" if due is None else str(due),
                "" if reached is None else str(reached), decimal(r.compliance),
                decimal(r.email_response, 3), str(r.csat_answers), decimal(r.csat_mean),
            )  # fmt: skip


def _wrap_ups(days: Sequence[Day]) -> Iterator[str]:
    """Why clients contacted us over the period: each queue's wrap-up codes, most used first."""
    counted: Counter[tuple[str, str]] = Counter()
    for d in days:
        for queue, code, n in d.wrap_ups:
            counted[(queue, code)] += n
    if not counted:
        return
    yield "Why clients contacted us (wrap-up codes, contacts finished):"
    for (queue, code), n in sorted(counted.items(), key=lambda item: (item[0][0], -item[1])):
        yield f"  {queue:<12} {code:<16} {n:>6}"
    yield ""


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
