"""A caseworker's view of the client: their earlier contacts on every channel (by phone number
or e-mail address, newest first, purged ones as purged, with outcome, wrap-up, notes and who
handled them), a search by reference, number or address, and notes on a contact.

Who may read it follows the rule for personal data (contactd/services/privacy.py): the holder
of a contact while offered or held, and supervisors; a search by number or address is for
supervisors. Every read and search is written to the audit log, never what was searched for."""

from __future__ import annotations

import dataclasses

import asyncpg

from channels.phone import numbers
from contactd.clock import Clock
from contactd.services.audit import Audit
from contactd.services.privacy import may_read_personal
from contactd.store import contacts, history
from contactd.store.contacts import NotHolder
from contactd.store.history import Earlier, Note
from contactd.store.staff import Role, Staff
from routing.contact import Contact, normalise_reference
from routing.errors import DomainError, Kind

LIMIT = 200  # earlier contacts shown, newest first; older ones beyond are left out
SEARCHERS = frozenset({Role.SUPERVISOR, Role.ADMIN})


class NotSearchable(DomainError):
    kind = Kind.INVALID
    code = "bad_search"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Found:
    kind: str  # reference, phone or email
    contacts: list[Earlier]


class ClientHistory:
    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        region: str,
        clock: Clock,
        audit: Audit,
    ) -> None:
        self._pool = pool
        self._region = region
        self._clock = clock
        self._audit = audit

    async def of(self, person: Staff, contact: Contact) -> list[Earlier]:
        """The client's other contacts, for the holder of this one (or a supervisor)."""
        self._may_read(person, contact)
        found = await history.of_contact(self._pool, contact.id, limit=LIMIT)
        await self._audit.record(person, "client.history_read", reference=contact.reference)
        return found

    async def search(self, person: Staff, text: str) -> Found:
        """A client's contacts by a reference, a phone number in any writing, or an e-mail
        address; NotSearchable for anything else."""
        if person.role not in SEARCHERS:
            raise NotHolder("searching clients is for supervisors")
        query = text.strip()
        if "@" in query:
            kind, address = "email", query.lower()
        else:
            try:
                found = await contacts.find(self._pool, query)
            except contacts.ContactNotFound:
                found = None
            if found is not None:
                await self._audit.record(person, "client.searched", details={"by": "reference"})
                this = await history.entry(self._pool, found.id)
                earlier = await history.of_contact(self._pool, found.id, limit=LIMIT)
                return Found(
                    kind="reference",
                    contacts=sorted([this, *earlier], key=lambda e: e.created_at, reverse=True),
                )
            try:
                kind, address = "phone", numbers.normalise(query, self._region)
            except numbers.BadNumber:
                if not _is_reference(query):
                    raise NotSearchable(
                        "search by a reference (AAAA-AAAA), a phone number or an e-mail address"
                    ) from None
                # A reference no contact has (mistyped, or purged): found, none.
                await self._audit.record(person, "client.searched", details={"by": "reference"})
                return Found(kind="reference", contacts=[])
        await self._audit.record(person, "client.searched", details={"by": kind})
        return Found(kind=kind, contacts=await history.of_address(self._pool, address, limit=LIMIT))

    async def add_note(self, person: Staff, contact: Contact, text: str) -> Note:
        self._may_read(person, contact)
        note = await history.add_note(
            self._pool, contact.id, author=person.login, at=self._clock(), text=text
        )
        await self._audit.record(person, "note.added", reference=contact.reference)
        return note

    async def notes(self, person: Staff, contact: Contact) -> list[Note]:
        self._may_read(person, contact)
        return await history.notes_of(self._pool, contact.id)

    @staticmethod
    def _may_read(person: Staff, contact: Contact) -> None:
        if not may_read_personal(contact, person):
            raise NotHolder(f"contact {contact.reference} is not offered to or held by you")


def _is_reference(text: str) -> bool:
    try:
        normalise_reference(text)
    except ValueError:
        return False
    return True
