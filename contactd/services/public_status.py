"""The public status beside the service centre (Tickets.status): the hotline's wait for a
caller who rings now and whether the line is open, and the e-mail promise with how long
answers took recently. Counts, waits and medians only: nothing personal.

The hotline's wait is the one the phone line tells a caller (Calls.place, routing/waits.py)
for a caller standing behind everyone waiting. The e-mail answer time is the statistics'
(statistics_email_responses): from receipt to first answer, in the open hours of the queue's
e-mail calendar; here its median over the e-mails answered in the last 7 days, counted by
the database in one query with the calendar's open hours given as a timeline."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from contactd.services.calls import DEFAULT_HANDLE_SECONDS
from contactd.store import queries
from routing.calendar import BusinessCalendar
from routing.contact import Channel
from routing.queues import Queue
from routing.waits import estimated_wait_seconds

RECENT = timedelta(days=7)  # "recently": the e-mails first answered in the last 7 days
# An e-mail that waited longer than this counts this long (BusinessCalendar.business_time
# also stops after about a year).
LOOK_BACK = timedelta(days=366)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Timeline:
    """A calendar's open intervals between two moments, in order and in UTC, each with the
    open seconds and the working days before it and the open seconds of its day: all that
    status_email_answers needs to count open time with a binary search per moment."""

    starts: list[datetime]
    ends: list[datetime]
    seconds_before: list[float]
    days_before: list[float]
    day_seconds: list[float]


def timeline(calendar: BusinessCalendar, start: datetime, end: datetime) -> Timeline:
    """The open hours of the days from `start` to `end` (local days, whole). A working day
    counts as one day, spread over its open time (a short Friday counts one too); a day a
    closure shuts all day does not count, as in BusinessCalendar.add_working_days."""
    line = Timeline(starts=[], ends=[], seconds_before=[], days_before=[], day_seconds=[])
    seconds = days = 0.0
    day = start.astimezone(calendar.timezone).date()
    last = end.astimezone(calendar.timezone).date()
    while day <= last:
        # In UTC: a difference between two times of one ZoneInfo ignores a DST change.
        hours = sorted(
            (s.astimezone(UTC), e.astimezone(UTC)) for s, e in calendar.intervals_on(day)
        )
        length = sum((e - s).total_seconds() for s, e in hours)
        for s, e in hours:
            line.starts.append(s)
            line.ends.append(e)
            line.seconds_before.append(seconds)
            line.days_before.append(days)
            line.day_seconds.append(length)
            seconds += (e - s).total_seconds()
            days += (e - s).total_seconds() / length
        day += timedelta(days=1)
    return line


async def hotline(
    db: asyncpg.Pool,
    queues: Sequence[Queue],
    calendar: BusinessCalendar,
    now: datetime,
    zone: ZoneInfo,
) -> dict[str, Any]:
    """Whether the line is open (its calendar, phone.calendar) and when it opens next (in
    `zone`), and per queue that takes calls how many wait and the wait of a caller who
    rings now."""
    phone = [q for q in queues if Channel.CALL in q.channels]
    case_types = {q.code: sorted(q.case_types) for q in phone}
    rows = {r["queue"]: r for r in await db.fetch(queries.get("status_hotline"), case_types, now)}
    is_open = calendar.is_open(now)
    opens = None if is_open else calendar.next_open(now)
    waits = []
    for queue in phone:
        row = rows[queue.code]
        handle = row["handle_seconds"] or DEFAULT_HANDLE_SECONDS
        wait = estimated_wait_seconds(row["waiting"] + 1, row["agents"], handle)
        waits.append(
            {
                **_names(queue),
                "waiting": row["waiting"],
                "estimated_wait_minutes": round(wait / 60),
            }
        )
    return {"open": is_open, "opens_at": _minute(opens, zone), "queues": waits}


async def email_answers(
    db: asyncpg.Pool, queues: Sequence[Queue], now: datetime, zone: ZoneInfo
) -> dict[str, Any]:
    """Per queue that takes e-mail: its goal, and the e-mails first answered in the last 7
    days (since when, in `zone`), with the median time to the first answer in open seconds
    and in working days. One query per e-mail calendar (the queues usually share one)."""
    mail = [q for q in queues if Channel.EMAIL in q.channels]
    since = now - RECENT
    by_calendar: dict[int, list[Queue]] = {}
    for queue in mail:
        by_calendar.setdefault(id(queue.calendar_for(Channel.EMAIL)), []).append(queue)
    found: dict[str, asyncpg.Record] = {}
    for group in by_calendar.values():
        line = timeline(group[0].calendar_for(Channel.EMAIL), since - LOOK_BACK, now)
        codes = [q.code for q in group]
        for row in await db.fetch(
            queries.get("status_email_answers"),
            since,
            now,
            codes,
            line.starts,
            line.ends,
            line.seconds_before,
            line.days_before,
            line.day_seconds,
        ):
            found[row["queue"]] = row
    return {
        "since": since.astimezone(zone).isoformat(timespec="seconds"),
        "queues": [_email_queue(q, found.get(q.code)) for q in mail],
    }


def _email_queue(queue: Queue, row: asyncpg.Record | None) -> dict[str, Any]:
    goal = queue.goals.get(Channel.EMAIL)
    answered = row["answered"] if row else 0
    return {
        **_names(queue),
        "goal": {"amount": goal.threshold.amount, "unit": str(goal.threshold.unit)}
        if goal
        else None,
        "answered": answered,
        "median_answer_seconds": round(row["median_seconds"]) if row else None,
        "median_answer_working_days": round(row["median_days"], 2) if row else None,
    }


def _names(queue: Queue) -> dict[str, str]:
    return {"queue": queue.code, "da": queue.name_da, "en": queue.name_en, **queue.names}


def _minute(at: datetime | None, zone: ZoneInfo) -> str | None:
    """A moment in the daemon's time zone, to the minute, as the status gives `opens_at`."""
    return at.astimezone(zone).isoformat(timespec="minutes") if at else None
