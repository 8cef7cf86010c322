"""E-mail on the desk: the conversation of a contact, its attachments and raw copies for
staff, and the caseworker's answer, sent through the outbox threaded onto the client's mail.

HTML is never passed on as the client wrote it: it is cleaned by an allow-list (nh3), with
no images (they would tell the sender when staff read the mail) and no scripts or styles,
and the desk shows it in a sandboxed frame. Cleaning a big mail takes a while: it is done in
a thread, not on the event loop that serves everyone else. Attachments and raw messages are
downloads (Content-Disposition: attachment, nosniff), never rendered by the browser, and
streamed as they are read from the database.

Each incoming mail shows its Reply-To when it differs from From (the contact's address), and
the receiving server's verdict on the sender; an answer goes to From unless the caseworker
chooses Reply-To (`"to": "reply_to"`).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Sequence
from typing import Annotated, Any
from urllib.parse import quote

import nh3
import structlog
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from contactd.http import auth
from contactd.http.appkeys import AUDIT
from contactd.http.contacts import contact_json
from contactd.http.desk import DESK_ROLES, contact_of
from contactd.http.errors import Text, read_body, route_of
from contactd.services.answers import Answers, AnswerTo, Download
from contactd.services.standard_answers import StandardAnswers
from contactd.store.messages import Message

log = structlog.get_logger(__name__)

routes = web.RouteTableDef()
STANDARD_ANSWERS = web.AppKey("standard_answers", StandardAnswers)
ANSWERS = web.AppKey("answers", Answers)
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
    # "from": the contact's address; "reply_to": the Reply-To of the client's last mail.
    to: AnswerTo = "from"
    # The agency's forms to attach, by file name (GET /api/forms).
    attachments: list[Annotated[Text, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=5
    )


def answers(request: web.Request) -> Answers:
    return request.app[ANSWERS]


def safe_html(html: str | None) -> str | None:
    if not html:
        return None
    return nh3.clean(
        html, tags=_TAGS, url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer"
    )


def _message_json(base: str, m: Message) -> dict[str, Any]:
    return {
        "id": m.id,
        "direction": m.direction,
        "kind": m.kind,
        "at": m.at.isoformat(),
        "subject": m.subject,
        "text": m.text,
        "html": safe_html(m.html),
        "attachments": [
            {
                "filename": a["filename"],
                "content_type": a["content_type"],
                "size": a["size"],
                "index": i,
                "url": f"{base}/{m.id}/attachments/{i}",
            }
            for i, a in enumerate(m.attachments)
        ],
        "raw_url": f"{base}/{m.id}/raw" if m.has_raw else None,
        "raw_size": m.raw_size,
        "reply_to": m.reply_to,  # only when it differs from From
        "authentication": m.authentication,  # {"dmarc": "pass"}; None: not checked
    }


def clean_messages(base: str, found: Sequence[Message]) -> list[dict[str, Any]]:
    """The conversation as the desk shows it, its HTML cleaned (run in a thread)."""
    return [_message_json(base, m) for m in found]


@routes.get("/api/desk/contacts/{reference}/messages")
@auth.require(*DESK_ROLES)
async def conversation(request: web.Request) -> web.Response:
    contact = await contact_of(request)
    found = await answers(request).conversation(contact, auth.current(request))
    await request.app[AUDIT].record(
        auth.current(request), "email.read", reference=contact.reference
    )  # only the holder and supervisors get here (403 not_holder otherwise)
    base = f"/api/desk/contacts/{contact.reference}/messages"
    shown = await asyncio.to_thread(clean_messages, base, found)
    return web.json_response({"reference": contact.reference, "messages": shown})


def _number(request: web.Request, name: str) -> int | None:
    """A URL's id or index: plain digits within PostgreSQL's bigint, else None. (int()
    would also take " 1", "1_0" or "١", and a larger number cannot reach the database.)"""
    text = request.match_info[name]
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        return None
    return int(text)


# A character that may not stand in a quoted header value: controls (CR and LF would end
# the header) and the quote and backslash that would end or escape the quoting.
_UNSAFE_IN_HEADER = re.compile(r'[\x00-\x1f\x7f"\\]')


async def _download(request: web.Request, download: Download, filename: str) -> web.StreamResponse:
    """The download, streamed as it is read. Served as bytes to save, whatever type the
    sender claimed: no page runs from a mail."""
    ascii_name = _UNSAFE_IN_HEADER.sub("?", filename.encode("ascii", "replace").decode())
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    response = web.StreamResponse(headers={**_DOWNLOAD, "Content-Disposition": disposition})
    response.content_type = "application/octet-stream"
    if download.size is not None:
        response.content_length = download.size
    await response.prepare(request)
    async with contextlib.aclosing(download.chunks) as chunks:
        try:
            async for chunk in chunks:
                await response.write(chunk)
        except Exception as exc:
            # The status is sent: only cutting the download short is left, so that the
            # client sees it cut, never one that looks whole (aiohttp would end it well).
            if not isinstance(exc, ConnectionResetError):  # not just the client leaving
                log.warning("email.download_cut", route=route_of(request), error=type(exc).__name__)
            if request.transport is not None:
                request.transport.close()
            return response
    await response.write_eof()
    return response


@routes.get("/api/desk/contacts/{reference}/messages/{message}/raw")
@auth.require(*DESK_ROLES)
async def raw_message(request: web.Request) -> web.StreamResponse:
    contact = await contact_of(request)
    message_id = _number(request, "message")
    raw = await answers(request).raw(contact, auth.current(request), message_id)
    await _downloaded(request, contact.reference, {"message": message_id, "raw": True})
    return await _download(request, raw, f"{contact.reference}-{message_id}.eml")


@routes.get("/api/desk/contacts/{reference}/messages/{message}/attachments/{index}")
@auth.require(*DESK_ROLES)
async def attachment_file(request: web.Request) -> web.StreamResponse:
    contact = await contact_of(request)
    message_id, index = _number(request, "message"), _number(request, "index")
    found = await answers(request).attachment(contact, auth.current(request), message_id, index)
    await _downloaded(request, contact.reference, {"message": message_id, "attachment": index})
    return await _download(request, found, found.filename or "attachment")


async def _downloaded(request: web.Request, reference: str, details: dict[str, Any]) -> None:
    await request.app[AUDIT].record(
        auth.current(request), "email.downloaded", reference=reference, details=details
    )


@routes.get("/api/forms")
@auth.require(*DESK_ROLES)
async def forms(request: web.Request) -> web.Response:
    """The agency's forms and checklists a caseworker may attach to an answer."""
    shown = [
        {"filename": f.filename, "content_type": f.content_type, "size": f.size}
        for f in answers(request).forms.available()
    ]
    return web.json_response({"forms": shown})


@routes.get("/api/desk/contacts/{reference}/answers")
@auth.require(*DESK_ROLES)
async def standard_answers(request: web.Request) -> web.Response:
    """The agency's standard answers for the contact's case type and language, filled in."""
    contact = await contact_of(request)
    filled = request.app[STANDARD_ANSWERS].for_contact(contact, auth.current(request))
    return web.json_response(
        {"answers": [{"name": f.name, "title": f.title, "text": f.text} for f in filled]}
    )


@routes.post("/api/desk/contacts/{reference}/answer")
@auth.require(*DESK_ROLES)
async def send_answer(request: web.Request) -> web.Response:
    """The holder's answer to an e-mail contact (contactd/services/answers.py)."""
    body = await read_body(request, AnswerBody)
    contact = await contact_of(request)
    sent = await answers(request).answer(
        contact, auth.current(request), body.text, to=body.to, attachments=body.attachments
    )
    return web.json_response(
        {**contact_json(sent.contact), "answer": {"message": sent.message, "subject": sent.subject}}
    )
