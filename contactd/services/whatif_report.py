"""What a what-if run comes to, for the command line and the console alike: the figures of
each policy played (and of the staffing search), as JSON, as CSV rows and as a chart. Numbers
in the CSV are written as `contactd report` writes them."""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from contactd.services.plain_text import NO_FIGURE, counted
from contactd.services.report import decimal
from routing.contact import Channel
from whatif.channels import ChannelRow
from whatif.results import Estimate, Row, Summary
from whatif.scenario import Scenario
from whatif.staffing import ErlangHour, Found


@dataclasses.dataclass(frozen=True, kw_only=True)
class Compared:
    """One policy's runs: its goals (and teams' occupancy), and its channels as a whole."""

    summary: Summary
    channels: tuple[ChannelRow, ...]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Searched:
    """The staffing search under one policy, and its plan played again on new seeds."""

    policy: str
    found: Found
    erlang: tuple[ErlangHour, ...]
    check: Summary
    check_channels: tuple[ChannelRow, ...]
    check_seeds: range


@dataclasses.dataclass(frozen=True, kw_only=True)
class Report:
    scenario: Scenario
    day_file: Path | str  # where the staffing came from: the day file, or the profiles
    scale: float
    seeds: int
    compared: Mapping[str, Compared]
    searched: Searched | None


def teams(scenario: Scenario) -> dict[str, int]:
    """Each team's agents, in the day file's order."""
    found: dict[str, int] = {}
    for agent in scenario.staffing:
        found[agent.team] = found.get(agent.team, 0) + 1
    return found


def clipped(e: Estimate, top: float | None) -> tuple[float, float]:
    """The interval as shown: a share stays within 0 and 1, a wait at or above 0."""
    high = e.high if top is None else min(e.high, top)
    return max(e.low, 0.0), high


# JSON -------------------------------------------------------------------------------------


def as_json(report: Report) -> dict[str, Any]:
    """The figures of the policies played, for the console (docs/reference/http-api.md)."""
    s = report.scenario
    names = {q.code: {"da": q.name_da, "en": q.name_en} for q in s.queues}
    days = len(s.days)
    return {
        "days": [d.isoformat() for d in s.days],
        "seeds": report.seeds,
        "scale": report.scale,
        "agents": teams(s),
        "offered_per_day": {str(ch): round(n, 1) for ch, n in sorted(s.traffic.per_day.items())},
        "policies": [
            {
                "name": name,
                "met": c.summary.goals_met(),
                "goals": c.summary.goals(),
                "surely_met": sum(1 for r in c.summary.rows if r.surely_met),
                "rows": [_row_json(r, names[r.queue], days) for r in c.summary.rows],
                "occupancy": [
                    {"team": team, **_estimate(c.summary.occupancy.get(team))} for team in teams(s)
                ],
            }
            for name, c in report.compared.items()
        ],
    }


def _row_json(r: Row, names: Mapping[str, str], days: int) -> dict[str, Any]:
    return {
        "queue": r.queue,
        "queue_names": dict(names),
        "channel": str(r.channel),
        "threshold": {"amount": r.goal.threshold.amount, "unit": str(r.goal.threshold.unit)},
        "sl_variant": r.goal.sl_variant,
        "target": r.goal.target,
        "offered_per_day": None if r.offered is None else round(r.offered.mean / days, 1),
        "service_level": _share(r.service_level),
        "met": r.met,
        "surely_met": None if r.met is None else r.surely_met,
        "few": r.few,
        "answer_rate": _share(r.answer_rate),
        "abandonment": _share(r.abandonment),
        "asa_seconds": None if r.asa_seconds is None else _estimate(r.asa_seconds, top=None),
    }


def _share(e: Estimate | None) -> dict[str, float] | None:
    return None if e is None else _estimate(e)


def _estimate(e: Estimate | None, top: float | None = 1.0) -> dict[str, Any]:
    if e is None:
        return {"mean": None, "low": None, "high": None}
    low, high = clipped(e, top)
    return {"mean": round(e.mean, 4), "low": round(low, 4), "high": round(high, 4)}


# CSV --------------------------------------------------------------------------------------

CSV_COLUMNS = (
    "staffing", "policy", "queue", "channel", "threshold", "sl_variant", "target", "seeds",
    "offered_per_day", "offered_per_day_low", "offered_per_day_high",
    "service_level", "service_level_low", "service_level_high", "met", "met_surely",
    "answer_rate", "answer_rate_low", "answer_rate_high",
    "abandonment", "abandonment_low", "abandonment_high",
    "asa_seconds", "asa_seconds_low", "asa_seconds_high",
)  # fmt: skip


def csv_rows(report: Report) -> Iterator[tuple[str, ...]]:
    """A row per policy, queue and channel with a goal (staffing `day`: the day file's); with
    --search, the same for the plan on the new seeds (staffing `plan`)."""
    yield CSV_COLUMNS
    runs = [("day", name, c.summary, report.seeds) for name, c in report.compared.items()]
    if (found := report.searched) is not None:
        runs.append(("plan", found.policy, found.check, len(found.check_seeds)))
    days = len(report.scenario.days)
    for staffing, policy, summary, seeds in runs:
        for r in summary.rows:
            yield (
                staffing, policy, r.queue, str(r.channel), str(r.goal.threshold),
                str(r.goal.sl_variant), decimal(r.goal.target), str(seeds),
                *_cells(r.offered, 1 / days, None, 3), *_cells(r.service_level),
                "" if r.met is None else ("yes" if r.met else "no"),
                "" if r.met is None else ("yes" if r.surely_met else "no"),
                *_cells(r.answer_rate), *_cells(r.abandonment),
                *_cells(r.asa_seconds, top=None, places=3),
            )  # fmt: skip


def _cells(
    e: Estimate | None, factor: float = 1.0, top: float | None = 1.0, places: int = 6
) -> tuple[str, str, str]:
    if e is None:
        return "", "", ""
    mean, low, high = (decimal(v * factor, places) for v in (e.mean, *clipped(e, top)))
    return mean, low, high


def write_csv(rows: Iterator[Sequence[str]], out: IO[str]) -> None:
    """RFC 4180 as `contactd report` writes it: CRLF line ends, a header row."""
    csv.writer(out).writerows(rows)


def csv_text(report: Report) -> str:
    out = io.StringIO(newline="")
    write_csv(csv_rows(report), out)
    return out.getvalue()


# The chart --------------------------------------------------------------------------------


def draw(report: Report, out: Path | IO[bytes]) -> None:
    """Each goal's service level per policy with its 95 % interval, against its target (red),
    one panel per channel. matplotlib is imported here only, when a chart is asked for."""
    import matplotlib

    matplotlib.use("Agg")  # no screen: draw to a file
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter

    summaries = {name: c.summary for name, c in report.compared.items()}
    rows = next(iter(summaries.values())).rows
    channels = [ch for ch in Channel if any(r.channel is ch for r in rows)]
    figure, axes = plt.subplots(len(channels), 1, figsize=(11, 3.2 * len(channels)), squeeze=False)
    width = 0.8 / len(summaries)
    for ax, channel in zip(axes[:, 0], channels, strict=True):
        for p, (name, summary) in enumerate(summaries.items()):
            mine = [r for r in summary.rows if r.channel is channel]
            x = [i - 0.4 + width * (p + 0.5) for i in range(len(mine))]
            means = [r.service_level.mean if r.service_level else 0.0 for r in mine]
            spans = [clipped(r.service_level, 1.0) if r.service_level else (0, 0) for r in mine]
            errors = [[m - lo for m, (lo, _) in zip(means, spans, strict=True)],
                      [hi - m for m, (_, hi) in zip(means, spans, strict=True)]]  # fmt: skip
            ax.bar(x, means, width, yerr=errors, capsize=2, label=name)
            for at, r in zip(x, mine, strict=True):
                if r.service_level is None:  # no contacts: say so rather than draw a 0
                    ax.text(at, 0.02, NO_FIGURE, ha="center")
        mine = [r for r in rows if r.channel is channel]
        for i, r in enumerate(mine):
            ax.hlines(r.goal.target, i - 0.45, i + 0.45, colors="tab:red",
                      label="target" if i == 0 else None)  # fmt: skip
        ax.set_xticks(range(len(mine)), [r.queue for r in mine])
        ax.set_ylim(0, 1.05)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_title(f"{channel}: service level per policy (95 % interval) against target")
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize="small")
    days = report.scenario.days
    span = f"{days[0]}" if len(days) == 1 else f"{days[0]} to {days[-1]}"
    figure.suptitle(f"What-if, {span}: {counted(report.seeds, 'seed')} per policy")
    figure.tight_layout()
    figure.savefig(out, dpi=100, format="png")
    plt.close(figure)
