"""The e-mails of a contact, in and out, as stored in the messages table; and the tries to
store a mail the database refused (mail_tries)."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from channels.email.imap import IncomingMail
from contactd.store import contacts, database, queries
from routing.contact import Contact


@dataclasses.dataclass(frozen=True, kw_only=True)
class Message:
    """A stored message as the desk lists it: its raw copy only said to be there."""

    id: int
    direction: str  # 'in' or 'out'
    kind: str
    at: datetime
    subject: str | None
    text: str | None
    html: str | None  # as the sender wrote it: not yet cleaned for a browser
    attachments: list[dict[str, Any]]  # as described at intake, in the message's order
    has_raw: bool
    raw_size: int | None
    reply_to: str | None  # the mail's Reply-To, when it differs from From
    authentication: dict[str, str] | None  # the receiving server's verdict; None: not checked


@dataclasses.dataclass(frozen=True, kw_only=True)
class ThreadIds:
    """What a message we send needs to thread onto the conversation."""

    last_message_id: str | None  # of the client's last mail
    last_subject: str | None
    last_reply_to: str | None  # its Reply-To, when it differs from From
    message_ids: tuple[str, ...]  # every message of the contact but bounces, oldest first


async def of_contact(db: contacts.Executor, contact_id: int) -> list[Message]:
    """A contact's messages, oldest first."""
    rows = await db.fetch(queries.get("contact_messages"), contact_id)
    return [
        Message(
            id=r["id"],
            direction=r["direction"],
            kind=r["kind"],
            at=r["at"],
            subject=r["subject"],
            text=r["body"],
            html=r["html"],
            attachments=r["attachments"],
            has_raw=r["has_raw"],
            raw_size=r["raw_size"],
            reply_to=r["reply_to"],
            authentication=r["authentication"],
        )
        for r in rows
    ]


async def raw(db: contacts.Executor, message_id: int, contact_id: int) -> bytes | None:
    """The raw copy of one of the contact's messages; None if it has no such message."""
    found: bytes | None = await db.fetchval(queries.get("message_raw"), message_id, contact_id)
    return found


async def thread_ids(db: contacts.Executor, contact_id: int) -> ThreadIds:
    last = await db.fetchrow(queries.get("last_incoming_message"), contact_id)
    ids = await db.fetch(queries.get("thread_message_ids"), contact_id)
    return ThreadIds(
        last_message_id=last["message_id"] if last else None,
        last_subject=last["subject"] if last else None,
        last_reply_to=last["reply_to"] if last else None,
        message_ids=tuple(r["message_id"] for r in ids),
    )


async def lock_contact(conn: database.Conn, contact_id: int) -> Contact | None:
    """The contact of a conversation, locked until the transaction ends, so that two
    answers (or an answer and a finish) do not cross; None if it is gone."""
    row = await conn.fetchrow(queries.get("contact_for_update"), contact_id)
    return contacts.contact_from_row(row) if row is not None else None


async def first_response(conn: database.Conn, contact_id: int, now: datetime) -> None:
    """A message sent to the client at `now`: the contact's first response, unless it had one."""
    await conn.fetchval(queries.get("first_response"), contact_id, now)


async def insert_incoming(
    conn: database.Conn,
    contact_id: int,
    incoming: IncomingMail,
    *,
    kind: str,
    now: datetime,
    body: str | None = None,
) -> int | None:
    """An incoming message with its raw copy, received at `now`; None when its key is stored
    already (the message was read before). `body` replaces the mail's text (a notice for
    staff)."""
    mail = incoming.mail
    id_: int | None = await conn.fetchval(
        queries.get("insert_message"),
        contact_id,
        "in",
        kind,
        mail.message_id,
        incoming.key,
        incoming.mailbox,
        now,
        None,
        mail.subject or None,
        body or mail.text or None,
        mail.html,
        [dataclasses.asdict(a) for a in mail.attachments],
        incoming.raw,
        mail.reply_to,
        incoming.authentication,
    )
    return id_


async def insert_sent(
    conn: database.Conn,
    contact_id: int,
    payload: Mapping[str, Any],
    *,
    kind: str,
    now: datetime,
    staff_id: int | None = None,
) -> int:
    """A message we send, written with its outbox entry, so that a reply to it threads."""
    id_: int = await conn.fetchval(
        queries.get("insert_message"),
        contact_id,
        "out",
        kind,
        payload["message_id"],
        None,
        None,
        now,
        staff_id,
        payload["subject"],
        payload["text"],
        None,
        [],
        None,
        None,
        None,
    )
    return id_


async def note(
    conn: database.Conn,
    contact_id: int,
    action: str,
    actor: str,
    reason: Mapping[str, Any],
    *,
    now: datetime,
) -> None:
    """An event at `now` that changes no state (a message threaded on, a bounce, an answer
    sent); it wakes the desks."""
    await conn.execute(queries.get("contact_note"), contact_id, action, actor, dict(reason), now)


async def raw_size(db: contacts.Executor, message_id: int, contact_id: int) -> int | None:
    """The size of a message's raw copy; None if the contact has no such message or copy."""
    size: int | None = await db.fetchval(queries.get("message_raw_size"), message_id, contact_id)
    return size


async def raw_slice(
    db: contacts.Executor, message_id: int, contact_id: int, start: int, length: int
) -> bytes:
    """`length` bytes of the raw copy from byte `start` (from 0); fewer at its end, none
    when it is gone (purged meanwhile)."""
    found: bytes | None = await db.fetchval(
        queries.get("message_raw_slice"), message_id, contact_id, start + 1, length
    )
    return found or b""


async def described_attachment(
    db: contacts.Executor, message_id: int, contact_id: int, index: int
) -> dict[str, Any] | None:
    """The attachment as described at intake (with where its body lies in the raw copy);
    None if the message, the attachment or the raw copy is not there."""
    row = await db.fetchrow(queries.get("message_attachment"), message_id, contact_id, index)
    if row is None or not row["has_raw"] or row["attachment"] is None:
        return None
    described: dict[str, Any] = row["attachment"]
    return described


def _key_hash(key: str) -> bytes:
    """A mail's key as the tries table keeps it: no Message-ID, no address, in the table."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


async def count_try(
    db: contacts.Executor, mailbox: str, key: str, *, error: str, now: datetime
) -> int:
    """One more failed try to store the mail; the tries so far, across passes and restarts."""
    tries: int = await db.fetchval(queries.get("mail_try"), mailbox, _key_hash(key), error, now)
    return tries


async def quarantine(
    db: contacts.Executor, mailbox: str, key: str, *, reason: str, now: datetime
) -> bool:
    """The mail is quarantined for `reason`; True the first time, False if it was before."""
    first: bool | None = await db.fetchval(
        queries.get("mail_quarantine"), mailbox, _key_hash(key), reason, now
    )
    return bool(first)


async def mails_on(db: contacts.Executor, contact_id: int) -> int:
    """How many mails from the client the contact holds."""
    count: int = await db.fetchval(queries.get("mails_on_contact"), contact_id)
    return count


async def email_contacts_from(
    db: contacts.Executor, address: str, since: datetime, *, but: int = 0
) -> int:
    """E-mail contacts made for `address` since `since`, but contact `but`."""
    count: int = await db.fetchval(queries.get("email_contacts_from"), address, since, but)
    return count


async def newest_email_contact_from(db: contacts.Executor, address: str) -> Contact | None:
    row = await db.fetchrow(queries.get("newest_email_contact_from"), address)
    return contacts.contact_from_row(row) if row is not None else None
