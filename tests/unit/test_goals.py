"""Service-goal thresholds: how they are written and the due time they give a contact."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from routing.calendar import BusinessCalendar, Interval
from routing.goals import Threshold, Unit

CPH = ZoneInfo("Europe/Copenhagen")
WEEKDAYS_NINE_TO_THREE = BusinessCalendar(
    timezone=CPH,
    hours=dict.fromkeys(range(5), (Interval(start=time(9, 0), end=time(15, 0)),)),
    holiday_country="DK",
    closed_month_days=frozenset({(12, 24), (12, 31)}),
)
# Consulting this calendar for anything raises ValueError: it is never open.
NEVER_OPEN = BusinessCalendar(timezone=CPH, hours={}, holiday_country="DK")


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=CPH)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5 minutes", Threshold(amount=5, unit=Unit.MINUTES)),
        ("1 minute", Threshold(amount=1, unit=Unit.MINUTES)),
        ("2 working days", Threshold(amount=2, unit=Unit.WORKING_DAYS)),
        ("1 working day", Threshold(amount=1, unit=Unit.WORKING_DAYS)),
        ("4 working hours", Threshold(amount=4, unit=Unit.WORKING_HOURS)),
        ("3 hours", Threshold(amount=3, unit=Unit.HOURS)),
        ("30 seconds", Threshold(amount=30, unit=Unit.SECONDS)),
    ],
)
def test_threshold_parses_amount_and_unit(text: str, expected: Threshold) -> None:
    assert Threshold.parse(text) == expected


def test_threshold_reads_back_as_it_is_written() -> None:
    assert str(Threshold.parse("4 working hours")) == "4 working hours"


@pytest.mark.parametrize("text", ["5 mins", "-1 minutes", "", "two days", "5", "minutes"])
def test_threshold_rejects_other_forms_listing_the_allowed_ones(text: str) -> None:
    with pytest.raises(ValueError, match="is not a threshold") as refused:
        Threshold.parse(text)

    assert str(refused.value) == (
        f"{text!r} is not a threshold; use '<n> seconds', '<n> minutes', '<n> hours', "
        "'<n> working hours', '<n> working days'"
    )


def test_wall_clock_minutes_ignore_the_calendar() -> None:
    # Saturday: the office is shut, but a caller on the line still waits in real time.
    due = Threshold.parse("5 minutes").deadline(local(2026, 3, 7, 11, 0), NEVER_OPEN)

    assert due == local(2026, 3, 7, 11, 5)


def test_wall_clock_seconds_ignore_the_calendar() -> None:
    due = Threshold.parse("30 seconds").deadline(local(2026, 3, 7, 11, 0), NEVER_OPEN)

    assert due == datetime(2026, 3, 7, 10, 0, 30, tzinfo=UTC)


def test_wall_clock_hours_run_past_closing_time() -> None:
    due = Threshold.parse("2 hours").deadline(local(2026, 3, 6, 14, 30), WEEKDAYS_NINE_TO_THREE)

    assert due == local(2026, 3, 6, 16, 30)


def test_wall_clock_hours_count_real_seconds_over_the_dst_change() -> None:
    # 01:30 CET on 29 March 2026 is 00:30 UTC; two real hours later is 02:30 UTC.
    due = Threshold.parse("2 hours").deadline(local(2026, 3, 29, 1, 30), NEVER_OPEN)

    assert due == datetime(2026, 3, 29, 2, 30, tzinfo=UTC)


def test_working_hours_count_only_open_time() -> None:
    # Friday 14:00: one hour on Friday, three on Monday.
    due = Threshold.parse("4 working hours").deadline(
        local(2026, 3, 6, 14, 0), WEEKDAYS_NINE_TO_THREE
    )

    assert due == local(2026, 3, 9, 12, 0)


def test_working_days_count_only_working_days() -> None:
    due = Threshold.parse("2 working days").deadline(
        local(2026, 3, 6, 14, 0), WEEKDAYS_NINE_TO_THREE
    )

    assert due == local(2026, 3, 10, 14, 0)


def test_working_units_need_a_calendar_with_opening_hours() -> None:
    with pytest.raises(ValueError, match="no opening hours within a year"):
        Threshold.parse("4 working hours").deadline(local(2026, 3, 6, 14, 0), NEVER_OPEN)
