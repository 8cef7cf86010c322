"""`contactd whatif`: the what-if lab (whatif/) on the command line.

It plays working days of the agency offline, on the routing engine the daemon runs (the same
code, not a copy), with the configuration's queues, goals and calendars: the traffic of the
shipped model with what the day file changes, and the staffing of the day file. Each policy
is played with the same seeds, so policies are compared on the same draws. With --search it
looks for the fewest agents per hour and team that meet every goal, shows them beside
Erlang C and A, and plays that plan again on seeds the search never saw.

Every input is checked before anything is played: a bad day or policies file, an unknown
policy or a bad number is one line per problem on stderr and exit status 2, and nothing is
written. It reads the database only for --history and --staff-from-db (the daemon's, or the
embedded one in --data-dir), docs/how-to/whatif-inputs.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

from contactd.cli import whatif_output
from contactd.clock import Clock
from contactd.services import whatif_lab, whatif_report
from contactd.services.whatif_lab import (
    DEFAULT_POLICIES,
    Refused,
    compare,
    file_staffing,
    file_traffic,
    lab_days,
    readable,
)
from contactd.settings import Settings
from contactd.store import database
from routing.engine import Policy
from whatif import files, policies
from whatif.scenario import Agent, Scenario, Traffic
from whatif.staffing import MAX_ABANDONMENT, erlang_hours, search, staffed

WEEK = 5  # --week: a week's working days
CHECK_SEEDS = range(1000, 1010)  # the search's plan played again on days it never saw
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
T = TypeVar("T")
# Opens a connection to the daemon's database (contactd/cli/main.py's, migrated).
OpenDatabase = Callable[[], AbstractAsyncContextManager[database.Conn]]


def add_parser(sub: Any) -> argparse.ArgumentParser:
    cmd: argparse.ArgumentParser = sub.add_parser(
        "whatif",
        help="play days offline on the routing engine: policies side by side, the staffing "
        "that meets every goal",
    )
    cmd.add_argument(
        "--day", type=Path, metavar="FILE", help="the day file: teams, their hours and any "
        "change to the traffic (default: whatif/day.toml beside the configuration file, "
        "config/whatif/day.toml for the shipped one)"
    )  # fmt: skip
    span = cmd.add_mutually_exclusive_group()
    span.add_argument("--days", type=int, default=1, metavar="N", help="working days played "
                      "(default 1)")  # fmt: skip
    span.add_argument("--week", dest="days", action="store_const", const=WEEK,
                      help=f"play {WEEK} working days")  # fmt: skip
    cmd.add_argument(
        "--start", metavar="YYYY-MM-DD", help="the first day: the days played are the working "
        "days of the phone line's calendar from it (default: today, by the daemon's clock)"
    )  # fmt: skip
    cmd.add_argument("--seeds", type=int, default=10, metavar="N", help="runs per policy, each "
                     "with its own draws (default 10)")  # fmt: skip
    cmd.add_argument(
        "--policy", action="append", metavar="NAME", help="a policy to play, again for more: "
        f"{', '.join(policies.PRESETS)} or one of --policies (default: "
        f"{', '.join(DEFAULT_POLICIES)} and every policy of --policies)"
    )  # fmt: skip
    cmd.add_argument("--policies", type=Path, metavar="FILE", help="more policies, as engine "
                     "settings in a TOML file")  # fmt: skip
    cmd.add_argument("--scale", type=float, default=1.0, metavar="X", help="the traffic times "
                     "X (1.2: a fifth more; default 1)")  # fmt: skip
    cmd.add_argument(
        "--search", action="store_true", help="find the fewest agents per hour and team that "
        "meet every goal under the first policy, beside Erlang C and A, and play them again "
        f"on {len(CHECK_SEEDS)} new seeds"
    )  # fmt: skip
    cmd.add_argument("--history", metavar="FIRST..LAST", help="the traffic estimated from "
                     "the database's contacts of these days instead of the shipped model and "
                     "the day file's [traffic]")  # fmt: skip
    cmd.add_argument("--staff-from-db", action="store_true", help="today's agent profiles "
                     "(the database's) instead of the day file's teams, each at work while "
                     "their channels are open")  # fmt: skip
    cmd.add_argument("--max-abandonment", type=float, default=MAX_ABANDONMENT * 100,
                     metavar="PERCENT", help="with --search: at most this share of a queue's "
                     "callers may hang up (default 5; a goal by SL variant 1 alone lets a "
                     "third go)")  # fmt: skip
    cmd.add_argument("--workers", type=int, default=os.cpu_count() or 1, metavar="N",
                     help="processes playing runs at once (default: the CPUs)")  # fmt: skip
    cmd.add_argument("--csv", type=Path, metavar="FILE", help="also write the figures as CSV "
                     "(with --search, the plan to FILE-plan.csv)")  # fmt: skip
    cmd.add_argument("--png", type=Path, metavar="FILE", help="also draw the service levels "
                     "(with --search, the plan to FILE-plan.png)")  # fmt: skip
    return cmd


def run(
    config: Settings, args: argparse.Namespace, clock: Clock, database: OpenDatabase | None = None
) -> int:
    """`database` opens the daemon's database, read only for --history and --staff-from-db."""
    try:
        scenario, chosen = _prepare(config, args, clock(), database)
    except (Refused, files.WhatIfFileError) as exc:
        for line in str(exc).splitlines():
            print(f"contactd: {line}", file=sys.stderr)
        return 2
    for path in _outputs(args):  # before playing: a search takes minutes, then could not be kept
        if not path.parent.is_dir():
            print(f"contactd: cannot write {path}: no such directory", file=sys.stderr)
            return 1
    report = whatif_report.Report(
        scenario=scenario,
        day_file="today's agent profiles"
        if args.staff_from_db
        else _shown(_day_path(args, config)),
        scale=args.scale,
        seeds=args.seeds,
        compared={
            name: compare(scenario, p, range(args.seeds), workers=args.workers)
            for name, p in chosen.items()
        },
        searched=_search(scenario, *next(iter(chosen.items())), args) if args.search else None,
    )
    try:  # the files first, as `contactd report` does
        _write(report, args.csv, args.png)
    except OSError as exc:
        print(f"contactd: cannot write {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 1
    for line in whatif_output.table(report):
        print(line)
    return 0


def _prepare(
    config: Settings, args: argparse.Namespace, now: datetime, database: OpenDatabase | None
) -> tuple[Scenario, dict[str, Policy]]:
    """The scenario and the policies asked for, every option checked (Refused, or the lab's
    WhatIfFileError naming the file and key)."""
    for flag, value, least in (("--days", args.days, 1), ("--seeds", args.seeds, 1),
                               ("--workers", args.workers, 1)):  # fmt: skip
        if value < least:
            raise Refused(f"{flag} {value}: give at least {least}")
    if not 0 < args.max_abandonment <= 100:
        raise Refused(
            f"--max-abandonment {args.max_abandonment:g}: give a percentage above 0, at most 100"
        )
    if not 0 < args.scale <= 100:
        raise Refused(f"--scale {args.scale:g}: give a factor above 0, at most 100")
    extra = readable(args.policies, policies.read) if args.policies is not None else {}
    names = args.policy or [*DEFAULT_POLICIES, *(n for n in extra if n not in DEFAULT_POLICIES)]
    chosen = policies.named(list(dict.fromkeys(names)), extra)
    today = now.astimezone(config.timezone).date()
    days = lab_days(config, _start(args.start, today), args.days)
    history = _period(args.history) if args.history is not None else None
    traffic, staffing = None, None
    if history is not None or args.staff_from_db:
        if database is None:
            raise Refused("--history and --staff-from-db need the daemon's database")
        profiles_on = days[0] if args.staff_from_db else None
        traffic, staffing = asyncio.run(_from_database(database, config, history, profiles_on))
    scenario = Scenario(
        queues=config.queues,
        timezone=config.timezone,
        days=days,
        traffic=(traffic or file_traffic(config, _day_path(args, config))).scaled(args.scale),
        staffing=staffing or file_staffing(config, _day_path(args, config)),
    )
    return scenario, chosen


async def _from_database(
    database: OpenDatabase,
    config: Settings,
    history: tuple[date, date] | None,
    profiles_on: date | None,
) -> tuple[Traffic | None, tuple[Agent, ...] | None]:
    """The traffic of the history's days and today's agent profiles, as asked; what the
    history could not estimate is said on stdout before the tables."""
    async with database() as conn:
        traffic, staffing, notes = await whatif_lab.from_database(
            conn, config, history=history, profiles_on=profiles_on
        )
    if staffing == ():
        raise Refused("--staff-from-db: no agent profile with room on any channel")
    for line in notes:
        print(line)
    return traffic, staffing


def _day_path(args: argparse.Namespace, config: Settings) -> Path:
    return args.day if args.day is not None else whatif_lab.day_file(config)


def _period(text: str) -> tuple[date, date]:
    first, dots, last = text.partition("..")
    if not dots or not (_ISO_DAY.fullmatch(first) and _ISO_DAY.fullmatch(last)):
        raise Refused(f"--history {text!r}: give FIRST..LAST, e.g. 2026-11-02..2026-11-27")
    try:
        return date.fromisoformat(first), date.fromisoformat(last)
    except ValueError:
        raise Refused(f"--history {text!r}: not a day") from None


def _start(text: str | None, today: date) -> date:
    if text is None:
        return today
    try:
        if not _ISO_DAY.fullmatch(text):
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise Refused(f"--start {text!r} is not a date; use YYYY-MM-DD") from None


def _search(
    scenario: Scenario, name: str, policy: Policy, args: argparse.Namespace
) -> whatif_report.Searched:
    progress = _progress()
    found = search(
        scenario, policy=policy, seeds=range(args.seeds), workers=args.workers, played=progress,
        max_abandonment=args.max_abandonment / 100,
    )  # fmt: skip
    if progress is not None:
        print(file=sys.stderr)  # end the counting line
    teams = {a.team: a for a in scenario.staffing}
    planned = scenario.with_staffing(staffed(found.plan, teams))
    again = compare(planned, policy, CHECK_SEEDS, workers=args.workers)
    return whatif_report.Searched(
        policy=name,
        found=found,
        erlang=tuple(erlang_hours(scenario)),
        check=again.summary,
        check_channels=again.channels,
        check_seeds=CHECK_SEEDS,
    )


def _progress() -> Callable[[int], None] | None:
    """A search plays many plans: on a terminal, a line that counts them (not in a pipe)."""
    if not sys.stderr.isatty():
        return None

    def played(step: int) -> None:
        print(f"\rsearching: plan {step} being played", end="", file=sys.stderr, flush=True)

    return played


def _shown(path: Path) -> Path:
    """The day file as the reader knows it: relative to the current directory when in it."""
    try:
        return path.resolve().relative_to(Path.cwd())
    except ValueError:
        return path


# The files ------------------------------------------------------------------------------

PLAN = "-plan"  # with --search, the plan's file is the figures' with this after its stem


def _outputs(args: argparse.Namespace) -> list[Path]:
    """The files the run writes."""
    given = [p for p in (args.csv, args.png) if p is not None]
    return given + ([_plan_path(p) for p in given] if args.search else [])


def _plan_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}{PLAN}{path.suffix}")


def _write(report: whatif_report.Report, csv: Path | None, png: Path | None) -> None:
    out, found = whatif_output, report.searched
    if csv is not None:
        _whole(csv, lambda part: _csv_file(whatif_report.csv_rows(report), part))
        if found is not None:
            rows = out.plan_csv_rows(found, report.scenario)
            _whole(_plan_path(csv), lambda part: _csv_file(rows, part))
    if png is not None:
        _whole(png, lambda part: whatif_report.draw(report, part))
        if found is not None:
            _whole(_plan_path(png), lambda part: out.draw_plan(found, report.scenario, part))


def _csv_file(rows: Iterator[Sequence[str]], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        whatif_report.write_csv(rows, out)


def _whole(path: Path, write: Callable[[Path], None]) -> None:
    """A file written whole or not at all (to a name beside it, then renamed): a disk that
    fills up leaves no half a CSV for a spreadsheet to read."""
    part = path.with_name(f".{path.name}.part")
    try:
        write(part)
        os.replace(part, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            part.unlink()
