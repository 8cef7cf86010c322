"""The daemon's one clock.

Every decision about time asks one clock for "now": the Python code calls it, and every SQL
statement that decides or records a time takes that "now" as a parameter (no statement reads
PostgreSQL's own `now()` or `clock_timestamp()`; tests/unit/test_one_clock.py checks it). The
daemon is given its clock at start: the wall clock in production, a fixed time in tests, a
simulated day at `--speed` in the demo. A decision taken half in Python and half in SQL is
then right whatever the wall clock says.

A clock is any callable returning an aware datetime; the channels take the same shape.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]


def wall_clock() -> datetime:
    """The real time: production's clock (and the only call of datetime.now in contactd)."""
    return datetime.now(UTC)


@dataclasses.dataclass
class FixedClock:
    """A clock that stands still at `at` until moved: tests fix one time and move it."""

    at: datetime

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("a clock's time must be timezone-aware")

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> datetime:
        """Move the clock on (`advance(minutes=5)`); returns the new time."""
        self.at += timedelta(**delta)
        return self.at


class SimulatedClock:
    """A clock that starts at `start` and runs `speed` times faster than real time.

    The demo plays the shipped configuration's day on it: its opening hours, goals and
    timers as they are, at 07:00 of a working day, however late it is really. Made with
    `running=False`, it stands at `start` until `run()` (while the daemon starts up).
    """

    def __init__(
        self,
        start: datetime,
        speed: float,
        *,
        running: bool = True,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if start.tzinfo is None:
            raise ValueError("a clock's time must be timezone-aware")
        if speed <= 0:
            raise ValueError("a simulated clock's speed must be more than 0")
        self.start = start
        self.speed = speed
        self._monotonic = monotonic
        self.origin: float | None = monotonic() if running else None

    def run(self) -> float:
        """Set the clock going from `start` (once); the monotonic time it started at."""
        if self.origin is None:
            self.origin = self._monotonic()
        return self.origin

    def __call__(self) -> datetime:
        if self.origin is None:
            return self.start
        return self.start + timedelta(seconds=(self._monotonic() - self.origin) * self.speed)


class ClockError(ValueError):
    """CONTACTD_CLOCK_START or CONTACTD_CLOCK_SPEED cannot be read; the message says why."""


def from_environment(env: Mapping[str, str]) -> Clock:
    """The wall clock, or, for trials and end-to-end tests, a simulated clock that starts at
    CONTACTD_CLOCK_START (ISO 8601 with its UTC offset) and runs CONTACTD_CLOCK_SPEED times
    as fast as real time (default 1)."""
    start_text = env.get("CONTACTD_CLOCK_START", "").strip()
    speed_text = env.get("CONTACTD_CLOCK_SPEED", "").strip()
    if not start_text:
        if speed_text:
            raise ClockError("CONTACTD_CLOCK_SPEED needs CONTACTD_CLOCK_START")
        return wall_clock
    try:
        start = datetime.fromisoformat(start_text)
    except ValueError:
        raise ClockError(
            f"CONTACTD_CLOCK_START = {start_text!r} is not a time; "
            "use ISO 8601 with its offset, e.g. 2026-12-01T10:00:00+01:00"
        ) from None
    if start.tzinfo is None:
        raise ClockError(
            f"CONTACTD_CLOCK_START = {start_text!r} has no UTC offset; "
            "e.g. 2026-12-01T10:00:00+01:00"
        )
    try:
        speed = float(speed_text or "1")
    except ValueError:
        raise ClockError(f"CONTACTD_CLOCK_SPEED = {speed_text!r} is not a number") from None
    if not 0 < speed <= 10_000:
        raise ClockError(f"CONTACTD_CLOCK_SPEED = {speed_text!r} must be above 0, at most 10000")
    return SimulatedClock(start, speed)
