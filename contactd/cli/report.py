"""`contactd report`: the service-goal attainment of past days (contactd/services/report.py),
as a table on stdout, and a CSV and a chart on request. Bad dates are one line on stderr and
exit status 2, before the database is opened."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from pathlib import Path
from typing import Any

from contactd.cli import report_output
from contactd.services import report
from contactd.settings import Settings
from contactd.store import database

OpenDatabase = Callable[[], AbstractAsyncContextManager[database.Conn]]


def add_parser(sub: Any) -> argparse.ArgumentParser:
    cmd: argparse.ArgumentParser = sub.add_parser(
        "report", help="service-goal attainment per day, queue and channel: table, CSV, chart"
    )
    cmd.add_argument("--date", metavar="YYYY-MM-DD", help="one local day")
    cmd.add_argument("--from", dest="first", metavar="YYYY-MM-DD", help="first day")
    cmd.add_argument("--to", dest="last", metavar="YYYY-MM-DD", help="last day (inclusive)")
    cmd.add_argument("--csv", type=Path, metavar="FILE", help="also write the figures as CSV")
    cmd.add_argument("--png", type=Path, metavar="FILE", help="also draw the service levels")
    return cmd


async def run(
    config: Settings, args: argparse.Namespace, now: datetime, open_db: OpenDatabase
) -> int:
    try:  # before the database: bad dates start no server and write no file
        first, last = report.period(
            day=args.date,
            first=args.first,
            last=args.last,
            today=now.astimezone(config.timezone).date(),
        )
    except report.PeriodError as exc:
        print(f"contactd: {exc}", file=sys.stderr)
        return 2
    async with open_db() as conn:
        days = await report.gather(conn, config.queues, config.timezone, first, last, now)
    # The files before the table: a reader that stops early (`| head`) loses none of them.
    for path, write in ((args.csv, report_output.write_csv), (args.png, report_output.draw)):
        if path is None:
            continue
        try:
            write(days, path)
        except OSError as exc:
            print(f"contactd: cannot write {path}: {exc.strerror}", file=sys.stderr)
            return 1
    for line in report_output.table(days, config.timezone):
        print(line)
    return 0
