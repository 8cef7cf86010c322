"""The agent desk API: set yourself available, take offers, finish, decline, transfer.

Every action names the contact by its reference and is made only by the agent it is
offered to or held by; the live view is a server-sent event stream of the desk.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, model_validator

from channels.phone.dialing import connect_item, dial_item
from contactd.http import auth
from contactd.http.appkeys import CLOCK, LISTENER, METRICS, POOL, SETTINGS, STOPPING
from contactd.http.contacts import contact_json
from contactd.http.errors import ApiError, Text, read_body
from contactd.services import tickets
from contactd.settings import Settings
from contactd.store import agents, queries
from contactd.store import contacts as store
from contactd.store.listener import AGENTS_CHANNEL, CONTACTS_CHANNEL, DESK_CHANNEL
from contactd.store.staff import Role
from routing.agents import AgentState
from routing.contact import Action, Channel, Contact, IllegalTransition, normalise_reference
from routing.queues import NoQueue, choose_queue

routes = web.RouteTableDef()
DESK_ROLES = (Role.AGENT, Role.FRONTDESK, Role.SUPERVISOR)
KEEPALIVE_SECONDS = 15


def _no_profile() -> ApiError:
    return ApiError(404, "no_agent_profile", "you have no agent profile; ask a supervisor")


class StateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: AgentState


class FinishBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: Annotated[Text, Field(min_length=1, max_length=40)]
    case_type: Annotated[Text, Field(max_length=40)] | None = None


class TransferBody(BaseModel):
    """To another queue, or to the queue of a corrected case type (triage's daily work)."""

    model_config = ConfigDict(extra="forbid")
    queue: Annotated[Text, Field(max_length=40)] | None = None
    case_type: Annotated[Text, Field(max_length=40)] | None = None

    @model_validator(mode="after")
    def _somewhere(self) -> TransferBody:
        if self.queue is None and self.case_type is None:
            raise ValueError("name the queue, the corrected case type, or both")
        return self


async def desk_json(request: web.Request) -> dict[str, Any]:
    person = auth.current(request)
    pool = request.app[POOL]
    agent = await agents.get(pool, person.id)
    if agent is None:
        raise _no_profile()
    rows = await pool.fetch(queries.get("contacts_held_by"), person.id)
    return {
        # The daemon's time: the page counts offers down by it, not by the browser's clock.
        "at": request.app[CLOCK].now().isoformat(),
        "login": person.login,
        "name": person.name,
        "state": agent.state,
        "state_changed_at": agent.state_changed_at.isoformat(),
        "counter": agent.counter,
        "contacts": [
            {
                **contact_json(store.contact_from_row(r)),
                "offer_expires_at": r["offer_expires_at"].isoformat()
                if r["offer_expires_at"]
                else None,
                "message_count": r["message_count"],
                "ticket_number": r["ticket_number"],
                "ticket_calls": r["ticket_calls"],
            }
            for r in rows
        ],
    }


@routes.get("/api/desk")
@auth.require(*DESK_ROLES)
async def get_desk(request: web.Request) -> web.Response:
    return web.json_response(await desk_json(request))


@routes.post("/api/desk/state")
@auth.require(*DESK_ROLES)
async def set_state(request: web.Request) -> web.Response:
    body = await read_body(request, StateBody)
    if body.state is AgentState.WRAP_UP:
        raise ApiError(422, "not_accepted", "wrap-up starts by itself when you finish a contact")
    try:
        await agents.set_state(
            request.app[POOL], auth.current(request).id, body.state, now=request.app[CLOCK].now()
        )
    except agents.AgentError:
        raise _no_profile() from None
    return web.json_response(await desk_json(request))


async def contact_of(request: web.Request) -> Contact:
    """The contact the URL names, or 404."""
    text = request.match_info["reference"]
    try:
        return await store.get_by_reference(request.app[POOL], normalise_reference(text))
    except (ValueError, store.ContactNotFound):
        raise ApiError(404, "not_found", f"no contact has the reference {text!r}") from None


async def _act(
    request: web.Request, action: Action, *, contact: Contact | None = None, **changes: Any
) -> web.Response:
    """Apply `action` to the URL's contact (already read, or read here) as its holder."""
    person = auth.current(request)
    contact = contact or await contact_of(request)
    try:
        contact = await store.transition(
            request.app[POOL],
            contact.id,
            action,
            now=request.app[CLOCK].now(),
            actor=person.actor,
            recorder=request.app[METRICS],
            holder=person.id,
            **changes,
        )
    except store.NotHolder as exc:
        raise ApiError(403, "not_holder", str(exc)) from None
    except IllegalTransition as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    return web.json_response(contact_json(contact))


@routes.post("/api/desk/contacts/{reference}/accept")
@auth.require(*DESK_ROLES)
async def accept(request: web.Request) -> web.Response:
    contact = await contact_of(request)
    if _through_twilio(contact):
        response = await _accept_voice(request, contact)
    elif contact.channel is Channel.TICKET and await request.app[POOL].fetchval(
        queries.get("ticket_of"), contact.id
    ):  # a numbered ticket (not a walk-in registered by hand): it is called to a counter
        response = await _accept_ticket(request, contact)
    else:
        response = await _act(request, Action.ACCEPT, contact=contact)
    await request.app[POOL].execute(queries.get("offer_taken"), auth.current(request).id)
    return response


async def _accept_ticket(request: web.Request, contact: Contact) -> web.Response:
    """Accepting a ticket calls it to the caseworker's counter: the board shows it. Both in
    one transaction, so a ticket is never taken without being called."""
    person = auth.current(request)
    pool = request.app[POOL]
    agent = await agents.get(pool, person.id)
    if agent is None or agent.counter is None:
        raise ApiError(409, "no_counter", "say which counter you sit at before you call a ticket")
    now = request.app[CLOCK].now()
    async with pool.acquire() as conn, conn.transaction():
        try:
            accepted = await store.transition(
                conn,
                contact.id,
                Action.ACCEPT,
                now=now,
                actor=person.actor,
                recorder=request.app[METRICS],
                holder=person.id,
            )
        except store.NotHolder as exc:
            raise ApiError(403, "not_holder", str(exc)) from None
        except IllegalTransition as exc:
            raise ApiError(409, "conflict", str(exc)) from None
        await tickets.call(conn, accepted.id, agent.counter, now=now)
    return web.json_response(contact_json(accepted))


async def _accept_voice(request: web.Request, contact: Contact) -> web.Response:
    """Accepting a callback dials it; accepting a waiting call puts the caller through. The
    accept and the Twilio request to make are one transaction: a refusal rolls both back."""
    person = auth.current(request)
    pool = request.app[POOL]
    settings = request.app[SETTINGS]
    agent = await agents.get(pool, person.id)
    now = request.app[CLOCK].now()
    async with pool.acquire() as conn, conn.transaction():
        try:
            accepted = await store.transition(
                conn,
                contact.id,
                Action.ACCEPT,
                now=now,
                actor=person.actor,
                recorder=request.app[METRICS],
                holder=person.id,
            )
        except store.NotHolder as exc:
            raise ApiError(403, "not_holder", str(exc)) from None
        except IllegalTransition as exc:
            raise ApiError(409, "conflict", str(exc)) from None
        if not settings.can_place_calls:
            raise ApiError(
                409,
                "phone_not_configured",
                "calls cannot be placed: Twilio is not configured (see docs/how-to/phone.md)",
            )
        if agent is None or agent.phone is None:
            raise ApiError(
                409,
                "no_phone",
                "calls are put through to your phone: ask a supervisor to add your phone "
                "number to your agent profile",
            )
        if accepted.channel is Channel.CALLBACK:
            item = dial_item(accepted, agent.phone, settings.phone.dial_order)
        else:
            item = connect_item(accepted)
        await store.insert_outbox(conn, accepted.id, item, now=now)
    return web.json_response(contact_json(accepted))


def _through_twilio(contact: Contact) -> bool:
    """A callback with a number to dial, or a call waiting on Twilio's line (not one staff
    registered by hand): accepting it makes Twilio ring the agent's phone."""
    if contact.channel is Channel.CALLBACK:
        return contact.client_address is not None
    return contact.channel is Channel.CALL and (contact.external_id or "").startswith("CA")


@routes.post("/api/desk/contacts/{reference}/decline")
@auth.require(*DESK_ROLES)
async def decline(request: web.Request) -> web.Response:
    return await _act(request, Action.DECLINE)


@routes.post("/api/desk/contacts/{reference}/finish")
@auth.require(*DESK_ROLES)
async def finish(request: web.Request) -> web.Response:
    body = await read_body(request, FinishBody)
    settings = request.app[SETTINGS]
    _known_case_type(settings, body.case_type)
    response = await _act(request, Action.FINISH, outcome=body.outcome, case_type=body.case_type)
    await request.app[POOL].execute(
        queries.get("contact_finished"),
        auth.current(request).id,
        settings.routing.wrap_up_seconds > 0,
        request.app[CLOCK].now(),
    )
    return response


@routes.post("/api/desk/contacts/{reference}/transfer")
@auth.require(*DESK_ROLES)
async def transfer(request: web.Request) -> web.Response:
    body = await read_body(request, TransferBody)
    settings = request.app[SETTINGS]
    _known_case_type(settings, body.case_type)
    contact = await contact_of(request)
    try:
        queue = choose_queue(
            settings.queues,
            case_type=body.case_type or contact.case_type,
            channel=contact.channel,
            requested=body.queue,
        )
    except NoQueue as exc:
        raise ApiError(422, "not_accepted", str(exc)) from None
    reason: dict[str, str] = {"to_queue": queue.code, "from_queue": contact.queue}
    if body.case_type and body.case_type != contact.case_type:
        reason |= {"to_case_type": body.case_type, "from_case_type": contact.case_type}
    return await _act(
        request,
        Action.REQUEUE,
        contact=contact,
        queue=queue.code,
        case_type=body.case_type,
        reason=reason,
    )


def _known_case_type(settings: Settings, code: str | None) -> None:
    if code is not None and code not in settings.case_types:
        known = ", ".join(settings.case_types)
        raise ApiError(422, "not_accepted", f"unknown case type {code!r}; known: {known}")


@routes.get("/api/desk/events")
@auth.require(*DESK_ROLES)
async def events(request: web.Request) -> web.StreamResponse:
    """The desk as server-sent events: sent at once, then whenever it changes."""
    first = await desk_json(request)  # a 404 without a profile, before streaming
    listener = request.app[LISTENER]
    wakeup = listener.subscribe(CONTACTS_CHANNEL, AGENTS_CHANNEL, DESK_CHANNEL)
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    last: dict[str, Any] | None = None
    stopping = request.app[STOPPING]
    clients = request.app[METRICS].live_clients.labels("desk")
    clients.inc()
    try:
        while not stopping.is_set():
            if last is not None and not await auth.still_signed_in(request):
                return response  # disabled, or a new token issued: the stream ends
            desk = first if last is None else await desk_json(request)
            # Its time left out of the comparison, or every keep-alive would send it again.
            if {**desk, "at": None} != last:
                await response.write(f"event: desk\ndata: {json.dumps(desk)}\n\n".encode())
                last = {**desk, "at": None}
            if not await wakeup.wait(within=KEEPALIVE_SECONDS):
                await response.write(b": keep-alive\n\n")  # proxies keep the stream open
    finally:
        clients.dec()
        listener.unsubscribe(wakeup)
    return response  # the daemon stops: the client reconnects to another instance
