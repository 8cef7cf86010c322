"""The agent desk API: set yourself available, take offers, finish, decline, transfer
(the use cases are in contactd/services/desk.py).

Every action names the contact by its reference and is made only by the agent it is
offered to or held by; the live view is a server-sent event stream of the desk.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, model_validator

from contactd.http import auth
from contactd.http.appkeys import LISTENER, METRICS, STOPPING
from contactd.http.contacts import contact_json
from contactd.http.errors import Text, read_body
from contactd.services.desk import Desk, DeskView
from contactd.store.listener import AGENTS_CHANNEL, CONTACTS_CHANNEL, DESK_CHANNEL
from contactd.store.staff import Role
from routing.agents import AgentState
from routing.contact import Contact

routes = web.RouteTableDef()
DESK = web.AppKey("desk", Desk)
DESK_ROLES = (Role.AGENT, Role.FRONTDESK, Role.SUPERVISOR)
KEEPALIVE_SECONDS = 15


def desk(request: web.Request) -> Desk:
    return request.app[DESK]


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
    return _desk_json(request, await desk(request).view(auth.current(request).id))


def _desk_json(request: web.Request, view: DeskView) -> dict[str, Any]:
    person = auth.current(request)
    agent = view.agent
    return {
        # The daemon's time: the page counts offers down by it, not by the browser's clock.
        "at": view.at.isoformat(),
        "login": person.login,
        "name": person.name,
        "state": agent.state,
        "state_changed_at": agent.state_changed_at.isoformat(),
        "counter": agent.counter,
        "contacts": [
            {
                **contact_json(h.contact),
                "offer_expires_at": h.offer_expires_at.isoformat() if h.offer_expires_at else None,
                "message_count": h.message_count,
                "ticket_number": h.ticket_number,
                "ticket_calls": h.ticket_calls,
            }
            for h in view.held
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
    view = await desk(request).set_state(auth.current(request).id, body.state)
    return web.json_response(_desk_json(request, view))


async def contact_of(request: web.Request) -> Contact:
    """The contact the URL names, or 404."""
    return await desk(request).find(request.match_info["reference"])


def _reference(request: web.Request) -> str:
    return request.match_info["reference"]


@routes.post("/api/desk/contacts/{reference}/accept")
@auth.require(*DESK_ROLES)
async def accept(request: web.Request) -> web.Response:
    contact = await desk(request).accept(auth.current(request), _reference(request))
    return web.json_response(contact_json(contact))


@routes.post("/api/desk/contacts/{reference}/decline")
@auth.require(*DESK_ROLES)
async def decline(request: web.Request) -> web.Response:
    contact = await desk(request).decline(auth.current(request), _reference(request))
    return web.json_response(contact_json(contact))


@routes.post("/api/desk/contacts/{reference}/finish")
@auth.require(*DESK_ROLES)
async def finish(request: web.Request) -> web.Response:
    body = await read_body(request, FinishBody)
    contact = await desk(request).finish(
        auth.current(request), _reference(request), outcome=body.outcome, case_type=body.case_type
    )
    return web.json_response(contact_json(contact))


@routes.post("/api/desk/contacts/{reference}/transfer")
@auth.require(*DESK_ROLES)
async def transfer(request: web.Request) -> web.Response:
    body = await read_body(request, TransferBody)
    contact = await desk(request).transfer(
        auth.current(request), _reference(request), queue=body.queue, case_type=body.case_type
    )
    return web.json_response(contact_json(contact))


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
            compared = {**desk, "at": None}
            if compared != last:
                await response.write(f"event: desk\ndata: {json.dumps(desk)}\n\n".encode())
                last = compared
            if not await wakeup.wait(within=KEEPALIVE_SECONDS):
                await response.write(b": keep-alive\n\n")  # proxies keep the stream open
    finally:
        clients.dec()
        listener.unsubscribe(wakeup)
    return response  # the daemon stops: the client reconnects to another instance
