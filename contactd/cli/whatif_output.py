"""`contactd whatif` on paper: the tables in the terminal, and the staffing plan's CSV rows and
chart (the policies' are contactd/services/whatif_report.py's, which the console shares), from
the lab's figures (whatif/results.py, whatif/channels.py, whatif/staffing.py). Numbers are
written as `contactd report` writes them (report_output's helpers)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from contactd.services.plain_text import NO_FIGURE, aligned, counted, duration, percent
from contactd.services.report import VARIANTS
from contactd.services.whatif_report import Compared, Report, Searched, clipped
from contactd.services.whatif_report import teams as teams_of
from routing.contact import Channel
from whatif.channels import ChannelRow
from whatif.results import FEW, Estimate, Row
from whatif.scenario import Scenario
from whatif.staffing import STUCK_ADDS

# The terminal -----------------------------------------------------------------------------


def table(report: Report) -> Iterator[str]:
    yield from _heading(report)
    yield ""
    yield from _goals(report)
    for name, compared in report.compared.items():
        yield ""
        yield from _policy(name, compared, len(report.scenario.days))
    yield ""
    yield from _occupancy(report)
    if report.searched is not None:
        yield ""
        yield from _search(report.searched, teams_of(report.scenario), len(report.scenario.days))
    yield ""
    yield from _legend(report)


def _heading(report: Report) -> Iterator[str]:
    s = report.scenario
    days, first, last = len(s.days), s.days[0], s.days[-1]
    span = f"{first} {first:%A}" if days == 1 else f"{days} working days, {first} to {last}"
    yield f"What-if: {span} ({s.timezone.key}), {counted(report.seeds, 'seed')} per policy"
    teams = teams_of(s)
    yield (
        f"staffing: {counted(len(s.staffing), 'agent')} in {counted(len(teams), 'team')} "
        f"({report.day_file}); traffic "
        f"a day: {_per_day(s.traffic.per_day)}"
        + (f" (times {report.scale:g})" if report.scale != 1 else "")
    )


def _per_day(per_day: Mapping[Channel, float]) -> str:
    names = {Channel.EMAIL: "e-mails"}
    return ", ".join(f"{n:,.0f} {names.get(ch, f'{ch}s')}" for ch, n in sorted(per_day.items()))


def _goals(report: Report) -> Iterator[str]:
    head: list[str] = ["queue", "channel", "threshold", "target", "variant", "offered/day"]
    for name in report.compared:
        head += [f"{name} SL (95 % interval)", "met"]
    body, quiet = [head], 0
    rows = [c.summary.rows for c in report.compared.values()]
    for same in zip(*rows, strict=True):
        first = same[0]
        if all(r.service_level is None for r in same):
            quiet += 1
            continue
        goal = first.goal
        body.append([
            first.queue, str(first.channel), str(goal.threshold), percent(goal.target),
            str(goal.sl_variant), _number(first.offered, len(report.scenario.days)),
            *(cell for r in same for cell in (_ratio(r.service_level), _mark(r))),
        ])  # fmt: skip
    yield from aligned(body, names=2)
    if quiet:
        yield f"({quiet} goals had no contacts in the days played; the CSV has them too)"


def _mark(row: Row) -> str:
    """yes / no when the goal is met / missed with 95 % confidence (or, below FEW contacts a
    run, on the mean); yes? / no? when the mean is on one side and the interval reaches the
    other."""
    sl = row.service_level
    if sl is None:
        return NO_FIGURE
    if row.met:
        return "yes" if row.surely_met else "yes?"
    return "no" if row.few or sl.high < row.goal.target else "no?"


def _policy(name: str, compared: Compared, days: int) -> Iterator[str]:
    s = compared.summary
    surely = sum(1 for r in s.rows if r.surely_met)
    yield f"{name}: {s.goals_met()} of {s.goals()} goals met, {surely} with 95 % confidence"
    yield from _channels(compared.channels, days)


def _channels(channels: Sequence[ChannelRow], days: int) -> Iterator[str]:
    body = [["channel", "offered/day", "answer rate", "abandonment", "ASA"]]
    for c in channels:
        body.append([
            str(c.channel), _number(c.offered, days), _ratio(c.answer_rate),
            _ratio(c.abandonment), _interval(c.asa_seconds, duration, top=None),
        ])  # fmt: skip
    yield from aligned(body, names=1)


def _occupancy(report: Report) -> Iterator[str]:
    body = [["team", "agents", *(f"{name} occupancy" for name in report.compared)]]
    for team, agents in teams_of(report.scenario).items():
        shares = [_ratio(c.summary.occupancy.get(team)) for c in report.compared.values()]
        body.append([team, str(agents), *shares])
    yield from aligned(body, names=1)


def _search(found: Searched, teams: Mapping[str, int], days: int) -> Iterator[str]:
    f = found.found
    verdict = (
        "every goal met with 95 % confidence"
        if f.met
        else "no plan met every goal; the last one tried is shown"
    )
    yield f"Staffing search under {found.policy}: {verdict} ({f.steps} plans played)"
    for queue, channel in f.aside:
        yield (
            f"  set aside: {queue} {channel}, under {FEW} contacts a run: {STUCK_ADDS} more "
            "agents did not move it (chance, not staffing; look at it in the check below)"
        )
    head, rows = plan_rows(found, list(teams))
    yield from aligned([head, *rows], names=1)
    yield ""
    check = found.check
    seeds = f"{found.check_seeds[0]}-{found.check_seeds[-1]}"
    missed = [r for r in check.rows if r.met is False]
    said = "every goal met" if not missed else "not every goal met"
    yield (
        f"The plan played again on {len(found.check_seeds)} new seeds ({seeds}): {said}, "
        f"{check.goals_met()} of {check.goals()} on the mean, "
        f"{sum(1 for r in check.rows if r.surely_met)} with 95 % confidence"
    )
    for r in missed:
        yield (
            f"  missed: {r.queue} {r.channel} {_ratio(r.service_level)}, "
            f"target {percent(r.goal.target)}"
        )
    yield from _channels(found.check_channels, days)


def plan_rows(found: Searched, teams: Sequence[str]) -> tuple[list[str], list[list[str]]]:
    """The plan per local hour: agents per team and in all, then what Erlang C and A say
    each channel needs, and in all; a last row adds up the hours (agent-hours)."""
    plan, erlang = found.found.plan, {e.hour: e for e in found.erlang}
    channels = [ch for ch in Channel if any(ch in e.erlang_c for e in found.erlang)]
    hours = sorted({h for per in plan.values() for h in per if per[h]} | set(erlang))
    head = ["hour", *teams, "agents"]
    for kind in ("C", "A"):
        head += [*(f"{kind} {ch}" for ch in channels), f"{kind} total"]
    rows = []
    for hour in hours:
        agents = [plan.get(team, {}).get(hour, 0) for team in teams]
        cells = [*agents, sum(agents)]
        e = erlang.get(hour)
        needs: tuple[Mapping[Channel, int], ...] = (e.erlang_c, e.erlang_a) if e else ({}, {})
        for need in needs:
            cells += [*(need.get(ch, 0) for ch in channels), sum(need.values())]
        if any(cells):  # an hour nobody works and Erlang needs no one is left out
            rows.append([f"{hour:02d}:00", *map(str, cells)])
    totals = [str(sum(int(r[i]) for r in rows)) for i in range(1, len(head))]
    return head, [*rows, ["total", *totals]]


def _legend(report: Report) -> Iterator[str]:
    variants = sorted({r.goal.sl_variant for c in report.compared.values() for r in c.summary.rows})
    yield "SL: service level by the goal's variant (docs/reference/kpi.md):"
    for variant in variants:
        yield f"  {variant} = {VARIANTS[variant]}"
    yield (
        "Each figure: the mean over the seeds (its 95 % interval, cut at 0 and 100 %). met: yes "
        "/ no = met / missed with 95 % confidence; yes? / no? = the mean meets / misses the "
        f"target, the interval reaches the other side. {NO_FIGURE}: no contacts to count."
    )
    if report.searched is not None:
        yield (
            "C / A: agents Erlang C / Erlang A says each channel needs that hour, the channel "
            "as one queue with its strictest goal (no skills, languages or breaks); e-mail as "
            "its hour's workload. total: agent-hours."
        )


# Figures as text --------------------------------------------------------------------------


def _interval(e: Estimate | None, shown: Callable[[float], str], top: float | None = 1.0) -> str:
    if e is None:
        return NO_FIGURE
    low, high = (shown(v) for v in clipped(e, top))
    if e.runs < 2 or low == high:  # one run, or every run the same: no interval to give
        return shown(e.mean)
    return f"{shown(e.mean)} ({low.rstrip('%')}–{high})"


def _ratio(e: Estimate | None) -> str:
    return _interval(e, percent)


def _number(e: Estimate | None, days: int) -> str:
    return NO_FIGURE if e is None else f"{e.mean / days:,.1f}"


# Files ------------------------------------------------------------------------------------


def plan_csv_rows(found: Searched, scenario: Scenario) -> Iterator[Sequence[str]]:
    """The plan's table with names for a spreadsheet: agents_<team>, agents, erlang_c_<channel>,
    erlang_c, erlang_a_<channel>, erlang_a; the hour as HH:MM, no total row."""
    teams = list(teams_of(scenario))
    head, rows = plan_rows(found, teams)
    names = ["hour", *(f"agents_{t}" for t in teams), "agents"]  # by place: a team may be "hour"
    totals = {"C total": "erlang_c", "A total": "erlang_a"}
    erlang = head[len(names) :]
    yield names + [totals.get(h) or h.replace("C ", "erlang_c_").replace("A ", "erlang_a_")
                   for h in erlang]  # fmt: skip
    yield from rows[:-1]


# Charts -----------------------------------------------------------------------------------


def draw_plan(found: Searched, scenario: Scenario, path: Path) -> None:
    """The plan's agents per hour, stacked by team, with Erlang C and A (all channels) as
    lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    teams = list(teams_of(scenario))
    head, rows = plan_rows(found, teams)
    rows = rows[:-1]  # not the total
    hours = [int(r[0][:2]) for r in rows]
    figure, ax = plt.subplots(figsize=(11, 4.5))
    bottom = [0] * len(rows)
    for i, team in enumerate(teams, start=1):
        agents = [int(r[i]) for r in rows]
        ax.bar(hours, agents, 0.8, bottom=bottom, label=team)
        bottom = [b + a for b, a in zip(bottom, agents, strict=True)]
    for kind, style in (("C total", "-"), ("A total", "--")):
        column = head.index(kind)
        ax.plot(hours, [int(r[column]) for r in rows], style, color="black", marker="o",
                markersize=3, label=f"Erlang {kind[0]}")  # fmt: skip
    ax.set_xticks(hours, [f"{h:02d}" for h in hours])
    ax.set_xlabel("hour (local time)")
    ax.set_ylabel("agents")
    ax.set_title(f"Staffing plan under {found.policy}, {scenario.days[0]}, beside Erlang C and A")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=100, format="png")
    plt.close(figure)
