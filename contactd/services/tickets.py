"""The service centre's tickets in the database: issuing (numbered per queue and day in the
issuing transaction), where a ticket stands, the board and status snapshots, calling, and
the leader's loop that texts visitors whose turn is near and applies the closing rule."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg
import structlog

from channels.phone import numbers
from channels.ports import OutboxItem
from channels.wording import Wording
from contactd.clock import Clock
from contactd.metrics import Recorder
from contactd.services import public_status
from contactd.services.intake import Intake, IntakeError
from contactd.services.ticket_sms import near_turn_sms
from contactd.settings import Agency, TicketsConfig
from contactd.store import contacts, database
from contactd.store import tickets as store
from routing.calendar import BusinessCalendar
from routing.contact import (
    Action,
    CaseTypeSource,
    Channel,
    Contact,
    IllegalTransition,
    Language,
    NewContact,
)
from routing.errors import DomainError, Kind
from routing.queues import NoQueue, Queue, choose_queue
from routing.waits import estimated_wait_seconds

log = structlog.get_logger(__name__)
PRIORITIES = {"normal": 0, "assistance": 3, "appointment": 5}


class KioskClosed(DomainError):
    """The service centre is closed for the queue; the details say when it opens."""

    kind = Kind.CONFLICT
    code = "kiosk_closed"

    def __init__(self, queue: Queue, opens_at: datetime | None) -> None:
        opens = opens_at.isoformat(timespec="minutes") if opens_at else None
        when = f"; it opens {opens}" if opens else ""
        details = [{"opens_at": opens}] if opens else []
        super().__init__(f"the service centre is closed for {queue.name_en}{when}", details=details)
        self.opens_at = opens_at


class BadPhone(DomainError):
    """The visitor's phone number cannot be texted; the message says why."""

    code = "bad_phone"


class LanguageNotServed(DomainError):
    """A client language the agency does not serve (`[agency] languages`): there are no
    words to print the ticket in."""

    code = "language_not_served"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Issued:
    contact: Contact
    number: str
    position: int
    estimated_wait_seconds: int
    created: bool  # False: the same press of the kiosk's button, answered again
    # What the ticket tells the visitor of their case type, in the language they read
    # (channels/wording.py Wording.promise): its name, processing goal and checklist.
    promise: dict[str, str] | None  # None: the case type has left the configuration


class Tickets:
    def __init__(
        self,
        pool: asyncpg.Pool,
        intake: Intake,
        agency: Agency,
        config: TicketsConfig,
        *,
        region: str,
        countries: Sequence[str],
        wording: Wording,
        phone_calendar: BusinessCalendar,
        clock: Clock,
        recorder: Recorder,
    ) -> None:
        """`region`: the country whose numbers a visitor may give without its code;
        `countries`: the only ones whose numbers are texted; `wording`: what they are texted;
        `phone_calendar`: the hotline's hours (phone.calendar), which the status shows too."""
        self._pool = pool
        self._phone_calendar = phone_calendar
        self._wording = wording
        self._intake = intake
        self._recorder = recorder
        self._agency = agency
        self._config = config
        self._region = region
        self._countries = tuple(countries)
        self._clock = clock
        self._queues = {q.code: q for q in agency.queues if q.ticket_letter is not None}

    def _today(self) -> date:
        return self._clock().astimezone(self._agency.timezone).date()

    def queue_for(self, case_type: str) -> Queue:
        try:
            return choose_queue(self._agency.queues, case_type=case_type, channel=Channel.TICKET)
        except NoQueue as exc:
            raise IntakeError(str(exc)) from None

    async def issue(
        self,
        *,
        case_type: str,
        language: Language,
        priority: str,
        phone: str | None,
        request_id: str | None,
        staff_id: int,
        actor: str,
        client_language: str | None = None,
    ) -> Issued:
        """A new ticket, or the one this `request_id` already issued; `phone` as the visitor
        gave it; `client_language` the language they read, if not `language` (what the
        counter speaks). Raises BadPhone for a number that cannot be texted,
        LanguageNotServed, KioskClosed outside the queue's service-centre hours, IntakeError
        for an unknown case type."""
        phone = self._phone_number(phone)
        if client_language is not None and not self._wording.has(client_language):
            raise LanguageNotServed(
                f"client_language {client_language!r} is not served; "
                f"the client languages are {', '.join(self._wording.languages)}"
            )
        if case_type not in self._agency.case_types:
            known = ", ".join(self._agency.case_types)
            raise IntakeError(f"unknown case type {case_type!r}; known: {known}")
        queue = self.queue_for(case_type)
        now = self._clock()
        calendar = queue.calendar_for(Channel.TICKET)
        earlier = await self._known(request_id)
        if earlier is not None:  # the same press again (the answer was lost): its ticket
            return earlier
        if not calendar.is_open(now):
            raise KioskClosed(queue, self._local(calendar.next_open(now)))
        day = now.astimezone(self._agency.timezone).date()

        async def number_it(conn: database.Conn, contact: Contact) -> None:
            letter = self._queues[contact.queue].ticket_letter or "X"
            await store.number(
                conn, contact.id, letter=letter, day=day, queue=contact.queue, staff_id=staff_id
            )

        contact, created = await self._intake.submit(
            NewContact(
                channel=Channel.TICKET,
                language=language,
                case_type=case_type,
                case_type_source=CaseTypeSource.STAFF,
                # Within the queue: its own priority, raised for those who must go first.
                priority=queue.priority + PRIORITIES[priority],
                client_address=phone,
                # Kept only when it differs, as a callback booked on the web keeps it.
                client_language=client_language if client_language != language else None,
                external_id=f"kiosk:{request_id}" if request_id else None,
                received_at=now,
            ),
            actor=actor,
            record=number_it,
        )
        return await self._issued(contact, created=created)

    def _phone_number(self, phone: str | None) -> str | None:
        """The visitor's number in E.164, or None if they gave none."""
        if not phone or not phone.strip():
            return None
        try:
            return numbers.normalise(phone, self._region, self._countries)
        except numbers.BadNumber as exc:
            raise BadPhone(str(exc)) from None

    async def _known(self, request_id: str | None) -> Issued | None:
        if request_id is None:
            return None
        known = await contacts.get_by_external_id(self._pool, Channel.TICKET, f"kiosk:{request_id}")
        return await self._issued(known, created=False) if known else None

    async def _issued(self, contact: Contact, *, created: bool) -> Issued:
        ticket = await store.of(self._pool, contact.id)
        if ticket is None:  # the request id was used for something that is not a ticket
            raise IntakeError("request_id: already used for another contact")
        position, wait = await self.place(contact)
        case_type = self._agency.case_types.get(contact.case_type)
        reads = self._wording.served(*contact.reads)
        return Issued(
            contact=contact,
            number=ticket.number,
            position=position,
            estimated_wait_seconds=wait,
            created=created,
            promise=self._wording.promise("pages", reads, case_type) if case_type else None,
        )

    async def place(self, contact: Contact) -> tuple[int, int]:
        """(position, estimated wait in seconds) of a waiting ticket."""
        queue = self._queue_of(contact.queue)
        case_types = sorted(queue.case_types) if queue else []
        place = await store.place(self._pool, contact.id, case_types, self._window_start())
        handle = place.handle_seconds or self._default_handle
        return place.position, estimated_wait_seconds(place.position, place.servers, handle)

    def _local(self, at: datetime | None) -> datetime | None:
        return at.astimezone(self._agency.timezone) if at else None

    def _queue_of(self, code: str) -> Queue | None:
        return next((q for q in self._agency.queues if q.code == code), None)

    @property
    def _default_handle(self) -> float:
        return self._config.default_handle_minutes * 60

    def _window_start(self) -> datetime:
        return self._clock() - timedelta(minutes=self._config.handle_time_window_minutes)

    async def board(self) -> dict[str, Any]:
        """The waiting-room board: the tickets called last, with their counters."""
        rows = await store.board(self._pool, self._today(), self._config.board_size)
        return {
            "called": [
                {
                    "number": r["number"],
                    "counter": r["counter"],
                    "queue": r["queue"],
                    "called_at": r["called_at"].isoformat(),
                    "calls": r["calls"],
                    "serving": r["state"] == "active",
                }
                for r in rows
            ],
        }

    async def status(self) -> dict[str, Any]:
        """The public status: per ticket queue the number now served, how many wait, the
        estimated wait of a ticket issued now, and whether the kiosk is open; beside it the
        hotline's wait now and the e-mail answer times (contactd/services/public_status.py)."""
        now = self._clock()
        codes = list(self._queues)
        rows = await store.queue_figures(self._pool, codes, self._today(), self._window_start())
        skills = await store.counter_skills(self._pool)
        queues = []
        for row in rows:
            queue = self._queues[row["queue"]]
            servers = sum(1 for s in skills if s & queue.case_types)
            handle = float(row["handle_seconds"] or self._default_handle)
            calendar = queue.calendar_for(Channel.TICKET)
            is_open = calendar.is_open(now)
            opens = None if is_open else self._local(calendar.next_open(now))
            queues.append(
                {
                    "queue": queue.code,
                    "da": queue.name_da,
                    "en": queue.name_en,
                    **queue.names,
                    "letter": queue.ticket_letter,
                    "now_serving": row["now_serving"],
                    "waiting": row["waiting"],
                    "estimated_wait_minutes": round(
                        estimated_wait_seconds(row["waiting"] + 1, servers, handle) / 60
                    ),
                    "open": is_open,
                    "opens_at": opens.isoformat(timespec="minutes") if opens else None,
                }
            )
        zone, all_queues = self._agency.timezone, self._agency.queues
        local = now.astimezone(zone)
        return {
            "queues": queues,
            "phone": await public_status.hotline(
                self._pool, all_queues, self._phone_calendar, now, zone
            ),
            "email": await public_status.email_answers(self._pool, all_queues, now, zone),
            "at": local.isoformat(timespec="seconds"),
            "timezone": self._agency.timezone.key,
        }

    async def run(self, *, poll_seconds: float = 5) -> None:
        """The leader's loop: SMS to visitors whose turn is near; the closing rule."""
        while True:
            await self.notify_near_turn()
            if self._config.at_closing == "cancel":
                await self.cancel_when_closed()
            await asyncio.sleep(poll_seconds)

    async def notify_near_turn(self) -> None:
        ahead = self._config.notify_position
        if ahead == 0:
            return
        for row in await store.near_their_turn(self._pool, ahead):
            now = self._clock()
            # In the language the visitor reads: their client_language, if it is served.
            lang = self._wording.served(row["client_language"], row["language"])
            text = near_turn_sms(self._wording, row["number"], row["ahead"], lang)
            async with self._pool.acquire() as conn, conn.transaction():
                if not await store.mark_notified(conn, row["id"], now=now):
                    continue  # another pass told them already
                await contacts.insert_outbox(
                    conn,
                    row["id"],
                    OutboxItem(
                        kind="sms",
                        key=f"sms:ticket-near:{row['reference']}",
                        payload={
                            "to": row["client_address"],
                            "body": text,
                            "reference": row["reference"],
                        },
                    ),
                    now=now,
                )
            log.info("ticket.near_turn_sms", reference=row["reference"], ahead=row["ahead"])

    async def cancel_when_closed(self) -> None:
        now = self._clock()
        closed = [
            code
            for code, queue in self._queues.items()
            if not queue.calendar_for(Channel.TICKET).is_open(now)
        ]
        if not closed:
            return
        for contact_id in await store.waiting_in(self._pool, closed):
            try:
                contact = await contacts.transition(
                    self._pool,
                    contact_id,
                    Action.CANCEL,
                    now=now,
                    actor="service-centre",
                    recorder=self._recorder,
                    reason={"why": "the service centre closed"},
                    outcome="closed",
                )
            except IllegalTransition:
                continue  # called meanwhile
            await contacts.withdraw_outbox(
                self._pool, contact.id, why="withdrawn: the ticket was cancelled", now=now
            )
            log.info("ticket.cancelled_at_closing", reference=contact.reference)


async def call(conn: database.Conn, contact_id: int, counter: str, *, now: datetime) -> int:
    """The ticket is called to `counter` at `now` (a first call or a recall); how often it has
    been."""
    return await store.call(conn, contact_id, counter, now=now)
