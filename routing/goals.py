"""Service goals: the promise each queue makes per channel, and the due time it implies."""

from __future__ import annotations

import dataclasses
import enum
import re
from datetime import UTC, datetime, timedelta

from routing.calendar import BusinessCalendar


class Unit(enum.StrEnum):
    SECONDS = "seconds"
    MINUTES = "minutes"
    HOURS = "hours"
    WORKING_HOURS = "working hours"
    WORKING_DAYS = "working days"


_THRESHOLD = re.compile(r"^\s*(\d+)\s*(seconds?|minutes?|hours?|working hours?|working days?)\s*$")
THRESHOLD_FORMS = (
    "'<n> seconds', '<n> minutes', '<n> hours', '<n> working hours', '<n> working days'"
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Threshold:
    amount: int
    unit: Unit

    @classmethod
    def parse(cls, text: str) -> Threshold:
        match = _THRESHOLD.match(text)
        if not match:
            raise ValueError(f"{text!r} is not a threshold; use {THRESHOLD_FORMS}")
        unit = match.group(2)
        unit = unit if unit.endswith("s") else unit + "s"
        return cls(amount=int(match.group(1)), unit=Unit(unit))

    def __str__(self) -> str:
        return f"{self.amount} {self.unit}"

    def deadline(self, start: datetime, calendar: BusinessCalendar) -> datetime:
        """When a contact that started waiting at `start` breaks this promise.

        Wall-clock units count every second (a caller waits on the line whether or not the
        office is open); working units count only the queue's open time.
        """
        elapsed = start.astimezone(UTC)  # in UTC, so that a DST change counts real seconds
        match self.unit:
            case Unit.SECONDS:
                return elapsed + timedelta(seconds=self.amount)
            case Unit.MINUTES:
                return elapsed + timedelta(minutes=self.amount)
            case Unit.HOURS:
                return elapsed + timedelta(hours=self.amount)
            case Unit.WORKING_HOURS:
                return calendar.add_business_time(start, timedelta(hours=self.amount))
            case Unit.WORKING_DAYS:
                return calendar.add_working_days(start, self.amount)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ServiceGoal:
    """`target` of contacts handled within `threshold`, measured with SL variant `sl_variant`
    (1-5, as defined in docs/reference/kpi.md)."""

    threshold: Threshold
    target: float
    sl_variant: int = 1
