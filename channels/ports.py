"""What a channel needs from the daemon, as an interface the daemon implements."""

from __future__ import annotations

import dataclasses
from typing import Protocol

from routing.contact import Contact, NewContact


class IntakePort(Protocol):
    async def submit(self, new: NewContact, *, actor: str) -> tuple[Contact, bool]:
        """Store a new contact durably; (contact, created). Acknowledge the source after."""
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

    async def keep_place(self, contact: Contact, number: str) -> Contact:
        """The waiting caller asked to be called back: the call becomes a callback to
        `number` that keeps its place in the queue."""
        ...
