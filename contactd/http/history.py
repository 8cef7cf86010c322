"""The client on the desk: their earlier contacts, notes on a contact, and the supervisors'
search by reference, phone number or e-mail address."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from contactd.http import auth
from contactd.http.desk import DESK_ROLES, contact_of
from contactd.http.errors import Text, read_body
from contactd.services.history import LIMIT, ClientHistory, NotSearchable
from contactd.store.history import Earlier, Note
from contactd.store.staff import Role

routes = web.RouteTableDef()
HISTORY = web.AppKey("history", ClientHistory)


class NoteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[Text, Field(min_length=1, max_length=4000)]


@routes.get("/api/desk/contacts/{reference}/history")
@auth.require(*DESK_ROLES)
async def client_history(request: web.Request) -> web.Response:
    """The client's other contacts, newest first (at most 50), for the contact's holder."""
    contact = await contact_of(request)
    found = await request.app[HISTORY].of(auth.current(request), contact)
    return web.json_response(
        {
            "reference": contact.reference,
            "limit": LIMIT,
            "contacts": [earlier_json(e) for e in found],
        }
    )


@routes.get("/api/desk/contacts/{reference}/notes")
@auth.require(*DESK_ROLES)
async def notes(request: web.Request) -> web.Response:
    contact = await contact_of(request)
    found = await request.app[HISTORY].notes(auth.current(request), contact)
    return web.json_response(
        {"reference": contact.reference, "notes": [note_json(n) for n in found]}
    )


@routes.post("/api/desk/contacts/{reference}/notes")
@auth.require(*DESK_ROLES)
async def add_note(request: web.Request) -> web.Response:
    """An internal note on the contact (kept with it, purged with it)."""
    body = await read_body(request, NoteBody)
    contact = await contact_of(request)
    note = await request.app[HISTORY].add_note(auth.current(request), contact, body.text)
    return web.json_response(note_json(note), status=201)


@routes.get("/api/search")
@auth.require(Role.SUPERVISOR)
async def search(request: web.Request) -> web.Response:
    """A client's contacts by `q`: a reference, a phone number (any writing) or an e-mail."""
    query = request.query.get("q", "")
    if not 1 <= len(query) <= 254:
        raise NotSearchable("give q: a reference, a phone number or an e-mail address")
    found = await request.app[HISTORY].search(auth.current(request), query)
    return web.json_response(
        {"by": found.kind, "contacts": [earlier_json(e) for e in found.contacts]}
    )


def earlier_json(e: Earlier) -> dict[str, Any]:
    shown = dataclasses.asdict(e)
    del shown["id"]
    return {
        **shown,
        "created_at": e.created_at.isoformat(),
        "closed_at": e.closed_at.isoformat() if e.closed_at else None,
        "notes": list(e.notes),  # jsonb: times as PostgreSQL wrote them
    }


def note_json(n: Note) -> dict[str, Any]:
    return {"author": n.author, "at": n.at.isoformat(), "text": n.text}
