"""Business calendars: Danish holidays, opening hours and business-time deadlines."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routing.calendar import BusinessCalendar, Interval

CPH = ZoneInfo("Europe/Copenhagen")
NINE_TO_THREE = (Interval(start=time(9, 0), end=time(15, 0)),)


def weekday_calendar(
    closed_month_days: frozenset[tuple[int, int]] = frozenset({(12, 24), (12, 31)}),
) -> BusinessCalendar:
    """Monday to Friday 09:00-15:00 in Copenhagen, closed on Danish public holidays."""
    return BusinessCalendar(
        timezone=CPH,
        hours=dict.fromkeys(range(5), NINE_TO_THREE),
        holiday_country="DK",
        closed_month_days=closed_month_days,
    )


CALENDAR = weekday_calendar()


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=CPH)


# Working days and opening hours


def test_an_ordinary_wednesday_is_a_working_day() -> None:
    assert CALENDAR.is_working_day(date(2026, 3, 11))


def test_saturday_is_not_a_working_day() -> None:
    assert not CALENDAR.is_working_day(date(2026, 3, 7))


def test_easter_monday_is_not_a_working_day() -> None:
    assert not CALENDAR.is_working_day(date(2026, 4, 6))


def test_christmas_day_is_not_a_working_day() -> None:
    assert not CALENDAR.is_working_day(date(2026, 12, 25))


def test_christmas_eve_is_closed_through_closed_month_days() -> None:
    assert not CALENDAR.is_working_day(date(2026, 12, 24))


def test_christmas_eve_is_no_public_holiday_so_it_is_open_unless_configured_closed() -> None:
    calendar = weekday_calendar(closed_month_days=frozenset())

    assert calendar.is_working_day(date(2026, 12, 24))


@pytest.mark.parametrize(
    ("at", "is_open"),
    [
        (local(2026, 3, 10, 8, 59), False),
        (local(2026, 3, 10, 9, 0), True),
        (local(2026, 3, 10, 14, 59), True),
        (local(2026, 3, 10, 15, 0), False),
        (local(2026, 3, 7, 10, 0), False),  # Saturday
        (local(2026, 4, 6, 10, 0), False),  # Easter Monday
        (datetime(2026, 3, 10, 8, 30, tzinfo=UTC), True),  # 09:30 in Copenhagen
    ],
)
def test_is_open_during_local_opening_hours_only(at: datetime, is_open: bool) -> None:
    assert CALENDAR.is_open(at) is is_open


def test_next_open_after_friday_closing_is_monday_opening() -> None:
    assert CALENDAR.next_open(local(2026, 3, 6, 16, 0)) == local(2026, 3, 9, 9, 0)


def test_next_open_while_open_is_now() -> None:
    assert CALENDAR.next_open(local(2026, 3, 10, 11, 15)) == local(2026, 3, 10, 11, 15)


# Working days


def test_friday_afternoon_mail_with_two_working_days_is_due_tuesday_same_time() -> None:
    assert CALENDAR.add_working_days(local(2026, 3, 6, 14, 0), 2) == local(2026, 3, 10, 14, 0)


def test_saturday_mail_with_two_working_days_is_due_wednesday_at_opening() -> None:
    assert CALENDAR.add_working_days(local(2026, 3, 7, 11, 0), 2) == local(2026, 3, 11, 9, 0)


def test_working_days_skip_maundy_thursday_good_friday_and_easter_monday() -> None:
    # Wednesday before Easter 2026; Thursday 2, Friday 3 and Monday 6 April are holidays.
    assert CALENDAR.add_working_days(local(2026, 4, 1, 14, 0), 2) == local(2026, 4, 8, 14, 0)


def test_working_days_skip_christmas_eve_and_the_christmas_holidays() -> None:
    # Wednesday 23 December 2026: 24 (closed), 25 and 26 (holidays), 27 (Sunday).
    assert CALENDAR.add_working_days(local(2026, 12, 23, 10, 0), 1) == local(2026, 12, 28, 10, 0)


@pytest.mark.parametrize(
    ("start", "due_utc"),
    [
        # Friday 14:00 CET (13:00 UTC) -> Monday 14:00 CEST (12:00 UTC), over 29 March 2026.
        (datetime(2026, 3, 27, 13, 0, tzinfo=UTC), datetime(2026, 3, 30, 12, 0, tzinfo=UTC)),
        # Friday 14:00 CEST (12:00 UTC) -> Monday 14:00 CET (13:00 UTC), over 25 October 2026.
        (datetime(2026, 10, 23, 12, 0, tzinfo=UTC), datetime(2026, 10, 26, 13, 0, tzinfo=UTC)),
    ],
    ids=["spring-forward", "fall-back"],
)
def test_working_days_over_a_dst_change_keep_the_local_clock_time(
    start: datetime, due_utc: datetime
) -> None:
    due = CALENDAR.add_working_days(start, 1)

    assert due.astimezone(CPH).time() == time(14, 0)
    assert due == due_utc


# Business time


def test_business_time_over_a_night_continues_at_next_opening() -> None:
    # Tuesday 14:00 + 3 h: one hour on Tuesday, two on Wednesday.
    due = CALENDAR.add_business_time(local(2026, 3, 10, 14, 0), timedelta(hours=3))

    assert due == local(2026, 3, 11, 11, 0)


def test_business_time_over_a_weekend_continues_on_monday() -> None:
    due = CALENDAR.add_business_time(local(2026, 3, 6, 14, 30), timedelta(hours=2))

    assert due == local(2026, 3, 9, 10, 30)


def test_business_time_started_while_closed_counts_from_opening() -> None:
    due = CALENDAR.add_business_time(local(2026, 3, 10, 7, 0), timedelta(minutes=30))

    assert due == local(2026, 3, 10, 9, 30)


@pytest.mark.parametrize(
    ("start", "due_utc"),
    [
        # Friday 14:00 CET + 2 h -> Monday 10:00 CEST = 08:00 UTC, over 29 March 2026.
        (local(2026, 3, 27, 14, 0), datetime(2026, 3, 30, 8, 0, tzinfo=UTC)),
        # Friday 14:00 CEST + 2 h -> Monday 10:00 CET = 09:00 UTC, over 25 October 2026.
        (local(2026, 10, 23, 14, 0), datetime(2026, 10, 26, 9, 0, tzinfo=UTC)),
    ],
    ids=["spring-forward", "fall-back"],
)
def test_business_time_over_a_dst_weekend_ends_at_the_right_local_clock_time(
    start: datetime, due_utc: datetime
) -> None:
    due = CALENDAR.add_business_time(start, timedelta(hours=2))

    assert due.astimezone(CPH).time() == time(10, 0)
    assert due == due_utc


@pytest.mark.parametrize(
    ("start", "due_utc"),
    [
        # 00:00 CET = 23:00 UTC; three real hours later is 02:00 UTC (04:00 CEST).
        (local(2026, 3, 29, 0, 0), datetime(2026, 3, 29, 2, 0, tzinfo=UTC)),
        # 00:00 CEST = 22:00 UTC; three real hours later is 01:00 UTC (02:00 CET).
        (local(2026, 10, 25, 0, 0), datetime(2026, 10, 25, 1, 0, tzinfo=UTC)),
    ],
    ids=["spring-forward", "fall-back"],
)
def test_business_time_counts_real_hours_in_an_interval_spanning_the_dst_change(
    start: datetime, due_utc: datetime
) -> None:
    round_the_clock = BusinessCalendar(
        timezone=CPH,
        hours=dict.fromkeys(range(7), (Interval(start=time(0, 0), end=time(23, 59)),)),
        holiday_country=None,
    )

    assert round_the_clock.add_business_time(start, timedelta(hours=3)) == due_utc


# A calendar that is never open


NEVER_OPEN = BusinessCalendar(timezone=CPH, hours={}, holiday_country="DK")


@pytest.mark.timeout(10)
def test_calendar_without_hours_refuses_business_time_instead_of_looping() -> None:
    with pytest.raises(ValueError, match="no opening hours within a year"):
        NEVER_OPEN.add_business_time(local(2026, 3, 10, 10, 0), timedelta(hours=1))


@pytest.mark.timeout(10)
def test_calendar_without_hours_refuses_working_days_instead_of_looping() -> None:
    with pytest.raises(ValueError, match="no opening hours within a year"):
        NEVER_OPEN.add_working_days(local(2026, 3, 10, 10, 0), 2)


@pytest.mark.timeout(10)
def test_calendar_without_hours_has_no_next_opening() -> None:
    assert NEVER_OPEN.next_open(local(2026, 3, 10, 10, 0)) is None


# Properties

moments = st.datetimes(
    min_value=datetime(2025, 1, 1),  # noqa: DTZ001 - bounds are naive by hypothesis' rules
    max_value=datetime(2029, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)
business_minutes = st.integers(min_value=0, max_value=200 * 60)


def at_open_moment_or_closing(calendar: BusinessCalendar, moment: datetime) -> bool:
    day = moment.astimezone(calendar.timezone).date()
    return calendar.is_open(moment) or any(end == moment for _, end in calendar.intervals_on(day))


@settings(max_examples=200, deadline=None)
@given(start=moments, minutes=business_minutes)
def test_business_time_never_ends_before_it_starts(start: datetime, minutes: int) -> None:
    assert CALENDAR.add_business_time(start, timedelta(minutes=minutes)) >= start


@settings(max_examples=200, deadline=None)
@given(start=moments, minutes=business_minutes, more=business_minutes)
def test_more_business_time_never_ends_earlier(start: datetime, minutes: int, more: int) -> None:
    shorter = CALENDAR.add_business_time(start, timedelta(minutes=minutes))
    longer = CALENDAR.add_business_time(start, timedelta(minutes=minutes + more))

    assert shorter <= longer


@settings(max_examples=200, deadline=None)
@given(start=moments, minutes=business_minutes)
def test_business_time_ends_inside_or_at_the_end_of_an_open_interval(
    start: datetime, minutes: int
) -> None:
    due = CALENDAR.add_business_time(start, timedelta(minutes=minutes))

    assert at_open_moment_or_closing(CALENDAR, due), due


@settings(max_examples=200, deadline=None)
@given(start=moments, days=st.integers(min_value=0, max_value=40))
def test_working_days_end_on_a_working_day_within_its_hours(start: datetime, days: int) -> None:
    due = CALENDAR.add_working_days(start, days)

    assert CALENDAR.is_working_day(due.astimezone(CPH).date()), due
    assert at_open_moment_or_closing(CALENDAR, due), due
    assert due >= start


# Business time between two moments (the e-mail goal's first-response time)


def test_business_time_counts_only_open_hours_across_a_weekend() -> None:
    # Friday 14:00 to Monday 10:00: one hour on Friday and one on Monday.
    assert CALENDAR.business_time(local(2026, 3, 13, 14), local(2026, 3, 16, 10)) == timedelta(
        hours=2
    )


def test_business_time_of_a_closed_stretch_or_backwards_is_zero() -> None:
    assert CALENDAR.business_time(local(2026, 3, 14, 10), local(2026, 3, 15, 18)) == timedelta()
    assert CALENDAR.business_time(local(2026, 3, 16, 12), local(2026, 3, 16, 10)) == timedelta()


@settings(max_examples=50)
@given(start=moments, hours=st.floats(0, 60))
def test_business_time_undoes_add_business_time(start: datetime, hours: float) -> None:
    amount = timedelta(hours=hours)
    end = CALENDAR.add_business_time(start, amount)
    assert abs(CALENDAR.business_time(start, end) - amount) < timedelta(microseconds=10)
