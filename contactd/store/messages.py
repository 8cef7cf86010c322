"""The e-mails of a contact, in and out, as stored in the messages table."""

from __future__ import annotations

import dataclasses
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


@dataclasses.dataclass(frozen=True, kw_only=True)
class ThreadIds:
    """What a message we send needs to thread onto the conversation."""

    last_message_id: str | None  # of the client's last mail
    last_subject: str | None
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
