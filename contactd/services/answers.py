"""E-mail answers: reading a contact's mail as staff, and the caseworker's answer, sent
through the outbox threaded onto the client's mail.

Personal data is shown to whom it concerns: a supervisor reads any contact's mail, others
only that of contacts offered to or held by them. An answer is queued in the transaction
that records it, so it is sent once; the first answer is the contact's first response.
"""

from __future__ import annotations

import asyncio
import dataclasses

import asyncpg

from channels.email.answer import Thread, answer, new_message_id
from channels.email.message import Attachment, attachment
from contactd.clock import Clock
from contactd.metrics import Recorder
from contactd.services.privacy import may_read_personal
from contactd.settings import EmailConfig
from contactd.store import contacts, messages
from contactd.store.staff import Staff
from routing.contact import Channel, Contact, State
from routing.errors import DomainError, Kind


class NotHolder(DomainError):
    """The contact is neither offered to nor held by the person asking."""

    kind = Kind.FORBIDDEN
    code = "not_holder"


class NoSuchMessage(DomainError):
    kind = Kind.NOT_FOUND
    code = "not_found"


class CannotAnswer(DomainError):
    """The contact cannot be answered now (raised with a code saying why, for some)."""

    kind = Kind.CONFLICT
    code = "conflict"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Sent:
    """An answer queued: the contact after it, the stored message and its subject."""

    contact: Contact
    message: int
    subject: str


class Answers:
    def __init__(
        self, pool: asyncpg.Pool, email: EmailConfig, *, clock: Clock, recorder: Recorder
    ) -> None:
        self._pool = pool
        # Answers go out only with both an address to send from and a server to send with.
        self._address = email.address if email.smtp is not None else None
        self._clock = clock
        self._recorder = recorder

    async def conversation(self, contact: Contact, person: Staff) -> list[messages.Message]:
        _may_read(contact, person)
        return await messages.of_contact(self._pool, contact.id)

    async def raw(self, contact: Contact, person: Staff, message_id: int | None) -> bytes:
        """The raw copy of one of the contact's messages (None: an id that names none)."""
        _may_read(contact, person)
        if message_id is None:
            raise NoSuchMessage("no such message")
        found = await messages.raw(self._pool, message_id, contact.id)
        if found is None:
            raise NoSuchMessage(f"contact {contact.reference} has no such message")
        return found

    async def attachment(
        self, contact: Contact, person: Staff, message_id: int | None, index: int | None
    ) -> tuple[Attachment, bytes]:
        """The `index`th attachment of one of the contact's messages, decoded."""
        raw = await self.raw(contact, person, message_id)
        try:
            # Parsing a big message takes most of a second: not on the event loop.
            found = None if index is None else await asyncio.to_thread(attachment, raw, index)
        except ValueError:
            found = None
        if found is None:
            raise NoSuchMessage("the message has no such attachment")
        return found

    async def answer(self, contact: Contact, person: Staff, text: str) -> Sent:
        """Send `text` to the client of an e-mail contact that `person` holds."""
        if contact.channel is not Channel.EMAIL:
            raise CannotAnswer(f"contact {contact.reference} is not an e-mail", code="not_email")
        if self._address is None:
            raise CannotAnswer(
                "answers cannot be sent: [email] address and [email.smtp] must both be configured",
                code="email_not_configured",
            )
        if contact.client_address is None:
            raise CannotAnswer(
                f"contact {contact.reference} has no address to answer", code="no_address"
            )
        now = self._clock()
        async with self._pool.acquire() as conn, conn.transaction():
            locked = await messages.lock_contact(conn, contact.id) or contact
            if locked.agent_id != person.id or locked.state is not State.ACTIVE:
                raise CannotAnswer(f"answer contact {locked.reference} after accepting it")
            ids = await messages.thread_ids(conn, locked.id)
            thread = Thread(
                reference=locked.reference,
                language=locked.language,
                to=locked.client_address or contact.client_address,
                subject=ids.last_subject or locked.subject,
                last_message_id=ids.last_message_id,
                message_ids=ids.message_ids,
            )
            message_id = new_message_id(locked.reference, self._address)
            item = answer(thread, text, address=self._address, message_id=message_id)
            await contacts.insert_outbox(conn, locked.id, item, now=now)
            sent = await messages.insert_sent(
                conn, locked.id, item.payload, kind="answer", now=now, staff_id=person.id
            )
            await messages.first_response(conn, locked.id, now)
            await messages.note(
                conn, locked.id, "answered", person.actor, {"message": sent}, now=now
            )
            answered = await contacts.get_by_id(conn, locked.id)
        if locked.first_response_at is None and answered.first_response_at:
            self._recorder.email_answered(answered, answered.first_response_at)
        return Sent(contact=answered, message=sent, subject=item.payload["subject"])


def _may_read(contact: Contact, person: Staff) -> None:
    # By need: the holder while they hold it (not after finishing or passing it on).
    if not may_read_personal(contact, person):
        raise NotHolder(f"contact {contact.reference} is not offered to or held by you")
