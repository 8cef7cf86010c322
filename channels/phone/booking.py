"""Callbacks booked on the web: the windows on offer, and the booking itself.

A client picks a window inside the line's opening hours, today or on the next working days,
and gets an SMS that confirms the window, gives the reference and names the processing time
goal for the case type and the link to its checklist. The window becomes the contact's
not_before and due_at, so routing offers it inside the window and the callback-compliance
figure measures against its end. A booking form's key makes a resubmitted form one booking;
a number that already waits for a callback keeps that one, not a second.

The form is public, so it is built against abuse (docs/reference/security.md): only numbers
of the allowed countries; JSON from our own origin only (channels/public.py); the answer is
the same whether or not the number already waits, and carries no reference (that goes by SMS
to the number); limits per number, per client address and, on the SMS, per hour for all
instances together.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated

import structlog
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from channels.phone import errors, numbers
from channels.phone.config import PhoneSetup
from channels.ports import CallsPort, OutboxItem
from channels.public import Gate, Limiter
from routing.calendar import BusinessCalendar
from routing.contact import CaseTypeSource, Channel, Contact, Language, NewContact
from routing.queues import CaseType

log = structlog.get_logger(__name__)


@dataclasses.dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    @property
    def id(self) -> str:
        return self.start.isoformat(timespec="minutes")


def windows(
    calendar: BusinessCalendar, now: datetime, *, minutes: int, days: int, lead_minutes: int
) -> list[Window]:
    """The windows on offer: `minutes` long inside the opening hours of today and the next
    working days (`days` in all), ending at least `lead_minutes` from now."""
    local = now.astimezone(calendar.timezone)
    earliest_end = now + timedelta(minutes=lead_minutes)
    found: list[Window] = []
    day, working_days = local.date(), 0
    while working_days < days and (day - local.date()).days < 60:
        intervals = calendar.intervals_on(day)
        if intervals:
            working_days += 1
        for opens, closes in intervals:
            start = opens
            while start < closes:
                end = min(start + timedelta(minutes=minutes), closes)
                if end >= earliest_end:
                    found.append(Window(start, end))
                start = end
        day += timedelta(days=1)
    return found


class BookingBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: Annotated[str, Field(min_length=1, max_length=40)]
    language: Language = Language.DA  # the call's: what the caseworker speaks on it
    # The page's language, what the client reads (the SMS is in it, if the agency serves it).
    client_language: Annotated[str, Field(pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")] | None = None
    case_type: Annotated[str, Field(max_length=40)]
    window: Annotated[str, Field(max_length=40)]  # a window's id from GET /api/callbacks
    key: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{8,64}$")]  # one per filled-in form


@dataclasses.dataclass(frozen=True, kw_only=True)
class BookingRules:
    window_minutes: int
    days: int
    lead_minutes: int
    per_number_per_day: int
    per_address_per_hour: int
    sms_per_hour: int  # all instances together; above it bookings are not confirmed by SMS


class Booking:
    def __init__(
        self,
        setup: PhoneSetup,
        rules: BookingRules,
        calls: CallsPort,
        case_types: dict[str, CaseType],
        *,
        gate: Gate,
        clock: Callable[[], datetime],
        sms_capped: Callable[[], None] = lambda: None,
    ) -> None:
        """`sms_capped` is told of each booking left unconfirmed by the hourly SMS cap."""
        self._setup = setup
        self._gate = gate
        self._sms_capped = sms_capped
        self._rules = rules
        self._calls = calls
        self._case_types = case_types
        self._clock = clock
        # Per client address, per instance: bookings in the last hour. The per-number limit,
        # which matters more, is counted in the database across all instances.
        self._per_address = Limiter(rules.per_address_per_hour, 3600)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/callbacks", self.options),
            web.post("/api/callbacks", self.book),
        ]

    def _windows(self) -> list[Window]:
        return windows(
            self._setup.calendar,
            self._clock(),
            minutes=self._rules.window_minutes,
            days=self._rules.days,
            lead_minutes=self._rules.lead_minutes,
        )

    async def options(self, request: web.Request) -> web.Response:
        """What the booking form offers: the case types and the windows, and the daemon's
        time and zone, so the form names "today" by the daemon's clock, not the browser's."""
        now = self._clock().astimezone(self._setup.timezone)
        return web.json_response(
            {
                "at": now.isoformat(timespec="seconds"),
                "timezone": str(self._setup.timezone),
                "case_types": [
                    {"code": c.code, "da": c.name_da, "en": c.name_en, **c.names}
                    for c in self._case_types.values()
                ],
                "windows": [
                    {"id": w.id, "start": w.start.isoformat(), "end": w.end.isoformat()}
                    for w in self._windows()
                ],
            }
        )

    async def book(self, request: web.Request) -> web.Response:
        """Book a callback; a refusal is raised as a channels/phone/errors.py error."""
        self._gate.check_post(request)
        body = await _read_body(request)
        number = self._number(body.number)
        case_type = self._case_types.get(body.case_type)
        if case_type is None:
            message = f"unknown case type {body.case_type!r}"
            raise errors.BookingRefused(message, code="unknown_case_type")
        window = next((w for w in self._windows() if w.id == body.window), None)
        if window is None:
            raise errors.BookingRefused(
                f"the window {body.window!r} is not on offer: it has passed, is outside the "
                "opening hours, or is too far ahead; choose one from GET /api/callbacks",
                code="window_not_offered",
            )
        if not self._per_address.allow(self._gate.client(request)):
            raise errors.TooManyBookings("too many bookings from here; try later")
        # The page tells the case type asked for, in its own language: only what the form
        # sent, so the answer says nothing of a contact that may exist already.
        wording = self._setup.wording
        lang = wording.served(body.client_language, body.language)
        promise = wording.promise("pages", lang, case_type)
        if await self._calls.call(f"booking:{body.key}") is not None:
            return _booked(window, promise)  # the form sent again (a double click, a retry)
        if await self._calls.pending_callback(number) is not None:
            # One client, one callback: the one that waits stands. Answered as a booking, so
            # that the web cannot learn who waits; its reference was given when it was made.
            return _booked(window, promise)
        if await self._calls.bookings_in_last_day(number) >= self._rules.per_number_per_day:
            raise errors.TooManyBookings("this number has booked too often today")
        try:
            _, _, confirmed = await self._calls.book(
                NewContact(
                    channel=Channel.CALLBACK,
                    language=body.language,
                    client_language=(
                        body.client_language if body.client_language != body.language else None
                    ),
                    case_type=case_type.code,
                    case_type_source=CaseTypeSource.FORM,
                    external_id=f"booking:{body.key}",
                    client_address=number,
                    due_at=window.end,
                    not_before=window.start,
                ),
                lambda c: self._confirmation(c, number, window, case_type),
                sms_per_hour=self._rules.sms_per_hour,
            )
        except ValueError as exc:  # intake refused it (no queue takes this case type by phone)
            raise errors.BookingRefused(str(exc), code="not_accepted") from None
        if not confirmed:
            log.warning("booking.sms_capped", per_hour=self._rules.sms_per_hour)
            self._sms_capped()
        return _booked(window, promise)

    def _number(self, text: str) -> str:
        try:
            return numbers.normalise(text, self._setup.region, self._setup.countries)
        except numbers.BadNumber as exc:
            if exc.reason == "country_not_allowed":
                raise errors.BookingRefused(str(exc), code="country_not_allowed") from None
            message = f"{exc}: give a number we can call, e.g. 20 12 34 56"
            raise errors.BookingRefused(message, code="bad_number") from None

    def _confirmation(
        self, contact: Contact, number: str, window: Window, case_type: CaseType
    ) -> OutboxItem:
        return confirmation(contact, number, case_type, self._setup, window=window)


def confirmation(
    contact: Contact,
    number: str,
    case_type: CaseType,
    setup: PhoneSetup,
    *,
    window: Window | None = None,
    opens: datetime | None = None,
) -> OutboxItem:
    """The SMS that confirms a callback, in the contact's language (the `booked.*` messages
    of the sms catalogs): its window (a web booking, or a closed-line booking whose window
    falls on one day), when the line opens (a closed-line booking), or else "today, as soon
    as it is your turn" (a kept place); then its reference, processing goal and checklist.
    One per contact: its key names it, and every key counts under the hourly SMS cap
    (queries.sql, booking_sms_in_last_hour)."""
    timezone, wording = setup.timezone, setup.wording
    lang = wording.served(*contact.reads)  # the booking page's language, if served
    if window is not None:
        start, end = window.start.astimezone(timezone), window.end.astimezone(timezone)
        when = wording.text(
            "sms",
            lang,
            "booked.window",
            day=f"{start:%d.%m.%Y}",
            start=f"{start:%H:%M}",
            end=f"{end:%H:%M}",
        )
    elif opens is not None:
        start = opens.astimezone(timezone)
        when = wording.text(
            "sms", lang, "booked.opening", day=f"{start:%d.%m.%Y}", start=f"{start:%H:%M}"
        )
    else:
        when = wording.text("sms", lang, "booked.turn")
    text = wording.text(
        "sms",
        lang,
        "booked.sms",
        when=when,
        reference=contact.reference,
        **wording.promise("sms", lang, case_type),
    )
    return OutboxItem(
        kind="sms",
        key=f"sms:booked:{contact.reference}",
        payload={"to": number, "body": text, "reference": contact.reference},
    )


def _booked(window: Window, promise: dict[str, str]) -> web.Response:
    """The one answer to every booking that is taken: new, sent again, or a number that
    already waits (then the window it waits for stands, as its SMS said). `promise`: the
    case type asked for (Wording.promise), the same in all three."""
    return web.json_response(
        {
            "window_start": window.start.isoformat(),
            "window_end": window.end.isoformat(),
            "promise": promise,
        },
        status=202,
    )


async def _read_body(request: web.Request) -> BookingBody:
    """The booking form's body, or the refusal that says what is wrong with it."""
    try:
        raw = await request.json()
    except (ValueError, LookupError, RecursionError):  # also an unknown charset, deep nesting
        raise errors.UnreadableBooking("the body is not JSON") from None
    try:
        return BookingBody.model_validate(raw)
    except ValidationError as exc:
        details = [
            {"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]} for e in exc.errors()
        ]
        fields = ", ".join(d["field"] or "body" for d in details)
        message = f"the booking has invalid fields: {fields}"
        raise errors.BookingRefused(message, code="invalid_body", details=details) from None
