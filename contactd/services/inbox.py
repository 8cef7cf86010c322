"""The inbox: where the IMAP reader hands every message, each in one transaction.

- A reply (In-Reply-To or References naming one of a contact's messages, or its reference in
  the subject from the same address) is threaded onto that contact; a finished contact
  reopens, promised anew, unless the reply is automatic (an out-of-office). A reply is never
  acknowledged, so no two robots can loop.
- A delivery failure report of our own mail is recorded on the contact it was sent for.
- Anything else is a new contact, acknowledged unless it is automatic, bulk, a bounce, our
  own, or its address had its share of acknowledgements already.
The message's key is unique in the messages table, so a message read twice is stored once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import structlog

from channels.email.imap import IncomingMail, Received
from channels.email.loops import no_acknowledgement
from channels.email.message import ParsedMail
from contactd.clock import Clock
from contactd.metrics import Recorder
from contactd.services.intake import Intake
from contactd.services.mailboxes import acknowledger, own_addresses
from contactd.settings import EmailConfig
from contactd.store import contacts, database, messages, queries
from routing.contact import (
    REFERENCE_ALPHABET,
    Action,
    Channel,
    Contact,
    NewContact,
    State,
)
from routing.queues import CaseType

log = structlog.get_logger(__name__)

_REFERENCE = re.compile(rf"\b[{REFERENCE_ALPHABET}]{{4}}-[{REFERENCE_ALPHABET}]{{4}}\b")


class Inbox:
    def __init__(
        self,
        pool: asyncpg.Pool,
        intake: Intake,
        email: EmailConfig,
        *,
        timezone: ZoneInfo,
        case_types: Mapping[str, CaseType],
        clock: Clock,
        recorder: Recorder,
    ) -> None:
        """`timezone` and `case_types` word the acknowledgement: its date, the case type."""
        self._pool = pool
        self._intake = intake
        self._recorder = recorder
        self._email = email
        self._acknowledge = acknowledger(email, timezone, case_types)
        self._own = own_addresses(email)
        self._clock = clock

    async def receive(self, incoming: IncomingMail) -> Received:
        mail = incoming.mail
        known = await self._pool.fetchrow(queries.get("message_by_external_id"), incoming.key)
        if known is not None:
            return Received(known["reference"], "duplicate")
        if mail.bounced_id is not None:
            bounced = await self._pool.fetchrow(
                queries.get("thread_by_message_ids"), [mail.bounced_id]
            )
            if bounced is not None:
                return await self._bounce(contacts.contact_from_row(bounced), incoming)
        thread = await self._thread(mail)
        if thread is not None and thread.state not in (State.ABANDONED, State.CANCELLED):
            return await self._thread_onto(thread, incoming)
        return await self._new(incoming)

    async def _thread(self, mail: ParsedMail) -> Contact | None:
        ids = [*mail.in_reply_to, *mail.references]
        if ids:
            row = await self._pool.fetchrow(queries.get("thread_by_message_ids"), ids)
            if row is not None:
                return contacts.contact_from_row(row)
        references = _REFERENCE.findall(mail.subject.upper())
        if references and mail.sender:
            row = await self._pool.fetchrow(
                queries.get("thread_by_reference"), references, mail.sender
            )
            if row is not None:
                return contacts.contact_from_row(row)
        return None

    async def _new(self, incoming: IncomingMail) -> Received:
        mail = incoming.mail
        notice = incoming.notice
        why_not = no_acknowledgement(mail, self._own)
        if why_not is not None:
            log.info("email.no_acknowledgement", mailbox=incoming.mailbox, why=why_not)

        async def record(conn: database.Conn, contact: Contact) -> None:
            now = self._clock()
            await messages.insert_incoming(
                conn, contact.id, incoming, kind="mail", now=now, body=notice
            )
            if why_not is None:
                await self._acknowledged(conn, contact, mail, now)

        contact, created = await self._intake.submit(
            NewContact(
                channel=Channel.EMAIL,
                external_id=incoming.key,
                client_address=mail.sender,
                subject=mail.subject or None,
                # A mail too big to fetch is sorted by its subject; the notice is on the
                # desk with its message, where staff read it.
                text=(mail.text or None) if notice is None else None,
            ),
            actor=f"imap:{incoming.mailbox}",
            record=record,
        )
        return Received(contact.reference, "new" if created else "duplicate")

    async def _acknowledged(
        self, conn: database.Conn, contact: Contact, mail: ParsedMail, now: datetime
    ) -> None:
        """Queue the acknowledgement, unless the address has had its share in the window."""
        if self._acknowledge is None or mail.sender is None:
            return
        email = self._email
        since = now - timedelta(hours=email.acknowledgement_window_hours)
        await conn.execute(queries.get("lock_address"), mail.sender)
        sent = await conn.fetchval(queries.get("acknowledgements_to"), mail.sender, since)
        if sent >= email.acknowledgements_per_address:
            log.warning("email.acknowledgements_limited", reference=contact.reference, sent=sent)
            return
        item = self._acknowledge(contact, mail)
        await contacts.insert_outbox(conn, contact.id, item, now=now)
        await messages.insert_sent(conn, contact.id, item.payload, kind="acknowledgement", now=now)

    async def _thread_onto(self, contact: Contact, incoming: IncomingMail) -> Received:
        actor = f"imap:{incoming.mailbox}"
        now = self._clock()
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(queries.get("contact_for_update"), contact.id)
            locked = contacts.contact_from_row(row) if row is not None else contact
            message = await messages.insert_incoming(
                conn, locked.id, incoming, kind="mail", now=now, body=incoming.notice
            )
            if message is None:
                return Received(locked.reference, "duplicate")
            # An out-of-office answer to our answer is kept, but only a person reopens.
            automatic = no_acknowledgement(incoming.mail, self._own) is not None
            if locked.state is State.DONE and not automatic:
                queue = self._intake.requeue_to(locked)
                await contacts.transition(
                    conn,
                    locked.id,
                    Action.REOPEN,
                    now=now,
                    actor=actor,
                    recorder=self._recorder,
                    reason={"why": "the client wrote again", "message": message},
                    queue=queue,  # its wait starts again
                    due_at=self._intake.promise(queue, Channel.EMAIL, now),
                )
                outcome = "reopened"
            else:
                await messages.note(
                    conn, locked.id, "message", actor, {"message": message}, now=now
                )
                outcome = "threaded"
        log.info("email.threaded", reference=locked.reference, outcome=outcome)
        return Received(locked.reference, outcome)  # type: ignore[arg-type]

    async def _bounce(self, contact: Contact, incoming: IncomingMail) -> Received:
        now = self._clock()
        async with self._pool.acquire() as conn, conn.transaction():
            message = await messages.insert_incoming(
                conn, contact.id, incoming, kind="bounce", now=now
            )
            if message is None:
                return Received(contact.reference, "duplicate")
            await messages.note(
                conn,
                contact.id,
                "bounced",
                f"imap:{incoming.mailbox}",
                {"message": message},
                now=now,
            )
        log.warning("email.bounced", reference=contact.reference)
        return Received(contact.reference, "bounce")
