"""Closed periods added while running (issue 18): an afternoon closure splits a day's opening
hours, the next opening skips it, business time does not count it, and a day closed all day
is not a working day for e-mail goals; across a change of the clocks too."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given
from hypothesis import strategies as st

from routing.calendar import BusinessCalendar, Closures, Interval
from tests.unit.test_calendar import CPH, local

EIGHT_TO_FOUR = (Interval(start=time(8, 0), end=time(16, 0)),)


def calendar(*closed: tuple[datetime, datetime]) -> BusinessCalendar:
    """Monday to Friday 08:00-16:00 in Copenhagen, with closed periods added."""
    c = BusinessCalendar(timezone=CPH, hours=dict.fromkeys(range(5), EIGHT_TO_FOUR))
    c.closures.replace(closed)
    return c


def test_an_afternoon_closure_splits_the_day() -> None:
    # Tuesday 1 December 2026: a staff meeting 12:30-14:00.
    c = calendar((local(2026, 12, 1, 12, 30), local(2026, 12, 1, 14)))
    assert c.intervals_on(local(2026, 12, 1).date()) == [
        (local(2026, 12, 1, 8), local(2026, 12, 1, 12, 30)),
        (local(2026, 12, 1, 14), local(2026, 12, 1, 16)),
    ]
    assert c.is_open(local(2026, 12, 1, 12, 29))
    assert not c.is_open(local(2026, 12, 1, 13))
    assert c.next_open(local(2026, 12, 1, 13)) == local(2026, 12, 1, 14)
    # The next day is untouched.
    assert c.intervals_on(local(2026, 12, 2).date()) == [
        (local(2026, 12, 2, 8), local(2026, 12, 2, 16))
    ]


def test_business_time_does_not_count_a_closure() -> None:
    c = calendar((local(2026, 12, 1, 12), local(2026, 12, 1, 14)))
    assert c.business_time(local(2026, 12, 1, 8), local(2026, 12, 1, 16)) == timedelta(hours=6)
    # Four working hours from 10:00: 10-12, then 14-16.
    assert c.add_business_time(local(2026, 12, 1, 10), timedelta(hours=4)) == local(2026, 12, 1, 16)


def test_a_day_closed_all_day_is_not_a_working_day_for_e_mail_goals() -> None:
    # A power cut closes Wednesday 2 December all day: two working days from Tuesday 10:00
    # are Thursday and Friday.
    c = calendar((local(2026, 12, 2, 0), local(2026, 12, 3, 0)))
    assert c.intervals_on(local(2026, 12, 2).date()) == []
    assert c.add_working_days(local(2026, 12, 1, 10), 2) == local(2026, 12, 4, 10)


def test_a_closure_across_the_change_to_winter_time() -> None:
    # The clocks go back in Copenhagen on Sunday 25 October 2026; a closure from Friday 15:00
    # to Monday 10:00 spans it.
    c = calendar((local(2026, 10, 23, 15), local(2026, 10, 26, 10)))
    assert c.next_open(local(2026, 10, 23, 15)) == local(2026, 10, 26, 10)
    assert c.business_time(local(2026, 10, 23, 8), local(2026, 10, 26, 12)) == timedelta(hours=9)


@given(
    start_minute=st.integers(8 * 60, 16 * 60 - 1),
    length=st.integers(1, 10 * 60),
)
def test_open_time_falls_by_exactly_the_closed_time_within_the_day(
    start_minute: int, length: int
) -> None:
    day = local(2026, 12, 1)
    closed_from = day + timedelta(minutes=start_minute)
    closed_to = closed_from + timedelta(minutes=length)
    c = calendar((closed_from, closed_to))
    closed_within = min(closed_to, local(2026, 12, 1, 16)) - closed_from
    open_time = c.business_time(local(2026, 12, 1, 8), local(2026, 12, 1, 16))
    assert open_time == timedelta(hours=8) - closed_within


def test_the_opening_after_a_closure_from_the_database_is_in_local_time() -> None:
    # The database gives closures in UTC; the day's intervals (and so the callback windows'
    # ids and the times the API shows) stay in the calendar's own time.
    c = calendar(
        (local(2026, 12, 1, 12, 30).astimezone(UTC), local(2026, 12, 1, 14).astimezone(UTC))
    )
    assert [
        (s.isoformat(), e.isoformat()) for s, e in c.intervals_on(local(2026, 12, 1).date())
    ] == [
        ("2026-12-01T08:00:00+01:00", "2026-12-01T12:30:00+01:00"),
        ("2026-12-01T14:00:00+01:00", "2026-12-01T16:00:00+01:00"),
    ]


SUNDAY_NIGHT = BusinessCalendar(  # open on Sundays 00:00-06:00, across the change of the clocks
    timezone=CPH, hours={6: (Interval(start=time(0, 0), end=time(6, 0)),)}, holiday_country=None
)


def sunday_night(*closed: tuple[datetime, datetime]) -> BusinessCalendar:
    c = dataclasses.replace(SUNDAY_NIGHT, closures=Closures())
    c.closures.replace(closed)
    return c


def test_a_closure_over_the_change_to_winter_time_counts_real_hours() -> None:
    # Sunday 25 October 2026: 03:00 summer time becomes 02:00 winter time, so 00:00-06:00 is
    # seven hours, and a closure 01:00-04:00 (by the clock) is four of them.
    day = date(2026, 10, 25)
    closed = (local(2026, 10, 25, 1), local(2026, 10, 25, 4))
    c = sunday_night(closed)
    assert sunday_night().business_time(local(2026, 10, 25), local(2026, 10, 26)) == timedelta(
        hours=7
    )
    assert c.business_time(local(2026, 10, 25), local(2026, 10, 26)) == timedelta(hours=3)
    assert c.intervals_on(day) == [
        (local(2026, 10, 25, 0), local(2026, 10, 25, 1)),
        (local(2026, 10, 25, 4), local(2026, 10, 25, 6)),
    ]
    # Two open hours from midnight: one before the closure, one after it.
    assert c.add_business_time(local(2026, 10, 25), timedelta(hours=2)) == local(2026, 10, 25, 5)


def test_a_closure_over_the_change_to_summer_time_counts_real_hours() -> None:
    # Sunday 29 March 2026: 02:00 winter time becomes 03:00 summer time, so 00:00-06:00 is five
    # hours, and a closure 01:30-03:30 (by the clock) is one of them.
    c = sunday_night((local(2026, 3, 29, 1, 30), local(2026, 3, 29, 3, 30)))
    assert c.business_time(local(2026, 3, 29), local(2026, 3, 30)) == timedelta(hours=4)
    assert c.next_open(local(2026, 3, 29, 1, 45).astimezone(UTC)) == local(2026, 3, 29, 3, 30)


def test_a_closure_given_in_utc_over_the_change_of_the_clocks() -> None:
    # The same closure as the database gives it (UTC): 01:00 summer time is 23:00 UTC the
    # evening before, 04:00 winter time is 03:00 UTC.
    closed = (datetime(2026, 10, 24, 23, tzinfo=UTC), datetime(2026, 10, 25, 3, tzinfo=UTC))
    c = sunday_night(closed)
    assert c.business_time(local(2026, 10, 25), local(2026, 10, 26)) == timedelta(hours=3)
    assert c.next_open(local(2026, 10, 25, 2)) == local(2026, 10, 25, 4)
