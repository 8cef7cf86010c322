"""What a channel needs from the daemon, as an interface the daemon implements."""

from __future__ import annotations

from typing import Protocol

from routing.contact import Contact, NewContact


class IntakePort(Protocol):
    async def submit(self, new: NewContact, *, actor: str) -> tuple[Contact, bool]:
        """Store a new contact durably; (contact, created). Acknowledge the source after."""
        ...
