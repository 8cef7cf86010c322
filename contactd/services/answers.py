"""E-mail answers: reading a contact's mail as staff, and the caseworker's answer, sent
through the outbox threaded onto the client's mail.

Personal data is shown to whom it concerns: a supervisor reads any contact's mail, others
only that of contacts offered to or held by them. An answer is queued in the transaction
that records it, so it is sent once; the first answer is the contact's first response. It
goes to the contact's address (the mail's From); to the mail's Reply-To only when the
caseworker chooses it, having seen it on the desk.

Downloads are read from the database in slices and decoded as they go: a 50 MB mail costs a
slice of memory, not its size (or more) per download.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
from collections.abc import AsyncGenerator, Sequence
from typing import Literal

import asyncpg

from channels.email.answer import Thread, answer, new_message_id
from channels.email.forms import BadAttachment, Forms
from channels.email.message import STREAMED_ENCODINGS, Decoder, attachment
from channels.wording import Wording
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


class NotAForm(DomainError):
    """An attachment that is not one of the agency's forms (email.forms_dir), or too large."""

    kind = Kind.INVALID
    code = "bad_attachment"


class CannotAnswer(DomainError):
    """The contact cannot be answered now (raised with a code saying why, for some)."""

    kind = Kind.CONFLICT
    code = "conflict"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Download:
    """A raw copy or an attachment, read piece by piece as it is sent."""

    filename: str | None  # the attachment's, as the sender named it; None for a raw copy
    size: int | None  # bytes, when known before sending
    chunks: AsyncGenerator[bytes, None]  # closed by whoever sends it


SLICE_BYTES = 1 << 18  # read from the database at a time
AnswerTo = Literal["from", "reply_to"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Sent:
    """An answer queued: the contact after it, the stored message and its subject."""

    contact: Contact
    message: int
    subject: str


class Answers:
    def __init__(
        self,
        pool: asyncpg.Pool,
        email: EmailConfig,
        wording: Wording,
        *,
        clock: Clock,
        recorder: Recorder,
        forms: Forms | None = None,
    ) -> None:
        self._pool = pool
        # An answer with the agency's words around the caseworker's text (its reference).
        self._answer = functools.partial(answer, wording=wording)
        self.forms = forms or Forms(None, max_bytes=email.max_attachment_bytes)
        # Answers go out only with both an address to send from and a server to send with.
        self._address = email.address if email.smtp is not None else None
        self._clock = clock
        self._recorder = recorder

    async def conversation(self, contact: Contact, person: Staff) -> list[messages.Message]:
        _may_read(contact, person)
        return await messages.of_contact(self._pool, contact.id)

    async def raw(self, contact: Contact, person: Staff, message_id: int | None) -> Download:
        """The raw copy of one of the contact's messages (None: an id that names none)."""
        _may_read(contact, person)
        size = None
        if message_id is not None:
            size = await messages.raw_size(self._pool, message_id, contact.id)
        if message_id is None or size is None:
            raise NoSuchMessage(f"contact {contact.reference} has no such message")
        return Download(
            filename=None, size=size, chunks=self._slices(message_id, contact.id, 0, size)
        )

    async def attachment(
        self, contact: Contact, person: Staff, message_id: int | None, index: int | None
    ) -> Download:
        """The `index`th attachment of one of the contact's messages, decoded as it is read."""
        _may_read(contact, person)
        described = None
        if message_id is not None and index is not None:
            described = await messages.described_attachment(
                self._pool, message_id, contact.id, index
            )
        if message_id is None or index is None or described is None:
            raise NoSuchMessage("the message has no such attachment")
        offset, length = described.get("offset"), described.get("length")
        encoding = described.get("encoding")
        if offset is None or length is None or encoding not in STREAMED_ENCODINGS:
            chunks = self._parsed(message_id, contact.id, index)
        else:
            chunks = _decoded(self._slices(message_id, contact.id, offset, length), encoding)
        return Download(filename=str(described["filename"]), size=None, chunks=chunks)

    async def _slices(
        self, message_id: int, contact_id: int, start: int, length: int
    ) -> AsyncGenerator[bytes, None]:
        """The raw copy's bytes from `start`, a slice at a time, each read on its own (no
        connection is held while the client reads)."""
        end = start + length
        while start < end:
            piece = await messages.raw_slice(
                self._pool, message_id, contact_id, start, min(SLICE_BYTES, end - start)
            )
            if not piece:  # purged meanwhile: the download must not look whole
                raise NoSuchMessage("the message was purged during the download")
            yield piece
            start += len(piece)

    async def _parsed(
        self, message_id: int, contact_id: int, index: int
    ) -> AsyncGenerator[bytes, None]:
        """An attachment not located at intake (stored before issue 17, or encoded in a way
        not decoded piece by piece): the whole message parsed, off the event loop."""
        raw = await messages.raw(self._pool, message_id, contact_id)
        try:
            found = None if raw is None else await asyncio.to_thread(attachment, raw, index)
        except ValueError:
            found = None
        if found is not None:
            yield found[1]

    async def answer(
        self,
        contact: Contact,
        person: Staff,
        text: str,
        *,
        to: AnswerTo = "from",
        attachments: Sequence[str] = (),
    ) -> Sent:
        """Send `text` to the client of an e-mail contact that `person` holds: to its address
        (From), or to the Reply-To of the client's last mail when the caseworker chose it."""
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
        try:
            forms = [dataclasses.asdict(f) for f in self.forms.chosen(attachments)]
        except BadAttachment as exc:
            raise NotAForm(str(exc)) from None
        now = self._clock()
        async with self._pool.acquire() as conn, conn.transaction():
            locked = await messages.lock_contact(conn, contact.id) or contact
            if locked.agent_id != person.id or locked.state is not State.ACTIVE:
                raise CannotAnswer(f"answer contact {locked.reference} after accepting it")
            ids = await messages.thread_ids(conn, locked.id)
            address = locked.client_address or contact.client_address
            if to == "reply_to":
                address = _reply_to(locked, ids)
            thread = Thread(
                reference=locked.reference,
                language=locked.language,
                to=address,
                subject=ids.last_subject or locked.subject,
                last_message_id=ids.last_message_id,
                message_ids=ids.message_ids,
            )
            message_id = new_message_id(locked.reference, self._address)
            item = self._answer(
                thread, text, address=self._address, message_id=message_id, attachments=forms
            )
            await contacts.insert_outbox(conn, locked.id, item, now=now)
            sent = await messages.insert_sent(
                conn, locked.id, item.payload, kind="answer", now=now, staff_id=person.id
            )
            await messages.first_response(conn, locked.id, now)
            await messages.note(
                conn, locked.id, "answered", person.actor, {"message": sent, "to": to}, now=now
            )
            answered = await contacts.get_by_id(conn, locked.id)
        if locked.first_response_at is None and answered.first_response_at:
            self._recorder.email_answered(answered, answered.first_response_at)
        return Sent(contact=answered, message=sent, subject=item.payload["subject"])


def _reply_to(contact: Contact, ids: messages.ThreadIds) -> str:
    if ids.last_reply_to is None:
        raise CannotAnswer(
            f"the client's last mail on contact {contact.reference} has no other Reply-To",
            code="no_reply_to",
        )
    return ids.last_reply_to


async def _decoded(
    slices: AsyncGenerator[bytes, None], encoding: str
) -> AsyncGenerator[bytes, None]:
    decoder = Decoder(encoding)
    async with contextlib.aclosing(slices):
        async for piece in slices:
            if decoded := decoder.feed(piece):
                yield decoded
    if rest := decoder.end():
        yield rest


def _may_read(contact: Contact, person: Staff) -> None:
    # By need: the holder while they hold it (not after finishing or passing it on).
    if not may_read_personal(contact, person):
        raise NotHolder(f"contact {contact.reference} is not offered to or held by you")
