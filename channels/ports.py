"""What a channel needs from the daemon, as an interface the daemon implements."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

from routing.contact import Contact, NewContact


class Failure(enum.StrEnum):
    """Why a message to a client was not sent, which decides what the outbox does next."""

    TRANSIENT = "transient"  # try again later: the provider or the network had a bad moment
    PERMANENT = "permanent"  # this message can never be sent (a bad number, say)
    AUTH = "auth"  # our credentials are wrong: nothing is sent until they are fixed


class SendError(Exception):
    def __init__(self, failure: Failure, message: str) -> None:
        super().__init__(message)
        self.failure = failure


# Every kind of message the outbox sends, each by its own sender (contactd/leader/senders.py).
OUTBOX_KINDS = ("email", "sms", "dial", "connect", "redirect", "consult", "consult_end")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def acceptance(contact: Contact) -> str:
    """The id of the contact's current acceptance: the instant it was accepted, in
    microseconds (an active contact changes state again only when that acceptance ends).

    A call placed or put through for an acceptance carries it in its outbox message and in
    every webhook URL Twilio is given, so nothing of one acceptance acts on a later one. The
    attempt number would not do: a try that failed on the agent's side is not counted, and
    the next acceptance has the same number."""
    return str((contact.state_changed_at - _EPOCH) // timedelta(microseconds=1))


@dataclasses.dataclass(frozen=True, kw_only=True)
class OutboxItem:
    """A message to send once the change it belongs to is committed."""

    kind: str  # which sender: "sms"
    key: str  # idempotency key: the same key is sent once
    payload: dict[str, Any]


class IntakePort(Protocol):
    async def submit(
        self,
        new: NewContact,
        *,
        actor: str,
        outbox: Callable[[Contact], Sequence[OutboxItem]] | None = None,
    ) -> tuple[Contact, bool]:
        """Store a new contact durably, with the messages `outbox` makes for it in the same
        transaction; (contact, created). Acknowledge the source after."""
        ...


LegRole = Literal["agent", "consult"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Leg:
    """A phone leg the daemon placed into a live call's Twilio conference: the caseworker's
    ('agent') or the colleague's they consult ('consult'). channels/phone/conference.py."""

    id: int
    contact_id: int
    acceptance: str  # the contact's acceptance the leg serves
    role: LegRole
    agent_id: int
    room: str  # the conference's friendly name
    call_sid: str | None
    answered: bool
    ended: bool

    @property
    def live(self) -> bool:
        """Answered and not yet hung up: someone is on it."""
        return self.answered and not self.ended


class LegsPort(Protocol):
    """What the live-call conference needs of the daemon (contactd/services/call_legs.py)."""

    async def leg(self, leg_id: int) -> Leg | None: ...

    async def current(self, contact: Contact) -> Leg | None:
        """The caseworker's leg of the contact's current acceptance, if one was placed."""
        ...

    async def answered(self, leg_id: int, call_sid: str) -> None:
        """The leg's phone was answered: the caseworker's leg brings the caller in."""
        ...

    async def ended(self, leg_id: int, call_sid: str) -> None:
        """The leg ended, answered or not: what that means for the call is decided here."""
        ...


@dataclasses.dataclass(frozen=True, kw_only=True)
class Place:
    """Where a queued contact stands, as told to the caller."""

    position: int  # 1: next to be offered
    estimated_wait_seconds: int


class CallsPort(IntakePort, Protocol):
    """What the phone channel needs to keep its calls in step with their contacts."""

    async def call(self, call_sid: str) -> Contact | None:
        """The contact of this Twilio call (a call, or the callback it became), if any."""
        ...

    async def place(self, contact: Contact) -> Place: ...

    async def hung_up(self, contact: Contact, *, why: str) -> None:
        """The caller left before an agent took the call: abandoned, if still waiting."""
        ...

    async def pending_callback(self, number: str) -> Contact | None:
        """A callback to this number that has not been made yet (waiting or being made)."""
        ...

    async def bookings_in_last_day(self, number: str) -> int:
        """How many callbacks were booked on the web for this number in the last 24 hours."""
        ...

    async def book(
        self,
        new: NewContact,
        confirmation: Callable[[Contact], OutboxItem],
        *,
        sms_per_hour: int,
    ) -> tuple[Contact, bool, bool]:
        """Take a web booking in, with its confirmation SMS unless `sms_per_hour` booking SMS
        were written in the last hour (all instances together; counted and written under one
        lock, so a burst cannot overshoot it): the contact, whether it is new, and whether
        its SMS was written."""
        ...

    async def by_reference(self, reference: str) -> Contact | None: ...

    async def agent_number(self, contact: Contact) -> str | None:
        """The phone number of the agent who holds the contact."""
        ...

    async def requeue_callback(
        self, contact: Contact, *, why: str, not_before: datetime | None
    ) -> None:
        """A dialled callback that did not connect goes back to the queue: to be tried again
        from `not_before` (the client was not reached: any agent), or at once by another
        agent (None: the agent did not answer)."""
        ...

    async def merge_callbacks(self, call: Contact) -> None:
        """The caller was put through: their waiting callbacks of the same case type are
        cancelled as merged into this call."""
        ...

    async def requeue_call(self, contact: Contact, *, why: str) -> None:
        """A live call the agent did not pick up goes back to its queue, its place kept."""
        ...

    async def not_reached(self, contact: Contact, sms: OutboxItem) -> None:
        """The last attempt failed: closed as not reached, and the client told by SMS."""
        ...

    async def keep_place(
        self,
        contact: Contact,
        number: str,
        confirmation: Callable[[Contact], OutboxItem] | None = None,
    ) -> Contact:
        """The waiting caller asked to be called back: the call becomes a callback to
        `number` that keeps its place in the queue, with the SMS `confirmation` makes for it
        in the same transaction (under the hourly cap of `book`). A number with a callback
        waiting already gets that one back: the call is cancelled as merged into it, and
        nothing is sent."""
        ...

    async def book_by_phone(
        self, new: NewContact, confirmation: Callable[[Contact], OutboxItem]
    ) -> tuple[Contact, bool]:
        """A callback booked on the phone (the closed line), with its confirmation SMS under
        the hourly cap of `book`; a number with a callback waiting gets that one back, and
        nothing is stored or sent. The contact, and whether it is new."""
        ...
