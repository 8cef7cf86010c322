"""The e-mails of a contact, in and out, as stored in the messages table."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from channels.email.imap import IncomingMail
from contactd.store import database, queries


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
