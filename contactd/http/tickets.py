"""The service centre's staff API: the front desk issues tickets; a caseworker at a counter
says which counter they sit at, recalls a ticket and marks a visitor who never came."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from channels.phone import numbers
from contactd.http import auth
from contactd.http.appkeys import CLOCK, METRICS, POOL, SETTINGS, TICKETS
from contactd.http.contacts import contact_json
from contactd.http.desk import DESK_ROLES, contact_of
from contactd.http.errors import ApiError, Text, read_body
from contactd.services import tickets
from contactd.services.intake import IntakeError
from contactd.store import agents, queries
from contactd.store import contacts as store
from contactd.store.staff import Role
from routing.contact import Action, Channel, Contact, IllegalTransition, Language, State

routes = web.RouteTableDef()


class TicketBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    case_type: Annotated[Text, Field(min_length=1, max_length=40)]
    language: Language = Language.DA
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
    }


@routes.post("/api/tickets")
@auth.require(Role.FRONTDESK, Role.SUPERVISOR)
async def issue(request: web.Request) -> web.Response:
    body = await read_body(request, TicketBody)
    person = auth.current(request)
    phone = None
    if body.phone and body.phone.strip():
        try:
            phone = numbers.normalise(body.phone, request.app[SETTINGS].phone.region)
        except numbers.BadNumber as exc:
            raise ApiError(422, "bad_phone", str(exc)) from None
    try:
        issued = await request.app[TICKETS].issue(
            case_type=body.case_type,
            language=body.language,
            priority=body.priority,
            phone=phone,
            request_id=body.request_id,
            staff_id=person.id,
            actor=person.actor,
        )
    except tickets.KioskClosed as exc:
        opens = exc.opens_at.isoformat(timespec="minutes") if exc.opens_at else None
        details = [{"opens_at": opens}] if opens else None
        raise ApiError(409, "kiosk_closed", str(exc), details) from None
    except IntakeError as exc:
        raise ApiError(422, "not_accepted", str(exc)) from None
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
    person = auth.current(request)
    found = await request.app[POOL].fetchval(queries.get("set_counter"), person.id, body.counter)
    if found is None:
        raise ApiError(404, "no_agent_profile", "you have no agent profile; ask a supervisor")
    return web.json_response({"counter": body.counter})


async def _held_ticket(request: web.Request) -> Contact:
    contact = await contact_of(request)
    if contact.channel is not Channel.TICKET:
        raise ApiError(409, "not_ticket", f"contact {contact.reference} is not a ticket")
    if contact.agent_id != auth.current(request).id or contact.state is not State.ACTIVE:
        raise ApiError(409, "conflict", f"call ticket {contact.reference} to your counter first")
    return contact


@routes.post("/api/desk/contacts/{reference}/recall")
@auth.require(*DESK_ROLES)
async def recall(request: web.Request) -> web.Response:
    """Call the ticket again: the board shows it once more."""
    contact = await _held_ticket(request)
    agent = await agents.get(request.app[POOL], auth.current(request).id)
    if agent is None or agent.counter is None:
        raise ApiError(409, "no_counter", "say which counter you sit at before you call a ticket")
    counter = agent.counter
    async with request.app[POOL].acquire() as conn:
        calls = await tickets.call(conn, contact.id, counter, now=request.app[CLOCK].now())
    return web.json_response({**contact_json(contact), "calls": calls})


@routes.post("/api/desk/contacts/{reference}/no-show")
@auth.require(*DESK_ROLES)
async def no_show(request: web.Request) -> web.Response:
    """The visitor never came after being called enough times: the ticket is done."""
    contact = await _held_ticket(request)
    pool = request.app[POOL]
    settings = request.app[SETTINGS]
    ticket = await pool.fetchrow(queries.get("ticket_of"), contact.id)
    needed = settings.tickets.no_show_after_calls
    calls = ticket["calls"] if ticket else 0
    if calls < needed:
        raise ApiError(
            409,
            "too_few_calls",
            f"call ticket {ticket['number'] if ticket else contact.reference} {needed} times "
            f"before marking a no-show (called {calls} times)",
            [{"calls": calls, "needed": needed}],
        )
    person = auth.current(request)
    now = request.app[CLOCK].now()
    try:
        done = await store.transition(
            pool,
            contact.id,
            Action.FINISH,
            now=now,
            actor=person.actor,
            recorder=request.app[METRICS],
            holder=person.id,
            outcome="no_show",
        )
    except (IllegalTransition, store.NotHolder) as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    await pool.execute(
        queries.get("contact_finished"), person.id, settings.routing.wrap_up_seconds > 0, now
    )
    return web.json_response(contact_json(done))
