"""The agency's own part of the configuration: its calendars, queues with their goals, and
case types, as written in contactd.toml and case_types.toml."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from datetime import date, time
from typing import Annotated, Protocol
from zoneinfo import ZoneInfo

import pydantic
from pydantic import Field

from contactd.settings.sections import LanguageCode, Name, StrictSection
from routing.calendar import WEEKDAYS, BusinessCalendar, Interval
from routing.contact import Channel
from routing.goals import Threshold
from routing.queues import CaseType, ProcessingGoal, Queue

HttpsUrl = Annotated[str, Field(pattern=r"^https://\S+$")]


class Agency(Protocol):
    """What the agency offers, as a service needs to know it: its case types, its queues with
    their goals and calendars, and its time zone. Settings is one; a service given an Agency
    sees no secret and no other section."""

    @property
    def timezone(self) -> ZoneInfo: ...

    @property
    def case_types(self) -> Mapping[str, CaseType]: ...

    @property
    def queues(self) -> tuple[Queue, ...]: ...

    @property
    def wrap_up_codes(self) -> Mapping[str, WrapUpCodeConfig]: ...


_HOURS = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
_MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _interval(text: str) -> Interval:
    match = _HOURS.match(text)
    if not match:
        raise ValueError("must look like '09:00-15:00'")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    try:
        start, end = time(h1, m1), time(h2, m2)
    except ValueError as exc:
        raise ValueError("must look like '09:00-15:00' with real clock times") from exc
    if end <= start:
        raise ValueError("must end after it starts")
    return Interval(start=start, end=end)


def _closed_day(text: str) -> str:
    if _MONTH_DAY.match(text):
        month, day = (int(g) for g in text.split("-"))
        date(2024, month, day)  # a leap year, so 02-29 is allowed
        return text
    if not _DATE.match(text):
        raise ValueError(text)
    date.fromisoformat(text)
    return text


class CalendarConfig(StrictSection):
    mon: list[str] = Field(default_factory=list)
    tue: list[str] = Field(default_factory=list)
    wed: list[str] = Field(default_factory=list)
    thu: list[str] = Field(default_factory=list)
    fri: list[str] = Field(default_factory=list)
    sat: list[str] = Field(default_factory=list)
    sun: list[str] = Field(default_factory=list)
    holidays: str | None = "DK"
    closed_days: list[str] = Field(
        default=[], description="'MM-DD' every year or 'YYYY-MM-DD' once"
    )

    @pydantic.field_validator("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    @classmethod
    def _hours(cls, value: list[str]) -> list[str]:
        intervals = [_interval(v) for v in value]
        for a, b in itertools.pairwise(intervals):
            if b.start < a.end:
                raise ValueError("intervals must be in order and must not overlap")
        return value

    @pydantic.field_validator("closed_days")
    @classmethod
    def _closed(cls, value: list[str]) -> list[str]:
        for v in value:
            try:
                _closed_day(v)
            except ValueError as exc:
                raise ValueError(f"{v!r} must be 'MM-DD' or 'YYYY-MM-DD'") from exc
        return value

    @pydantic.field_validator("holidays")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        import holidays as holiday_lib

        if value is None or value == "none":  # TOML has no null: "none" switches them off
            return None
        if value not in holiday_lib.list_supported_countries():
            raise ValueError(
                "must be a country code known to the holidays package, e.g. 'DK', or 'none'"
            )
        return value

    @pydantic.model_validator(mode="after")
    def _some_hours(self) -> CalendarConfig:
        if not any(getattr(self, day) for day in WEEKDAYS):
            raise ValueError("a calendar needs opening hours on at least one weekday")
        return self

    def build(self, tz: ZoneInfo) -> BusinessCalendar:
        hours = {
            i: tuple(_interval(t) for t in getattr(self, name)) for i, name in enumerate(WEEKDAYS)
        }
        dates = frozenset(date.fromisoformat(d) for d in self.closed_days if len(d) == 10)
        month_days = frozenset((int(d[:2]), int(d[3:])) for d in self.closed_days if len(d) == 5)
        return BusinessCalendar(
            timezone=tz,
            hours=hours,
            holiday_country=self.holidays,
            closed_dates=dates,
            closed_month_days=month_days,
        )


class GoalConfig(StrictSection):
    threshold: str
    target: Annotated[float, Field(gt=0, le=1)]
    sl_variant: Annotated[int, Field(ge=1, le=5)] = 1
    calendar: str | None = None  # default: the queue's calendar

    @pydantic.field_validator("threshold")
    @classmethod
    def _threshold(cls, value: str) -> str:
        Threshold.parse(value)
        return value


class QueueConfig(StrictSection):
    name_da: str
    name_en: str
    # Its name in each further language [agency] serves (`{ ar = "…", uk = "…" }`).
    names: dict[LanguageCode, Name] = Field(default_factory=dict)
    case_types: list[str] = Field(min_length=1)
    channels: list[Channel] = Field(min_length=1)
    priority: Annotated[int, Field(ge=0, le=100)] = 0
    calendar: str
    goals: dict[Channel, GoalConfig]
    overflow_to: list[str] = Field(default_factory=list)
    overflow_after_seconds: Annotated[int, Field(gt=0)] | None = None
    # [[after seconds, required level], ...]: the skill level a contact needs, relaxing as
    # it waits (bullseye routing). Default: any level from the start.
    bullseye: list[tuple[Annotated[int, Field(ge=0)], Annotated[int, Field(ge=1, le=5)]]] = Field(
        default_factory=lambda: [(0, 1)]
    )
    # The letter of its service-centre tickets (A001, ...); default: A, B, C, ... in the order
    # of the queues that take tickets.
    ticket_letter: Annotated[str, Field(pattern=r"^[A-Z]$")] | None = None
    # The share of finished contacts asked how satisfied they were (0: none, 1: all).
    csat_share: Annotated[float, Field(ge=0, le=1)] = 0.0
    # Why clients contact this queue, as a caseworker records it when finishing (codes of
    # the top-level [wrap_up_codes]); `wrap_up_required`: a contact cannot be finished without.
    wrap_up: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]] = Field(
        default_factory=list
    )
    wrap_up_required: bool = False

    @pydantic.field_validator("bullseye")
    @classmethod
    def _widening(cls, value: list[tuple[int, int]]) -> list[tuple[int, int]]:
        if not value or value[0][0] != 0:
            raise ValueError("must start with a step at 0 seconds, e.g. [[0, 3], [120, 1]]")
        for (t1, l1), (t2, l2) in itertools.pairwise(value):
            if t2 <= t1 or l2 > l1:
                raise ValueError("steps must come later and never ask for a higher level")
        return value


class WrapUpCodeConfig(StrictSection):
    """A wrap-up code's name in the clients' terms, as caseworkers choose it."""

    da: Annotated[str, Field(min_length=1, max_length=80)]
    en: Annotated[str, Field(min_length=1, max_length=80)]


class CaseTypeConfig(StrictSection):
    da: str
    en: str
    # Its name in each further language [agency] serves (`{ ar = "…", uk = "…" }`).
    names: dict[LanguageCode, Name] = Field(default_factory=dict)
    scope: str = ""
    # "10 months", "15 days": told in the client's language; none for a case type (general
    # questions) that has no processing-time goal.
    processing_goal: str | None = None
    checklist_url: HttpsUrl
    # The checklist in a language that has its own page (`{ da = "https://…" }`).
    checklists: dict[LanguageCode, HttpsUrl] = Field(default_factory=dict)

    @pydantic.field_validator("processing_goal")
    @classmethod
    def _goal(cls, value: str | None) -> str | None:
        if value is not None:
            ProcessingGoal.parse(value)
        return value
