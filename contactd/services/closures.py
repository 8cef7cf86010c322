"""Closing a calendar for a while without a restart: a supervisor adds a closed period (a staff
meeting this afternoon, a power cut), and every instance honours it at once.

The periods are rows in `calendar_closures`; each instance loads them into its calendars'
`Closures` (routing/calendar.py) at start and again on every notification on
`contactd_calendars`, and polls every few minutes in case a notification was lost. Everything
that asks a calendar (the IVR's open line, the kiosk, callback windows, due dates in business
time, the figures) sees them from then on."""

from __future__ import annotations

import collections
from collections.abc import Mapping
from datetime import datetime, timedelta

import asyncpg
import structlog

from contactd.clock import Clock
from contactd.services.audit import Audit
from contactd.store import closures
from contactd.store import listener as notify
from contactd.store.closures import Closure
from contactd.store.staff import Staff
from routing.calendar import BusinessCalendar
from routing.errors import DomainError, Kind

log = structlog.get_logger(__name__)

POLL_SECONDS = 300.0
KEPT = timedelta(days=400)  # closures that ended this long ago still count in past figures
FURTHEST = timedelta(days=366)  # how far ahead a closure may end


class UnknownCalendar(DomainError):
    kind = Kind.NOT_FOUND
    code = "not_found"


class BadClosure(DomainError):
    kind = Kind.INVALID
    code = "bad_closure"


class ClosureNotFound(DomainError):
    kind = Kind.NOT_FOUND
    code = "not_found"


class CalendarClosures:
    def __init__(
        self,
        pool: asyncpg.Pool,
        calendars: Mapping[str, BusinessCalendar],
        *,
        clock: Clock,
        audit: Audit,
    ) -> None:
        self._pool = pool
        self._calendars = calendars
        self._clock = clock
        self._audit = audit

    @property
    def calendars(self) -> Mapping[str, BusinessCalendar]:
        return self._calendars

    async def load(self) -> list[Closure]:
        """Every calendar's closed periods from the database, now; the ones still ahead."""
        now = self._clock()
        found = await closures.live(self._pool, since=now - KEPT)
        by_calendar = collections.defaultdict(list)
        for c in found:
            by_calendar[c.calendar].append((c.starts_at, c.ends_at))
        for name, calendar in self._calendars.items():
            calendar.closures.replace(by_calendar.get(name, ()))
        return [c for c in found if c.ends_at > now]

    async def run(self, listener: notify.Listener) -> None:
        """Reload whenever any instance changed a closure (and every few minutes)."""
        wakeup = listener.subscribe(notify.CALENDARS_CHANNEL)
        try:
            while True:
                await wakeup.wait(within=POLL_SECONDS)
                try:
                    await self.load()
                except Exception as exc:  # the database is away: keep what we have
                    log.warning("closures.load_failed", error=type(exc).__name__)
        finally:
            listener.unsubscribe(wakeup)

    async def ahead(self) -> dict[str, list[Closure]]:
        """Each calendar's closures that have not ended, by start."""
        found = await self.load()
        return {name: [c for c in found if c.calendar == name] for name in self._calendars}

    async def add(
        self, calendar: str, start: datetime, end: datetime, *, reason: str, by: Staff
    ) -> Closure:
        self._known(calendar)
        now = self._clock()
        if end <= start:
            raise BadClosure("the closure must end after it starts")
        if end <= now:
            raise BadClosure("the closure has ended already")
        if end > now + FURTHEST:  # closures in a row never shut it past the year looked ahead
            raise BadClosure("a closure must end at most 366 days ahead")
        added = await closures.add(
            self._pool, calendar, start, end, reason=reason, by=by.login, now=now
        )
        await self.load()  # this instance at once; the others on the notification
        log.info("closures.added", calendar=calendar, id=added.id, by=by.login)
        await self._audit.record(
            by,
            "calendar.closed",
            target=calendar,
            details={"id": added.id, "from": start.isoformat(), "to": end.isoformat()},
        )
        return added

    async def cancel(self, calendar: str, closure_id: int, *, by: Staff) -> None:
        self._known(calendar)
        if not await closures.cancel(
            self._pool, calendar, closure_id, by=by.login, now=self._clock()
        ):
            raise ClosureNotFound(f"{calendar} has no closure {closure_id} that is not cancelled")
        await self.load()
        log.info("closures.cancelled", calendar=calendar, id=closure_id, by=by.login)
        await self._audit.record(
            by, "calendar.reopened", target=calendar, details={"id": closure_id}
        )

    def _known(self, calendar: str) -> None:
        if calendar not in self._calendars:
            known = ", ".join(self._calendars)
            raise UnknownCalendar(f"no calendar {calendar!r}; known: {known}")
