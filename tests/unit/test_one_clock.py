"""One clock: no code of the daemon reads the time but through the clock it is given
(contactd/clock.py), and no SQL statement reads PostgreSQL's own clock."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from contactd.clock import FixedClock, SimulatedClock
from tests.conftest import ROOT

# PostgreSQL's readings of its own clock (a column default in the migrations of the past is
# history: migration 0011 dropped them all).
SQL_CLOCK = re.compile(
    r"\b(now|clock_timestamp|statement_timestamp|transaction_timestamp|timeofday)\s*\(\)"
    r"|\b(current_timestamp|current_date|current_time|localtimestamp|localtime)\b",
    re.IGNORECASE,
)
PY_CLOCK = re.compile(r"\b(datetime\.now|datetime\.utcnow|date\.today|time\.time)\s*\(")
# Where reading the wall clock is the point, each with its reason.
PY_ALLOWED = {
    "contactd/clock.py": "the wall clock itself",
    "simulator/engine.py": "clients against a deployment live in real time",
    "classifier/model.py": "when a model file was trained: a label, not a decision",
}


def _statements() -> dict[str, str]:
    """Every SQL file the daemon runs (the migrations of the past excepted)."""
    folder = ROOT / "contactd" / "store" / "sql"
    return {p.name: p.read_text() for p in folder.glob("*.sql")}


def _without_comments(sql: str) -> str:
    return "\n".join(line.split("--", 1)[0] for line in sql.splitlines())


def test_no_statement_reads_the_database_clock() -> None:
    found = [
        f"contactd/store/sql/{name}: {line.strip()}"
        for name, sql in _statements().items()
        for line in _without_comments(sql).splitlines()
        if SQL_CLOCK.search(line)
        # The migrations' own bookkeeping: when the server applied a file.
        and not (name == "schema.sql" and line.split()[0] == "applied_at")
    ]
    assert found == []


def test_the_check_finds_a_statement_that_reads_the_database_clock() -> None:
    assert SQL_CLOCK.search("WHERE not_before <= now()")
    assert SQL_CLOCK.search("SET x = CLOCK_TIMESTAMP ()")
    assert SQL_CLOCK.search("WHERE day = current_date")
    assert not SQL_CLOCK.search(_without_comments("WHERE not_before <= $2 -- not now()"))


def test_no_module_reads_the_wall_clock_but_the_clock() -> None:
    found = []
    for folder in ("contactd", "channels", "routing", "classifier"):
        for path in (ROOT / folder).rglob("*.py"):
            name = path.relative_to(ROOT).as_posix()
            if name in PY_ALLOWED:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if PY_CLOCK.search(line.split("#", 1)[0]):
                    found.append(f"{name}:{number}: {line.strip()}")
    assert found == []


def test_a_fixed_clock_stands_still_until_moved() -> None:
    clock = FixedClock(datetime(2026, 12, 1, 9, tzinfo=UTC))
    assert clock() == clock() == datetime(2026, 12, 1, 9, tzinfo=UTC)
    assert clock.advance(minutes=5) == datetime(2026, 12, 1, 9, 5, tzinfo=UTC) == clock()


def test_a_fixed_clock_refuses_a_naive_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        FixedClock(datetime(2026, 12, 1, 9))  # noqa: DTZ001 - the mistake under test


def test_a_simulated_clock_stands_until_run_then_runs_at_its_speed() -> None:
    ticks = iter([100.0, 103.0])  # the monotonic clock at: run(), then the reading
    start = datetime(2026, 12, 1, 7, tzinfo=UTC)
    clock = SimulatedClock(start, 120, running=False, monotonic=lambda: next(ticks))
    assert clock() == start
    assert clock.run() == 100.0
    assert clock() == start + timedelta(seconds=3 * 120)
