"""Intake: the one way a new contact enters, whichever channel it came through.

Classify it if the channel did not say its case type, pick its queue, compute its due time
from the queue's goal and calendar, and write contact + event in one transaction that also
wakes the router. A channel acknowledges its source only after `submit` has returned.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from email.errors import HeaderParseError
from email.headerregistry import Address
from typing import Any

import asyncpg
import structlog

from channels.phone import numbers
from channels.ports import OutboxItem
from classifier import language
from contactd.clock import Clock
from contactd.metrics import Recorder
from contactd.settings import Agency
from contactd.store import contacts, database
from routing.contact import CaseTypeSource, Channel, Contact, Event, Guess, Language, NewContact
from routing.errors import DomainError, Kind
from routing.queues import NoQueue, Queue, choose_queue

log = structlog.get_logger(__name__)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Classification:
    case_type: str  # general (triage) when the model is unsure
    confidence: float
    guesses: tuple[Guess, ...] = ()  # the model's top guesses, shown to staff in triage


Classify = Callable[[str], Awaitable[Classification]]
# More to write in the new contact's transaction (an e-mail's message and acknowledgement).
Record = Callable[[database.Conn, Contact], Awaitable[None]]


async def triage(text: str) -> Classification:
    """No model (the classifier is switched off): everything unclassified goes to triage."""
    return Classification(case_type="general", confidence=0.0)


class IntakeError(DomainError, ValueError):
    """The new contact cannot be accepted as given; nothing was stored. (Also a ValueError:
    channels/phone/booking.py, which may not import the daemon, catches it as one.)"""

    kind = Kind.INVALID
    code = "not_accepted"


class BadClientAddress(DomainError):
    """A client address typed by staff that its channel cannot use; the message says why."""

    kind = Kind.INVALID
    code = "bad_client_address"


class Intake:
    def __init__(
        self,
        pool: asyncpg.Pool,
        agency: Agency,
        *,
        clock: Clock,
        recorder: Recorder,
        classify: Classify = triage,
        region: str = "DK",
        countries: Sequence[str] = ("DK",),
    ) -> None:
        """`region` and `countries`: how staff-typed phone numbers are read, and whose are
        accepted (phone.region, phone.countries)."""
        self._region, self._countries = region, tuple(countries)
        self._pool = pool
        self._agency = agency
        self._classify = classify
        self._clock = clock
        self._recorder = recorder

    async def submit(
        self,
        new: NewContact,
        *,
        actor: str,
        outbox: Callable[[Contact], Sequence[OutboxItem]] | None = None,
        record: Record | None = None,
    ) -> tuple[Contact, bool]:
        """Store the contact, the messages `outbox` makes for it and what `record` writes, in
        one transaction; return it and whether it is new (False: a known external id, nothing
        written or sent again)."""
        text = " ".join(t for t in (new.subject, new.text) if t)
        case_type, source, confidence, guesses = await self._case_type(new, text)
        try:
            queue = choose_queue(
                self._agency.queues, case_type=case_type, channel=new.channel, requested=new.queue
            )
        except NoQueue as exc:
            raise IntakeError(str(exc)) from None
        now = self._clock()
        received = new.received_at or now
        # The promise: the channel's own (a callback window's end), else the queue's goal.
        due_at = new.due_at or self.promise(queue.code, new.channel, received)
        fields: dict[str, Any] = {
            "channel": new.channel,
            "external_id": new.external_id,
            "case_type": case_type,
            "case_type_source": source,
            "confidence": confidence,
            "language": new.language or _language_of(text),
            "client_language": new.client_language or language.script_language(text),
            "queue": queue.code,
            "priority": max(new.priority, queue.priority),
            "due_at": due_at,
            "not_before": new.not_before,
            "created_at": received,
            "client_address": new.client_address,
            "subject": new.subject,
            "text": new.text,
            "actor": actor,
            "reason": {"queue_rule": "requested" if new.queue else "case_type"},
            "guesses": guesses,
        }
        contact, created = await self._insert(fields, outbox, record, now)
        if created:
            self._recorder.contact_received(contact)
        log.info(
            "contact.created" if created else "contact.duplicate",
            reference=contact.reference,
            channel=contact.channel,
            queue=contact.queue,
            case_type=contact.case_type,
        )
        return contact, created

    async def _insert(
        self,
        fields: dict[str, Any],
        outbox: Callable[[Contact], Sequence[OutboxItem]] | None,
        record: Record | None,
        now: datetime,
    ) -> tuple[Contact, bool]:
        """The contact, with its messages and record in the same transaction if it has any."""
        if outbox is None and record is None:
            return await contacts.insert_contact(self._pool, **fields)
        async with self._pool.acquire() as conn, conn.transaction():
            contact, created = await contacts.insert_contact(conn, **fields)
            for item in outbox(contact) if outbox is not None and created else ():
                await contacts.insert_outbox(conn, contact.id, item, now=now)
            if record is not None and created:
                await record(conn, contact)
        return contact, created

    def staff_address(self, channel: Channel, text: str) -> str:
        """A client address as staff typed it, made fit for its channel: one e-mail address
        for e-mail, a number we may call in E.164 for the others; BadClientAddress if not."""
        if channel is Channel.EMAIL:
            return _one_address(text)
        try:
            return numbers.normalise(text, self._region, self._countries)
        except numbers.BadNumber as exc:
            raise BadClientAddress(
                f"client_address: {exc}", details=[{"reason": exc.reason}]
            ) from None

    async def history(self, reference: str) -> tuple[Contact, list[Event]]:
        """The contact whose reference a person wrote, and what happened to it since it
        entered; ContactNotFound if none has it."""
        contact = await contacts.find(self._pool, reference)
        return contact, await contacts.events(self._pool, contact.id)

    def promise(self, queue_code: str, channel: Channel, received: datetime) -> datetime:
        """When a contact of this queue and channel received now is due: the queue's goal
        in the queue's business time."""
        queue = next(q for q in self._agency.queues if q.code == queue_code)
        return queue.goals[channel].threshold.deadline(received, queue.calendar_for(channel))

    def requeue_to(self, contact: Contact) -> Queue:
        """The queue a contact re-enters: its own, or, when the configuration no longer has
        that queue for its channel, the one its case type goes to now."""
        for queue in self._agency.queues:
            if queue.code == contact.queue and contact.channel in queue.goals:
                return queue
        return choose_queue(
            self._agency.queues, case_type=contact.case_type, channel=contact.channel
        )

    async def _case_type(
        self, new: NewContact, text: str
    ) -> tuple[str, CaseTypeSource, float | None, tuple[Guess, ...]]:
        if new.case_type is not None:
            if new.case_type not in self._agency.case_types:
                known = ", ".join(self._agency.case_types)
                raise IntakeError(f"unknown case type {new.case_type!r}; known: {known}")
            source = new.case_type_source or CaseTypeSource.STAFF
            return new.case_type, source, new.confidence, ()
        result = await self._classify(text)
        return result.case_type, CaseTypeSource.CLASSIFIER, result.confidence, result.guesses


def _language_of(text: str) -> Language:
    """The language the channel did not give: Danish or English by the text, else Danish,
    the agency's own."""
    return Language.EN if language.detect(text) == "en" else Language.DA


def _one_address(text: str) -> str:
    """Exactly one addr-spec (no list, no display name, no line break): what an answer is
    sent to."""
    if any(c in text for c in "\r\n,;"):
        raise BadClientAddress("client_address: give one e-mail address, on one line")
    try:
        address = Address(addr_spec=text.strip())
    except (ValueError, IndexError, HeaderParseError):
        raise BadClientAddress(f"client_address: {text!r} is not an e-mail address") from None
    if not address.domain or "." not in address.domain:
        raise BadClientAddress(f"client_address: {text!r} has no domain such as example.dk")
    return address.addr_spec
