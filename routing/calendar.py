"""Business calendars: opening hours, Danish public holidays, and business-time deadlines."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Interval:
    start: time
    end: time


class Closures:
    """Extra closed periods a supervisor adds while the daemon runs (a staff meeting, a power
    cut): kept in the database and loaded into every instance's calendars, which read them
    here. Replaced whole, never changed in place, so a reader always sees one set."""

    def __init__(self) -> None:
        self.periods: tuple[tuple[datetime, datetime], ...] = ()

    def replace(self, periods: Iterable[tuple[datetime, datetime]]) -> None:
        self.periods = tuple(sorted(periods))

    def cut(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """What is left of the open interval [start, end) after the closed periods, in the
        interval's own time zone (the database gives closures in UTC)."""
        left = [(start, end)]
        for closed_from, closed_to in self.periods:
            if closed_to <= start or closed_from >= end:
                continue
            pieces = []
            for a, b in left:
                if closed_from > a:
                    pieces.append((a, min(b, closed_from)))
                if closed_to < b:
                    pieces.append((max(a, closed_to), b))
            left = [(a, b) for a, b in pieces if a < b]
        return [(a.astimezone(start.tzinfo), b.astimezone(start.tzinfo)) for a, b in left]


@dataclasses.dataclass(frozen=True, kw_only=True)
class BusinessCalendar:
    """Opening hours per weekday (local time), closed on public holidays, extra days, and
    the closed periods added while running (`closures`)."""

    timezone: ZoneInfo
    hours: Mapping[int, tuple[Interval, ...]]  # 0 = Monday
    holiday_country: str | None = "DK"
    closed_dates: frozenset[date] = frozenset()
    closed_month_days: frozenset[tuple[int, int]] = frozenset()  # e.g. (12, 24) every year
    closures: Closures = dataclasses.field(default_factory=Closures, compare=False)

    def is_working_day(self, day: date) -> bool:
        if not self.hours.get(day.weekday()):
            return False
        if day in self.closed_dates or (day.month, day.day) in self.closed_month_days:
            return False
        return not (self.holiday_country and day in _holidays(self.holiday_country, day.year))

    def intervals_on(self, day: date) -> list[tuple[datetime, datetime]]:
        """The open intervals of a day as aware datetimes, empty on a closed day, without
        the closed periods added while running."""
        if not self.is_working_day(day):
            return []
        return [
            piece
            for i in self.hours[day.weekday()]
            for piece in self.closures.cut(
                datetime.combine(day, i.start, self.timezone),
                datetime.combine(day, i.end, self.timezone),
            )
        ]

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(self.timezone)
        return any(s <= local < e for s, e in self.intervals_on(local.date()))

    def open_intervals_from(self, at: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open intervals that end after `at`, clipped to start no earlier than it.

        Stops after a year of closed days, so a calendar with no opening hours cannot loop.
        """
        local = at.astimezone(self.timezone)
        day = local.date()
        for _ in range(370):
            for start, end in self.intervals_on(day):
                if end > local:
                    # In UTC: arithmetic between two datetimes of one ZoneInfo ignores a DST
                    # change between them, and an open interval may span one.
                    yield max(start, local).astimezone(UTC), end.astimezone(UTC)
            day += timedelta(days=1)

    def next_open(self, at: datetime) -> datetime | None:
        """`at` if open, else the next opening moment; None if closed for a whole year."""
        return next((start for start, _ in self.open_intervals_from(at)), None)

    def add_business_time(self, at: datetime, amount: timedelta) -> datetime:
        """The moment when `amount` of open time has passed since `at`."""
        left = amount
        for start, end in self.open_intervals_from(at):
            if end - start >= left:
                return start + left
            left -= end - start
        raise ValueError("the calendar has no opening hours within a year")

    def business_time(self, start: datetime, end: datetime) -> timedelta:
        """The open time between two moments (zero if `end` is not after `start`)."""
        total = timedelta()
        if end <= start:
            return total
        end = end.astimezone(UTC)
        for open_at, close_at in self.open_intervals_from(start):
            if open_at >= end:
                break
            total += min(close_at, end) - open_at
        return total

    def add_working_days(self, at: datetime, days: int) -> datetime:
        """The same clock time `days` working days later, counted from the next open moment.

        A mail received on Friday at 14:00 with a two-day goal is due on Tuesday at 14:00;
        one received on Saturday is due on Wednesday at opening time. The deadline is
        clipped to the closing time of the day it falls on.
        """
        start = self.next_open(at)
        if start is None:
            raise ValueError("the calendar has no opening hours within a year")
        local = start.astimezone(self.timezone)
        day = local.date()
        counted = 0
        while counted < days:
            day += timedelta(days=1)
            if self.intervals_on(day):  # a working day not closed all day while running
                counted += 1
        candidate = datetime.combine(day, local.timetz().replace(tzinfo=None), self.timezone)
        intervals = self.intervals_on(day)
        if candidate < intervals[0][0]:
            return intervals[0][0]
        if candidate > intervals[-1][1]:
            return intervals[-1][1]
        return candidate


_HOLIDAY_CACHE: dict[tuple[str, int], holidays.HolidayBase] = {}


def _holidays(country: str, year: int) -> holidays.HolidayBase:
    key = (country, year)
    if key not in _HOLIDAY_CACHE:
        _HOLIDAY_CACHE[key] = holidays.country_holidays(country, years=year)
    return _HOLIDAY_CACHE[key]
