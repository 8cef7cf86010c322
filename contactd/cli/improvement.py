"""`contactd improvement`: the improvement report of a week or a chosen period on the command
line (contactd/services/improvement.py): tables on stdout, and a CSV and a chart on request.
Bad options are one line on stderr and exit status 2, before the database is opened."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from contactd.clock import Clock
from contactd.services import improvement, improvement_output, report
from contactd.services.improvement import Period
from contactd.settings import Settings
from contactd.store import database

_WEEK = re.compile(r"(\d{4})-W(\d{2})")
OpenDatabase = Callable[[], AbstractAsyncContextManager[database.Conn]]


def add_parser(sub: Any) -> argparse.ArgumentParser:
    cmd: argparse.ArgumentParser = sub.add_parser(
        "improvement",
        help="the improvement report of a week or period: goals with their trend, "
        "satisfaction and comments, failure demand, corrections",
    )
    cmd.add_argument("--week", metavar="YYYY-Www", help="an ISO week, e.g. 2026-W48 "
                     "(default: last week)")  # fmt: skip
    cmd.add_argument("--from", dest="first", metavar="YYYY-MM-DD", help="first day")
    cmd.add_argument("--to", dest="last", metavar="YYYY-MM-DD", help="last day (inclusive)")
    cmd.add_argument("--follow-up-days", type=int, metavar="N", help="a contact followed by "
                     "another within N days is failure demand (default: [improvement] "
                     "follow_up_days)")  # fmt: skip
    cmd.add_argument("--search", metavar="TEXT", help="only the comments that contain TEXT")
    cmd.add_argument("--csv", type=Path, metavar="FILE", help="also write every figure as CSV")
    cmd.add_argument("--png", type=Path, metavar="FILE", help="also draw the chart")
    return cmd


def run(config: Settings, args: argparse.Namespace, clock: Clock, open_db: OpenDatabase) -> int:
    now = clock()
    try:
        period = _period(args, now.astimezone(config.timezone).date())
    except report.PeriodError as exc:
        print(f"contactd: {exc}", file=sys.stderr)
        return 2
    follow_up = args.follow_up_days
    if follow_up is None:
        follow_up = config.improvement.follow_up_days
    if not 1 <= follow_up <= 90:
        print(f"contactd: --follow-up-days {follow_up}: give 1 to 90", file=sys.stderr)
        return 2

    async def read() -> improvement.Improvement:
        async with open_db() as conn:
            return await improvement.of_agency(
                conn, config, period, now=now, follow_up_days=follow_up, search=args.search
            )

    found = asyncio.run(read())
    try:  # the files first, as `contactd report` does
        if args.csv is not None:
            args.csv.write_text(improvement_output.csv_text(found), "utf-8", newline="")
        if args.png is not None:
            improvement_output.draw(found, args.png)
    except OSError as exc:
        print(f"contactd: cannot write {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 1
    for line in improvement_output.text(found):
        print(line)
    return 0


def _period(args: argparse.Namespace, today: date) -> Period:
    """--week, or --from and --to (as `contactd report` takes them), or last week."""
    if args.week is not None:
        if args.first is not None or args.last is not None:
            raise report.PeriodError("give --week, or --from and --to, not both")
        match = _WEEK.fullmatch(args.week)
        try:
            if match is None:
                raise ValueError
            monday = date.fromisocalendar(int(match[1]), int(match[2]), 1)
        except ValueError:
            raise report.PeriodError(
                f"--week {args.week!r}: give an ISO week, e.g. 2026-W48"
            ) from None
        if monday > today:
            raise report.PeriodError(f"--week {args.week} has not begun (today is {today})")
        return Period.week_of(monday)
    if args.first is None and args.last is None:
        return Period.week_of(today - timedelta(days=7))
    if args.first is None or args.last is None:  # `report`'s words would offer --date
        raise report.PeriodError("give both --from D1 and --to D2 (or --week)")
    first, last = report.period(day=None, first=args.first, last=args.last, today=today)
    return Period(first, last)
