"""E-mail on the desk: the conversation of a contact, its attachments and raw copies for
staff, and the caseworker's answer, sent through the outbox threaded onto the client's mail.

HTML is never passed on as the client wrote it: it is cleaned by an allow-list (nh3), with
no images (they would tell the sender when staff read the mail) and no scripts or styles,
and the desk shows it in a sandboxed frame. Attachments and raw messages are downloads
(Content-Disposition: attachment, nosniff), never rendered by the browser.
"""

from __future__ import annotations

import asyncio
import re
from typing import Annotated, Any
from urllib.parse import quote

import nh3
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from channels.email.answer import Thread, answer, new_message_id
from channels.email.message import attachment
from contactd.http import auth
from contactd.http.appkeys import CLOCK, METRICS, POOL, SETTINGS
from contactd.http.contacts import contact_json
from contactd.http.desk import DESK_ROLES, contact_of
from contactd.http.errors import ApiError, Text, read_body
from contactd.store import contacts as store
from contactd.store import messages, queries
from contactd.store.staff import Role
from routing.contact import Channel, Contact, State

routes = web.RouteTableDef()
MAX_ANSWER_CHARS = 100_000
_TAGS = set(nh3.ALLOWED_TAGS) - {"img"}
_DOWNLOAD = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "private, no-store",
    "Content-Security-Policy": "sandbox",
}


class AnswerBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: Annotated[Text, Field(min_length=1, max_length=MAX_ANSWER_CHARS)]


async def readable_contact(request: web.Request) -> Contact:
    """The URL's contact, if this person may read its mail: a supervisor any, others only
    what is offered to or held by them (personal data is shown to whom it concerns)."""
    contact = await contact_of(request)
    person = auth.current(request)
    if person.role is not Role.SUPERVISOR and contact.agent_id != person.id:
        raise ApiError(
            403, "not_holder", f"contact {contact.reference} is not offered to or held by you"
        )
    return contact


def safe_html(html: str | None) -> str | None:
    if not html:
        return None
    return nh3.clean(
        html, tags=_TAGS, url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer"
    )


@routes.get("/api/desk/contacts/{reference}/messages")
@auth.require(*DESK_ROLES)
async def conversation(request: web.Request) -> web.Response:
    contact = await readable_contact(request)
    rows = await request.app[POOL].fetch(queries.get("contact_messages"), contact.id)
    base = f"/api/desk/contacts/{contact.reference}/messages"
    return web.json_response(
        {
            "reference": contact.reference,
            "messages": [
                {
                    "id": r["id"],
                    "direction": r["direction"],
                    "kind": r["kind"],
                    "at": r["at"].isoformat(),
                    "subject": r["subject"],
                    "text": r["body"],
                    "html": safe_html(r["html"]),
                    "attachments": [
                        {**a, "index": i, "url": f"{base}/{r['id']}/attachments/{i}"}
                        for i, a in enumerate(r["attachments"])
                    ],
                    "raw_url": f"{base}/{r['id']}/raw" if r["has_raw"] else None,
                    "raw_size": r["raw_size"],
                }
                for r in rows
            ],
        }
    )


def _number(request: web.Request, name: str) -> int | None:
    """A URL's id or index: plain digits within PostgreSQL's bigint, else None. (int()
    would also take " 1", "1_0" or "١", and a larger number cannot reach the database.)"""
    text = request.match_info[name]
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        return None
    return int(text)


async def _raw(request: web.Request) -> tuple[Contact, int, bytes]:
    contact = await readable_contact(request)
    message_id = _number(request, "message")
    if message_id is None:
        raise ApiError(404, "not_found", "no such message")
    raw: bytes | None = await request.app[POOL].fetchval(
        queries.get("message_raw"), message_id, contact.id
    )
    if raw is None:
        raise ApiError(404, "not_found", f"contact {contact.reference} has no such message")
    return contact, message_id, raw


# A character that may not stand in a quoted header value: controls (CR and LF would end
# the header) and the quote and backslash that would end or escape the quoting.
_UNSAFE_IN_HEADER = re.compile(r'[\x00-\x1f\x7f"\\]')


def _download(data: bytes, filename: str, content_type: str) -> web.Response:
    ascii_name = _UNSAFE_IN_HEADER.sub("?", filename.encode("ascii", "replace").decode())
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    return web.Response(
        body=data,
        content_type=content_type,
        headers={**_DOWNLOAD, "Content-Disposition": disposition},
    )


@routes.get("/api/desk/contacts/{reference}/messages/{message}/raw")
@auth.require(*DESK_ROLES)
async def raw_message(request: web.Request) -> web.Response:
    contact, message_id, raw = await _raw(request)
    return _download(raw, f"{contact.reference}-{message_id}.eml", "application/octet-stream")


@routes.get("/api/desk/contacts/{reference}/messages/{message}/attachments/{index}")
@auth.require(*DESK_ROLES)
async def attachment_file(request: web.Request) -> web.Response:
    _, _, raw = await _raw(request)
    index = _number(request, "index")
    try:
        # Parsing a big message takes most of a second: not on the event loop.
        found = None if index is None else await asyncio.to_thread(attachment, raw, index)
    except ValueError:
        found = None
    if found is None:
        raise ApiError(404, "not_found", "the message has no such attachment")
    described, data = found
    # Served as bytes to save, whatever type the sender claimed: no page runs from a mail.
    return _download(data, described.filename, "application/octet-stream")


@routes.post("/api/desk/contacts/{reference}/answer")
@auth.require(*DESK_ROLES)
async def send_answer(request: web.Request) -> web.Response:
    """The holder's answer to an e-mail contact: queued for SMTP in the same transaction
    that records it, so it is sent once; the first answer is the contact's first response."""
    body = await read_body(request, AnswerBody)
    person = auth.current(request)
    email = request.app[SETTINGS].email
    address = email.address if email.smtp is not None else None
    contact = await contact_of(request)
    if contact.channel is not Channel.EMAIL:
        raise ApiError(409, "not_email", f"contact {contact.reference} is not an e-mail")
    if address is None:
        raise ApiError(
            409,
            "email_not_configured",
            "answers cannot be sent: [email] address and [email.smtp] must both be configured",
        )
    if contact.client_address is None:
        raise ApiError(409, "no_address", f"contact {contact.reference} has no address to answer")
    pool = request.app[POOL]
    now = request.app[CLOCK].now()
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(queries.get("contact_for_update"), contact.id)
        locked = store.contact_from_row(row) if row is not None else contact
        if locked.agent_id != person.id or locked.state is not State.ACTIVE:
            raise ApiError(409, "conflict", f"answer contact {locked.reference} after accepting it")
        last = await conn.fetchrow(queries.get("last_incoming_message"), locked.id)
        ids = await conn.fetch(queries.get("thread_message_ids"), locked.id)
        thread = Thread(
            reference=locked.reference,
            language=locked.language,
            to=locked.client_address or contact.client_address,
            subject=(last["subject"] if last else None) or locked.subject,
            last_message_id=last["message_id"] if last else None,
            message_ids=tuple(r["message_id"] for r in ids),
        )
        item = answer(
            thread,
            body.text,
            address=address,
            message_id=new_message_id(locked.reference, address),
        )
        await store.insert_outbox(conn, locked.id, item, now=now)
        sent = await messages.insert_sent(
            conn, locked.id, item.payload, kind="answer", now=now, staff_id=person.id
        )
        await conn.fetchval(queries.get("first_response"), locked.id, now)
        await messages.note(conn, locked.id, "answered", person.actor, {"message": sent}, now=now)
        answered = await store.get_by_id(conn, locked.id)
    if locked.first_response_at is None and answered.first_response_at:
        request.app[METRICS].email_answered(answered, answered.first_response_at)
    result: dict[str, Any] = contact_json(answered)
    return web.json_response(
        {**result, "answer": {"message": sent, "subject": item.payload["subject"]}}
    )
