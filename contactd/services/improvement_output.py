"""The improvement report on paper: plain-text tables (the terminal, the mail's body), JSON
(the console), CSV rows (a spreadsheet) and a chart to print or attach (PNG)."""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from contactd.services.improvement import Improvement, Repeats
from contactd.services.plain_text import NO_FIGURE, aligned, percent
from contactd.services.report import decimal

TOP_WRAP_UPS = 5  # per queue in the text: the meeting asks what brings most clients
TOP_CONFUSIONS = 10


def _score(value: float | None) -> str:
    return NO_FIGURE if value is None else f"{value:.2f}"


def _change(value: float | None) -> str:
    return NO_FIGURE if value is None else f"{value * 100:+.1f} pt"


def text(r: Improvement, *, short: bool = False) -> Iterator[str]:
    """The report as text; `short`, the daily mail's: goals, satisfaction, failure demand."""
    label, days = r.period.label, f"{r.period.first} to {r.period.last}"
    # A week's label is its ISO name: its dates beside it; a day's or a period's are its dates.
    named = label not in (days, str(r.period.first))
    yield f"Improvement report {label}" + (f" ({days})" if named else "")
    yield f"compared with {r.period.before().label}; repeat contacts within {r.follow_up_days} days"
    yield ""
    yield from _goals(r)
    yield ""
    yield from _satisfaction(r)
    yield ""
    yield from _repeats(r)
    if short:
        return
    yield ""
    yield from _callbacks(r)
    yield ""
    yield from _wrap_ups(r)
    yield ""
    yield from _corrections(r)
    yield ""
    yield from _comments(r)


def _goals(r: Improvement) -> Iterator[str]:
    missed = sum(1 for g in r.goals if g.now.met is False)
    measured = sum(1 for g in r.goals if g.now.met is not None)
    yield f"Service goals: {measured - missed} of {measured} met"
    body, quiet = [["queue", "channel", "target", "service level", "before", "change", "met"]], 0
    for g in r.goals:
        if g.now.service_level is None and (g.before is None or g.before.service_level is None):
            quiet += 1  # no contacts in either period: a row of dashes tells nothing
            continue
        met = g.now.met
        body.append([
            g.queue, str(g.channel), percent(g.goal.target if g.goal else None),
            percent(g.now.service_level), percent(g.before.service_level if g.before else None),
            _change(g.change), NO_FIGURE if met is None else ("yes" if met else "NO"),
        ])  # fmt: skip
    yield from aligned(body, names=2)
    if quiet:
        yield f"({quiet} goals had no contacts in either period; the CSV has them too)"


def _satisfaction(r: Improvement) -> Iterator[str]:
    yield f"Satisfaction (goal: a mean of {r.csat_goal:.1f} of 5)"
    body = [["queue", "channel", "answers", "mean", "before", "goal met"]]
    for s in r.satisfaction:
        met = NO_FIGURE if s.mean is None else ("yes" if s.mean >= r.csat_goal else "NO")
        body.append([s.queue, str(s.channel), str(s.answers), _score(s.mean),
                     _score(s.before_mean), met])  # fmt: skip
    yield from aligned(body, names=2) if len(body) > 1 else iter(["no answers"])


def _repeats(r: Improvement) -> Iterator[str]:
    every = r.repeats_in_all()
    if not every.contacts:
        yield "Failure demand: no contacts in the period"
        return
    yield (
        f"Failure demand: {percent(every.failure_demand)} of {every.contacts} contacts were "
        f"followed by another from the same client; first-contact resolution "
        f"{percent(every.first_contact_resolution)}"
    )
    body = [["channel", "case type", "contacts", "followed", "failure demand", "FCR"]]
    for summed in r.repeats_by_channel():  # each channel, then its case types, worst first
        mine = [x for x in r.repeats if x.channel is summed.channel]
        for row in (summed, *sorted(mine, key=lambda x: -(x.failure_demand or 0.0))):
            body.append([
                str(row.channel), row.case_type or "(all)", str(row.contacts),
                str(row.followed), percent(row.failure_demand),
                percent(row.first_contact_resolution),
            ])  # fmt: skip
    yield from aligned(body, names=2)


def _callbacks(r: Improvement) -> Iterator[str]:
    yield "Callbacks not reached"
    body = [["queue", "closed", "not reached", "share"]]
    for c in r.callbacks:
        share = c.not_reached / c.closed if c.closed else None
        body.append([c.queue, str(c.closed), str(c.not_reached), percent(share)])
    yield from aligned(body, names=1) if len(body) > 1 else iter(["no callbacks"])


def _wrap_ups(r: Improvement) -> Iterator[str]:
    yield f"Why clients contacted us (wrap-up codes, the {TOP_WRAP_UPS} commonest per queue)"
    body, shown = [["queue", "code", "contacts"]], dict[str, int]()
    for queue, code, n in r.wrap_ups:
        if shown.setdefault(queue, 0) < TOP_WRAP_UPS:
            shown[queue] += 1
            body.append([queue, code, str(n)])
    yield from aligned(body, names=2) if len(body) > 1 else iter(["no wrap-up codes"])


def _corrections(r: Improvement) -> Iterator[str]:
    fixed = sum(n for _, _, n in r.corrections)
    share = fixed / r.classified if r.classified else None
    yield (
        f"The classifier's case types corrected by staff: {fixed} of {r.classified} "
        f"({percent(share)})"
    )
    body = [["sorted as", "corrected to", "contacts"]]
    body += [[a, b, str(n)] for a, b, n in r.corrections[:TOP_CONFUSIONS]]
    yield from aligned(body, names=2) if len(body) > 1 else iter(["none corrected"])


def _comments(r: Improvement) -> Iterator[str]:
    more = f", the newest {len(r.comments)} shown: search to narrow" if r.more_comments else ""
    yield f"Comments ({len(r.comments)}{more}), by case type and wrap-up code; numbers masked"
    for (case_type, wrap_up), comments in r.comment_groups().items():
        yield f"  {case_type} / {wrap_up or 'no wrap-up code'}:"
        for c in comments:
            yield f"    {c.day} {c.queue} {c.channel} score {c.score}: {c.text}"


# JSON -------------------------------------------------------------------------------------


def as_json(r: Improvement) -> dict[str, Any]:
    every = r.repeats_in_all()
    return {
        "period": {"first": str(r.period.first), "last": str(r.period.last),
                   "label": r.period.label},
        "before": {"first": str(r.period.before().first), "last": str(r.period.before().last)},
        "follow_up_days": r.follow_up_days,
        "final_on": str(r.final_on),
        "csat_goal": r.csat_goal,
        "goals": [
            {"queue": g.queue, "channel": str(g.channel),
             "target": g.goal.target if g.goal else None,
             "threshold": {"amount": g.goal.threshold.amount, "unit": str(g.goal.threshold.unit)}
             if g.goal else None,
             "offered": g.now.counts.offered,
             "before_offered": g.before.counts.offered if g.before else 0,
             "service_level": g.now.service_level,
             "before": g.before.service_level if g.before else None,
             "change": g.change, "met": g.now.met}
            for g in r.goals
        ],
        "satisfaction": [dataclasses.asdict(s) for s in r.satisfaction],
        "failure_demand": _repeats_json(every),
        "by_channel": [_repeats_json(x) for x in r.repeats_by_channel()],
        "by_case_type": [_repeats_json(x) for x in r.repeats],
        "callbacks": [dataclasses.asdict(c) for c in r.callbacks],
        "wrap_ups": [{"queue": q, "code": c, "contacts": n} for q, c, n in r.wrap_ups],
        "corrections": [{"from": a, "to": b, "contacts": n} for a, b, n in r.corrections],
        "classified": r.classified,
        "comments": [{**dataclasses.asdict(c), "day": str(c.day)} for c in r.comments],
        "more_comments": r.more_comments,
    }  # fmt: skip


def _repeats_json(x: Repeats) -> dict[str, Any]:
    return {**dataclasses.asdict(x), "failure_demand": x.failure_demand,
            "first_contact_resolution": x.first_contact_resolution}  # fmt: skip


# CSV --------------------------------------------------------------------------------------

CSV_COLUMNS = ("section", "queue", "channel", "case_type", "code", "figure", "value",
               "before", "target", "text")  # fmt: skip


def csv_rows(r: Improvement) -> Iterator[Sequence[str]]:
    """One long table: a row per figure, its section and what it is about."""
    yield CSV_COLUMNS
    for g in r.goals:
        yield ("goal", g.queue, str(g.channel), "", "", "service_level",
               decimal(g.now.service_level), decimal(g.before.service_level if g.before else None),
               decimal(g.goal.target if g.goal else None), "")  # fmt: skip
    for s in r.satisfaction:
        yield ("satisfaction", s.queue, str(s.channel), "", "", "mean_score", decimal(s.mean),
               decimal(s.before_mean), decimal(r.csat_goal), "")  # fmt: skip
        yield ("satisfaction", s.queue, str(s.channel), "", "", "answers", str(s.answers),
               str(s.before_answers), "", "")  # fmt: skip
    for x in r.repeats:
        for figure, value in (
            ("contacts", x.contacts),
            ("followed", x.followed),
            ("failure_demand", x.failure_demand),
            ("first_contact_resolution", x.first_contact_resolution),
        ):
            yield ("repeats", "", str(x.channel), x.case_type, "", figure,
                   decimal(value), "", "", "")  # fmt: skip
    for c in r.callbacks:
        yield ("callbacks", c.queue, "callback", "", "", "closed", str(c.closed), "", "", "")
        yield ("callbacks", c.queue, "callback", "", "", "not_reached", str(c.not_reached),
               "", "", "")  # fmt: skip
    for queue, code, n in r.wrap_ups:
        yield ("wrap_up", queue, "", "", code, "contacts", str(n), "", "", "")
    for a, b, n in r.corrections:
        yield ("correction", "", "", a, b, "contacts", str(n), "", "", "")
    for m in r.comments:
        yield ("comment", m.queue, str(m.channel), m.case_type, m.wrap_up or "", "score",
               str(m.score), "", "", m.text)  # fmt: skip


def csv_text(r: Improvement) -> str:
    """The CSV as RFC 4180 text (CRLF line ends), for a file, a download or a mail."""
    out = io.StringIO(newline="")
    csv.writer(out).writerows(csv_rows(r))
    return out.getvalue()


# The chart --------------------------------------------------------------------------------


def png(r: Improvement) -> bytes:
    """The chart as PNG bytes, for a download or a mail (about a second of CPU)."""
    chart = io.BytesIO()
    draw(r, chart)
    return chart.getvalue()


def draw(r: Improvement, out: Path | IO[bytes]) -> None:
    """Three panels fit to print: each goal's service level now and before against its
    target, satisfaction per queue against the goal, failure demand per channel."""
    import matplotlib

    matplotlib.use("Agg")  # no screen: draw to a file
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter

    figure, (goals, csat, repeat) = plt.subplots(3, 1, figsize=(11, 11))
    names = [f"{g.queue}\n{g.channel}" for g in r.goals]
    x = range(len(names))
    for shift, label, values in (
        (-0.2, r.period.before().label, [g.before.service_level if g.before else None
                                         for g in r.goals]),
        (0.2, r.period.label, [g.now.service_level for g in r.goals]),
    ):  # fmt: skip
        goals.bar([i + shift for i in x], [v or 0.0 for v in values], 0.4, label=label)
    for i, g in enumerate(r.goals):
        if g.goal is not None:
            goals.hlines(g.goal.target, i - 0.45, i + 0.45, colors="tab:red",
                         label="target" if i == 0 else None)  # fmt: skip
    goals.set_xticks(list(x), names, fontsize="x-small")
    goals.yaxis.set_major_formatter(PercentFormatter(1.0))
    goals.set_ylim(0, 1.05)
    goals.set_title("Service level against target")
    goals.legend(fontsize="small", loc="lower right")
    _csat_panel(csat, r)
    _repeat_panel(repeat, r, PercentFormatter)
    figure.suptitle(f"Improvement report {r.period.label}")
    figure.tight_layout()
    figure.savefig(out, dpi=100, format="png")
    plt.close(figure)


def _csat_panel(ax: Any, r: Improvement) -> None:
    rows = [s for s in r.satisfaction if s.mean is not None]
    ax.bar(range(len(rows)), [s.mean for s in rows], 0.6, color="tab:green")
    ax.axhline(r.csat_goal, color="tab:red", label=f"goal {r.csat_goal:.1f}")
    ax.set_xticks(range(len(rows)), [f"{s.queue}\n{s.channel}" for s in rows], fontsize="x-small")
    ax.set_ylim(1, 5)
    ax.set_title("Satisfaction (mean score of 5)")
    ax.legend(fontsize="small", loc="lower right")


def _repeat_panel(ax: Any, r: Improvement, formatter: Any) -> None:
    rows = r.repeats_by_channel()
    ax.bar(range(len(rows)), [x.failure_demand or 0.0 for x in rows], 0.6, color="tab:orange")
    ax.set_xticks(range(len(rows)), [str(x.channel) for x in rows])
    ax.yaxis.set_major_formatter(formatter(1.0))
    ax.set_title(f"Failure demand: contacts followed by another within {r.follow_up_days} days")
