"""Closed periods added while running (issue 18): an afternoon closure splits a day's opening
hours, the next opening skips it, business time does not count it, and a day closed all day
is not a working day for e-mail goals; across a change of the clocks too."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from hypothesis import given
from hypothesis import strategies as st

from routing.calendar import BusinessCalendar, Interval
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
