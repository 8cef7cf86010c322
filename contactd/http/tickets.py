"""The service centre's staff API: the front desk issues tickets; a caseworker at a counter
says which counter they sit at, recalls a ticket and marks a visitor who never came (the use
cases are in contactd/services/tickets.py and contactd/services/desk.py)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from contactd.http import auth
from contactd.http.appkeys import TICKETS
from contactd.http.contacts import contact_json, shown_to
from contactd.http.desk import DESK_ROLES, desk
from contactd.http.errors import Text, read_body
from contactd.services import tickets
from contactd.store.staff import Role
from routing.contact import Language

routes = web.RouteTableDef()


class TicketBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    case_type: Annotated[Text, Field(min_length=1, max_length=40)]
    language: Language = Language.DA  # what the counter speaks with the visitor
    # The language the visitor reads, one of [agency] languages: the ticket is printed in it.
    client_language: Annotated[str, Field(pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")] | None = None
    priority: Literal["normal", "assistance", "appointment"] = "normal"
    phone: Annotated[Text, Field(max_length=40)] | None = None
    # The kiosk's id of one press of its button: a double click issues one ticket.
    request_id: Annotated[Text, Field(min_length=8, max_length=100)] | None = None


class CounterBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    counter: Annotated[Text, Field(min_length=1, max_length=20)] | None


def ticket_json(issued: tickets.Issued) -> dict[str, Any]:
    contact = issued.contact
    return {
        **contact_json(contact),
        "number": issued.number,
        "position": issued.position,
        "estimated_wait_minutes": round(issued.estimated_wait_seconds / 60),
        "client_language": contact.client_language,
        "promise": issued.promise,
    }


@routes.post("/api/tickets")
@auth.require(Role.FRONTDESK, Role.SUPERVISOR)
async def issue(request: web.Request) -> web.Response:
    body = await read_body(request, TicketBody)
    person = auth.current(request)
    issued = await request.app[TICKETS].issue(
        case_type=body.case_type,
        language=body.language,
        client_language=body.client_language,
        priority=body.priority,
        phone=body.phone,
        request_id=body.request_id,
        staff_id=person.id,
        actor=person.actor,
    )
    return web.json_response(
        ticket_json(issued),
        status=201 if issued.created else 200,
        headers={"Location": f"/api/contacts/{issued.contact.reference}"},
    )


@routes.post("/api/desk/counter")
@auth.require(*DESK_ROLES)
async def set_counter(request: web.Request) -> web.Response:
    """The counter this caseworker sits at now (shown on the board when they call)."""
    body = await read_body(request, CounterBody)
    await desk(request).set_counter(auth.current(request).id, body.counter)
    return web.json_response({"counter": body.counter})


@routes.post("/api/desk/contacts/{reference}/recall")
@auth.require(*DESK_ROLES)
async def recall(request: web.Request) -> web.Response:
    """Call the ticket again: the board shows it once more."""
    reference = request.match_info["reference"]
    contact, calls = await desk(request).recall(auth.current(request), reference)
    return web.json_response({**contact_json(contact), "calls": calls})


@routes.post("/api/desk/contacts/{reference}/no-show")
@auth.require(*DESK_ROLES)
async def no_show(request: web.Request) -> web.Response:
    """The visitor never came after being called enough times: the ticket is done."""
    reference = request.match_info["reference"]
    person = auth.current(request)
    done = await desk(request).no_show(person, reference)
    return web.json_response(shown_to(person, done))  # done: the number is no longer theirs
