"""The inbox: where the IMAP reader hands every message, each in one transaction.

- A reply (In-Reply-To or References naming one of a contact's messages, or its reference in
  the subject from the same address) is threaded onto that contact; a finished contact
  reopens, promised anew, unless the reply is automatic (an out-of-office). A reply is never
  acknowledged, so no two robots can loop.
- A delivery failure report of our own mail is recorded on the contact it was sent for.
- Anything else is a new contact, acknowledged unless it is automatic, bulk, a bounce, our
  own, or its address had its share of acknowledgements already.
The message's key is unique in the messages table, so a message read twice is stored once.

The client is the address in From, never Reply-To (anyone can write any address there; DMARC
vouches for From only). Nothing one sender does can jam the inbox or bury other clients:
- more than `email.contacts_per_sender_per_hour` new contacts from one address: the rest of
  its mail is kept on its newest contact, with no acknowledgement (`capped`);
- more than `email.mails_per_contact` mails on one contact: the rest goes, unread, to the
  mailbox's quarantine folder, and the contact says so;
- a mail the database refuses `email.store_tries` times (counted in the database, across
  passes and restarts; an unreachable or busy database is not counted) goes to the quarantine
  folder too, with a contact in triage that tells staff where it is.
Nothing is lost either way: every mail is on a contact or, unread, in the quarantine folder.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import structlog

from channels.email.imap import IncomingMail, Outcome, Received
from channels.email.loops import no_acknowledgement
from channels.email.message import ParsedMail
from channels.wording import Wording
from contactd.clock import Clock
from contactd.metrics import Recorder
from contactd.services.intake import Intake
from contactd.services.mailboxes import acknowledger, own_addresses
from contactd.settings import EmailConfig, MailboxConfig
from contactd.store import contacts, database, messages, queries
from routing.contact import (
    REFERENCE_ALPHABET,
    Action,
    CaseTypeSource,
    Channel,
    Contact,
    Language,
    NewContact,
    State,
)
from routing.queues import CaseType

log = structlog.get_logger(__name__)

_REFERENCE = re.compile(rf"\b[{REFERENCE_ALPHABET}]{{4}}-[{REFERENCE_ALPHABET}]{{4}}\b")
# Failures of the database, not of the mail: tried again on the next pass, never counted.
_NOT_THE_MAILS_FAULT = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # a statement timeout, a shutdown
    asyncpg.exceptions.InsufficientResourcesError,  # disk full, too many connections
    asyncpg.exceptions.TransactionRollbackError,  # a deadlock, a serialization failure
)
# The triage contact of a mail that could not be stored: what staff read on the desk.
QUARANTINED_SUBJECT = "E-mail i karantæne / E-mail in quarantine"
QUARANTINED = (
    "[En e-mail fra denne afsender kunne ikke gemmes efter {tries} forsøg. Den er flyttet "
    'ulæst til mappen "{folder}" i postkassen {mailbox}: læs og besvar den dér. Flyt den '
    "tilbage til indbakken, når fejlen er rettet, så prøver contactd igen. / An e-mail from "
    "this sender could not be stored after {tries} tries. It was moved, unread, to the folder "
    '"{folder}" of the mailbox {mailbox}: read and answer it there. Move it back to the inbox '
    "once the fault is fixed, and contactd tries again. Message-ID: {message_id}]"
)


QUARANTINE_REASONS = ("not_stored", "mails_per_contact")


class _OverCap(Exception):
    """The sender reached its hourly cap of new contacts while this one was being made."""


class Inbox:
    def __init__(
        self,
        pool: asyncpg.Pool,
        intake: Intake,
        email: EmailConfig,
        *,
        timezone: ZoneInfo,
        case_types: Mapping[str, CaseType],
        wording: Wording,
        clock: Clock,
        recorder: Recorder,
    ) -> None:
        """`timezone`, `case_types` and `wording` word the acknowledgement: its date, the case
        type, its text."""
        self._pool = pool
        self._intake = intake
        self._recorder = recorder
        self._email = email
        self._acknowledge = acknowledger(email, timezone, case_types, wording)
        self._own = own_addresses(email)
        self._clock = clock
        for mailbox in email.mailboxes:  # every series from zero: rate() sees the first
            for reason in QUARANTINE_REASONS:
                recorder.mail_quarantined(mailbox, reason, 0)
            recorder.mail_capped(mailbox, 0)

    async def receive(self, incoming: IncomingMail) -> Received:
        try:
            return await self._receive(incoming)
        except _NOT_THE_MAILS_FAULT:
            raise
        except Exception as exc:
            error = type(exc).__name__  # its text might quote the mail
            tries = await messages.count_try(
                self._pool, incoming.mailbox, incoming.key, error=error, now=self._clock()
            )
            log.warning("email.not_stored", mailbox=incoming.mailbox, tries=tries, error=error)
            if tries < self._email.store_tries:
                raise
            return await self._unstorable(incoming, tries)

    async def _receive(self, incoming: IncomingMail) -> Received:
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

    async def _new(self, incoming: IncomingMail, *, capped: bool = True) -> Received:
        mail = incoming.mail
        sender, notice = mail.sender, incoming.notice
        since = self._clock() - timedelta(hours=1)
        cap = self._email.contacts_per_sender_per_hour
        if (
            capped
            and sender
            and await messages.email_contacts_from(self._pool, sender, since) >= cap
        ):
            return await self._capped(incoming)
        why_not = no_acknowledgement(mail, self._own)
        if why_not is not None:
            log.info("email.no_acknowledgement", mailbox=incoming.mailbox, why=why_not)

        async def record(conn: database.Conn, contact: Contact) -> None:
            now = self._clock()
            if capped and sender is not None:
                # One sender's mail is taken in one transaction at a time (the lock of its
                # acknowledgements), so the cap holds when several come together.
                await conn.execute(queries.get("lock_address"), sender)
                if await messages.email_contacts_from(conn, sender, since, but=contact.id) >= cap:
                    raise _OverCap
            await messages.insert_incoming(
                conn, contact.id, incoming, kind="mail", now=now, body=notice
            )
            if why_not is None:
                await self._acknowledged(conn, contact, mail, now)

        try:
            contact, created = await self._intake.submit(
                NewContact(
                    channel=Channel.EMAIL,
                    external_id=incoming.key,
                    client_address=sender,
                    subject=mail.subject or None,
                    # A mail too big to fetch is sorted by its subject; the notice is on the
                    # desk with its message, where staff read it.
                    text=(mail.text or None) if notice is None else None,
                ),
                actor=f"imap:{incoming.mailbox}",
                record=record,
            )
        except _OverCap:
            return await self._capped(incoming)
        return Received(contact.reference, "new" if created else "duplicate")

    async def _capped(self, incoming: IncomingMail) -> Received:
        """A mail over its sender's hourly cap: kept on the sender's newest contact."""
        newest = None
        if incoming.mail.sender is not None:
            newest = await messages.newest_email_contact_from(self._pool, incoming.mail.sender)
        if newest is None:  # purged meanwhile: a contact of its own after all, nothing lost
            return await self._new(incoming, capped=False)
        received = await self._thread_onto(newest, incoming, capped=True)
        if received.outcome == "capped":
            self._recorder.mail_capped(incoming.mailbox)
            log.warning("email.sender_capped", mailbox=incoming.mailbox, reference=newest.reference)
        return received

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

    async def _thread_onto(
        self, contact: Contact, incoming: IncomingMail, *, capped: bool = False
    ) -> Received:
        """The mail on `contact`: threaded, reopening it unless automatic or `capped` (over
        its sender's cap); quarantined when the contact holds its share of mails already."""
        now = self._clock()
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(queries.get("contact_for_update"), contact.id)
            locked = contacts.contact_from_row(row) if row is not None else contact
            if await messages.mails_on(conn, locked.id) >= self._email.mails_per_contact:
                first = await self._contact_full(conn, locked, incoming, now)
            else:
                outcome = await self._add(conn, locked, incoming, now, capped=capped)
                log.info("email.threaded", reference=locked.reference, outcome=outcome)
                return Received(locked.reference, outcome)
        if first:  # counted once committed, and once per mail
            self._recorder.mail_quarantined(incoming.mailbox, "mails_per_contact")
        log.warning(
            "email.quarantined", mailbox=incoming.mailbox, reason="mails_per_contact",
            reference=locked.reference,
        )  # fmt: skip
        return Received(locked.reference, "quarantined")

    async def _add(
        self,
        conn: database.Conn,
        locked: Contact,
        incoming: IncomingMail,
        now: datetime,
        *,
        capped: bool,
    ) -> Outcome:
        """Store the mail on the locked contact; what became of it."""
        actor = f"imap:{incoming.mailbox}"
        message = await messages.insert_incoming(
            conn, locked.id, incoming, kind="mail", now=now, body=incoming.notice
        )
        if message is None:
            return "duplicate"
        # An out-of-office answer to our answer is kept, but only a person reopens; mail over
        # its sender's cap is kept and reopens nothing.
        automatic = no_acknowledgement(incoming.mail, self._own) is not None
        if locked.state is State.DONE and not automatic and not capped:
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
                due_at=self._intake.promise(queue.code, Channel.EMAIL, now),
            )
            return "reopened"
        reason: dict[str, object] = {"message": message}
        if capped:
            reason["why"] = "contacts_per_sender_per_hour"
        await messages.note(conn, locked.id, "message", actor, reason, now=now)
        return "capped" if capped else "threaded"

    async def _contact_full(
        self, conn: database.Conn, contact: Contact, incoming: IncomingMail, now: datetime
    ) -> bool:
        """The contact holds its share of mails: this one waits in the quarantine folder, and
        the contact says so (once per mail); True the first time."""
        first = await messages.quarantine(
            conn, incoming.mailbox, incoming.key, reason="mails_per_contact", now=now
        )
        if first:
            folder = self._quarantine_folder(incoming.mailbox)
            await messages.note(
                conn, contact.id, "quarantined", f"imap:{incoming.mailbox}",
                {"why": "mails_per_contact", "folder": folder}, now=now,
            )  # fmt: skip
        return first

    async def _unstorable(self, incoming: IncomingMail, tries: int) -> Received:
        """A mail the database refused `tries` times: to the quarantine folder, and a contact
        in triage (where a supervisor sees it, measured against the e-mail goal like the
        mail itself) tells staff where to read it. Nothing of the mail but its sender's
        address and its Message-ID is stored: those are what could not be."""
        mailbox, mail = incoming.mailbox, incoming.mail
        folder = self._quarantine_folder(mailbox)

        async def record(conn: database.Conn, contact: Contact) -> None:
            await messages.quarantine(
                conn, mailbox, incoming.key, reason="not_stored", now=self._clock()
            )

        text = QUARANTINED.format(
            tries=tries, folder=folder, mailbox=mailbox, message_id=mail.message_id or "-"
        )
        contact, created = await self._intake.submit(
            NewContact(
                channel=Channel.EMAIL,
                external_id=f"quarantine:{mailbox}:{incoming.key}",
                case_type="general",  # triage
                case_type_source=CaseTypeSource.CLASSIFIER,
                confidence=0.0,
                language=Language.DA,
                client_address=mail.sender,
                subject=QUARANTINED_SUBJECT,
                text=text,
            ),
            actor=f"imap:{mailbox}",
            record=record,
        )
        if created:
            self._recorder.mail_quarantined(mailbox, "not_stored")
        log.error(
            "email.quarantined", mailbox=mailbox, reason="not_stored", tries=tries,
            reference=contact.reference,
        )  # fmt: skip
        return Received(contact.reference, "quarantined")

    def _quarantine_folder(self, mailbox: str) -> str:
        box = self._email.mailboxes.get(mailbox)
        if box is None:  # a mailbox read without configuration (the CLI, a test)
            return str(MailboxConfig.model_fields["quarantine_folder"].default)
        return box.quarantine_folder

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
