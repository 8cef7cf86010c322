"""A caseworker on a live call consults a colleague before handing the caller over (a
consult, or warm, transfer): the caller is held while the two talk, then goes on with the
colleague (complete) or back to the caseworker (cancel). contactd/services/call_legs.py."""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from contactd.http import auth
from contactd.http.appkeys import LEGS
from contactd.http.contacts import shown_to
from contactd.http.desk import DESK_ROLES, contact_of
from contactd.http.errors import Text, read_body

routes = web.RouteTableDef()


class ConsultBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agent: Annotated[Text, Field(min_length=1, max_length=63)]  # the colleague's login


@routes.post("/api/desk/contacts/{reference}/consult")
@auth.require(*DESK_ROLES)
async def consult(request: web.Request) -> web.Response:
    body = await read_body(request, ConsultBody)
    person = auth.current(request)
    contact = await contact_of(request)
    held = await request.app[LEGS].consult(person.actor, person.id, contact, body.agent)
    return web.json_response(shown_to(person, held))


@routes.post("/api/desk/contacts/{reference}/consult/complete")
@auth.require(*DESK_ROLES)
async def complete(request: web.Request) -> web.Response:
    person = auth.current(request)
    contact = await contact_of(request)
    passed = await request.app[LEGS].complete(person.actor, person.id, contact)
    return web.json_response(shown_to(person, passed))  # no longer theirs: withheld


@routes.post("/api/desk/contacts/{reference}/consult/cancel")
@auth.require(*DESK_ROLES)
async def cancel(request: web.Request) -> web.Response:
    person = auth.current(request)
    contact = await contact_of(request)
    held = await request.app[LEGS].cancel(person.actor, person.id, contact)
    return web.json_response(shown_to(person, held))
