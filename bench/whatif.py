"""The what-if lab (issue 21): how fast it plays the agency, and what it says of the policies.

    .venv/bin/python -m bench.whatif [--seeds 10] [--days 5] [--search-seeds 5] [--workers N]

On the shipped configuration and day file (config/whatif/day.toml: 40 agents; about 1,180
calls, 20 callbacks, 200 e-mails and 240 tickets a day), from Tuesday 2026-12-01:
(a) the day played once under contactd's policy in this process, on one core: median of 5;
(b) a week (`--days` working days of the phone line's calendar from Monday 2026-11-30) once;
(c) the policies side by side at the day file's staffing, `--seeds` runs each: every goal's
    service level per policy with its 95 % interval, and the goals met per policy;
(d) the staffing search for contactd's policy and for FIFO (`--search-seeds` runs a plan):
    the plan's agent-hours beside Erlang C's and A's, the plans played, the time it took,
    and the plan played again on 10 new seeds (1000-1009).
(c) and (d) play their runs in `--workers` processes (default: the CPUs).
(e) the console's what-if (contactd/services/whatif_lab.py, as `POST /api/whatif` plays it:
    a spawned process, one core): its default ask (three policies, five seeds, one day) and
    the most it takes (60 runs: three policies, 20 seeds), from the ask to the figures, CSV
    and chart.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from typing import Any

from contactd import settings
from contactd.services.whatif_lab import Ask, WhatIfLab
from routing.engine import Policy
from whatif import files, policies
from whatif.play import play, play_seeds
from whatif.results import Estimate, summarise
from whatif.scenario import Scenario, shipped_traffic
from whatif.staffing import erlang_hours, search, staffed

DAY = date(2026, 12, 1)  # a Tuesday
MONDAY = date(2026, 11, 30)
CHECK_SEEDS = range(1000, 1010)


def scenario(days: tuple[date, ...]) -> Scenario:
    config = settings.load(environ={})
    path = config.path.parent / "whatif" / "day.toml"
    day, case_types = files.read(path), list(config.case_types)
    return Scenario(
        queues=config.queues,
        timezone=config.timezone,
        days=days,
        traffic=files.traffic(day, shipped_traffic(case_types)),
        staffing=files.staffing(day, case_types, path),
    )


def working_days(first: date, count: int) -> tuple[date, ...]:
    config = settings.load(environ={})
    calendar = config.calendars[config.phone.calendar]
    days = (first + timedelta(days=n) for n in range(count * 3 + 14))
    return tuple(d for d in days if calendar.is_working_day(d))[:count]


def timed_play(s: Scenario, repeat: int) -> dict[str, Any]:
    seconds, contacts = [], 0
    for seed in range(repeat):
        started = time.perf_counter()
        contacts = len(play(s, seed=seed).records)
        seconds.append(time.perf_counter() - started)
    return {
        "median": round(statistics.median(seconds), 3),
        "min": round(min(seconds), 3),
        "max": round(max(seconds), 3),
        "runs": repeat,
        "days": len(s.days),
        "contacts": contacts,
        "agents": len(s.staffing),
    }


def _estimate(e: Estimate | None) -> dict[str, float] | None:
    if e is None:
        return None
    return {"mean": round(e.mean, 4), "low": round(e.low, 4), "high": round(e.high, 4)}


def compare(s: Scenario, seeds: int, workers: int) -> dict[str, Any]:
    started = time.perf_counter()
    summaries = {
        name: summarise(play_seeds(s, policy, range(seeds), workers=workers), s.queues)
        for name, policy in policies.PRESETS.items()
    }
    first = next(iter(summaries.values()))
    goals = []
    for i, row in enumerate(first.rows):
        goal = {"queue": row.queue, "channel": str(row.channel), "target": row.goal.target}
        for name, summary in summaries.items():
            goal[name] = _estimate(summary.rows[i].service_level)
        goals.append(goal)
    return {
        "seeds": seeds,
        "seconds": round(time.perf_counter() - started, 1),
        "goals": first.goals(),
        "goals_met": {name: s.goals_met() for name, s in summaries.items()},
        "goals_met_surely": {
            name: sum(1 for r in s.rows if r.surely_met) for name, s in summaries.items()
        },
        "service_levels": goals,
    }


def staffing(s: Scenario, policy: Policy, seeds: int, workers: int) -> dict[str, Any]:
    started = time.perf_counter()
    found = search(s, policy=policy, seeds=range(seeds), workers=workers)
    seconds = time.perf_counter() - started
    planned = s.with_staffing(staffed(found.plan, {a.team: a for a in s.staffing}))
    check = summarise(play_seeds(planned, policy, CHECK_SEEDS, workers=workers), s.queues)
    return {
        "agent_hours": sum(sum(hours.values()) for hours in found.plan.values()),
        "met": found.met,
        "plans_played": found.steps,
        "seconds": round(seconds, 1),
        "plan": {team: dict(sorted(hours.items())) for team, hours in found.plan.items()},
        "new_seeds_goals_met": check.goals_met(),
        "new_seeds_goals": check.goals(),
        "new_seeds_goals_met_surely": sum(1 for r in check.rows if r.surely_met),
    }


def console(asks: dict[str, Ask]) -> dict[str, float]:
    """Seconds from each ask to its figures, CSV and chart, as the console's lab plays it
    (the shipped day file's staffing and traffic: it reads no database)."""
    config = settings.load()
    at = datetime.combine(DAY, clock_time(9), tzinfo=config.timezone).astimezone(UTC)
    lab = WhatIfLab(None, config, clock=lambda: at)  # type: ignore[arg-type]

    async def timed(ask: Ask) -> float:
        started = time.perf_counter()
        await lab.play(ask)
        return round(time.perf_counter() - started, 2)

    return {name: asyncio.run(timed(ask)) for name, ask in asks.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=10, help="runs per policy in (c)")
    parser.add_argument("--days", type=int, default=5, help="working days of (b)")
    parser.add_argument("--search-seeds", type=int, default=5, help="runs per plan in (d)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    day = scenario((DAY,))
    hours = erlang_hours(day)
    result: dict[str, Any] = {
        "day": str(DAY),
        "per_day": {str(ch): round(n, 1) for ch, n in day.traffic.per_day.items()},
        "play_day_s": timed_play(day, 5),
        "play_week_s": timed_play(scenario(working_days(MONDAY, args.days)), 1),
        "policies": compare(day, args.seeds, args.workers),
        "search": {
            "seeds": args.search_seeds,
            "erlang_c_agent_hours": sum(sum(h.erlang_c.values()) for h in hours),
            "erlang_a_agent_hours": sum(sum(h.erlang_a.values()) for h in hours),
            **{
                name: staffing(day, policies.PRESETS[name], args.search_seeds, args.workers)
                for name in ("contactd", "fifo")
            },
        },
        "console_s": console({"default": Ask(), "most": Ask(seeds=20)}),
    }
    print(json.dumps(result, indent=2))
    print("aims: the day under 2 s on one core, a week under 10 s")


if __name__ == "__main__":
    main()
