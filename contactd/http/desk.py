"""The agent desk API: set yourself available, take offers, finish, decline, transfer
(the use cases are in contactd/services/desk.py).

Every action names the contact by its reference and is made only by the agent it is
offered to or held by; the live view is a server-sent event stream of the desk.
"""

from __future__ import annotations

import functools
from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, model_validator

from contactd.http import auth
from contactd.http.appkeys import METRICS
from contactd.http.contacts import contact_json, read_by, shown_to
from contactd.http.errors import Text, read_body
from contactd.http.live import ENDED, SSE_HEADERS, DeskStreams, Snapshot
from contactd.services.desk import Desk, DeskView
from contactd.services.sessions import SignIn
from contactd.store.staff import Role, Staff
from routing.agents import AgentState
from routing.contact import Contact

routes = web.RouteTableDef()
DESK = web.AppKey("desk", Desk)
STREAMS = web.AppKey("desk_streams", DeskStreams)  # the agents' shared desk feeds
DESK_ROLES = (Role.AGENT, Role.FRONTDESK, Role.SUPERVISOR)


def desk(request: web.Request) -> Desk:
    return request.app[DESK]


class StateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: AgentState


class FinishBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: Annotated[Text, Field(min_length=1, max_length=40)]
    case_type: Annotated[Text, Field(max_length=40)] | None = None
    wrap_up: Annotated[Text, Field(max_length=40)] | None = None


class TransferBody(BaseModel):
    """To another queue, or to the queue of a corrected case type (triage's daily work); a
    live call also to a named colleague (their login), whose phone rings at once."""

    model_config = ConfigDict(extra="forbid")
    queue: Annotated[Text, Field(max_length=40)] | None = None
    case_type: Annotated[Text, Field(max_length=40)] | None = None
    agent: Annotated[Text, Field(min_length=1, max_length=63)] | None = None

    @model_validator(mode="after")
    def _somewhere(self) -> TransferBody:
        if self.queue is None and self.case_type is None and self.agent is None:
            raise ValueError("name the queue, the corrected case type, or a colleague")
        return self


async def desk_json(request: web.Request) -> dict[str, Any]:
    person = auth.current(request)
    return _desk_json(person, await desk(request).view(person.id))


def _desk_json(person: Staff, view: DeskView) -> dict[str, Any]:
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
                "consulting": _consulting(view.consulting.get(h.contact.id)),
            }
            for h in view.held
        ],
    }


def _consulting(consult: tuple[str, bool] | None) -> dict[str, Any] | None:
    """The colleague a live call's caseworker is consulting, and whether they answered."""
    return None if consult is None else {"agent": consult[0], "answered": consult[1]}


@routes.get("/api/desk")
@auth.require(*DESK_ROLES)
async def get_desk(request: web.Request) -> web.Response:
    return web.json_response(await desk_json(request))


@routes.post("/api/desk/state")
@auth.require(*DESK_ROLES)
async def set_state(request: web.Request) -> web.Response:
    body = await read_body(request, StateBody)
    person = auth.current(request)
    view = await desk(request).set_state(person.id, body.state)
    return web.json_response(_desk_json(person, view))


async def contact_of(request: web.Request) -> Contact:
    """The contact the URL names, or 404."""
    return await desk(request).find(request.match_info["reference"])


def _reference(request: web.Request) -> str:
    return request.match_info["reference"]


@routes.post("/api/desk/contacts/{reference}/accept")
@auth.require(*DESK_ROLES)
async def accept(request: web.Request) -> web.Response:
    person = auth.current(request)
    contact = await desk(request).accept(person, _reference(request))
    shown = shown_to(person, contact)
    await read_by(request, person, contact, shown, "contact.accepted")  # now theirs to read
    return web.json_response(shown)


@routes.post("/api/desk/contacts/{reference}/decline")
@auth.require(*DESK_ROLES)
async def decline(request: web.Request) -> web.Response:
    person = auth.current(request)
    contact = await desk(request).decline(person, _reference(request))
    return web.json_response(shown_to(person, contact))


@routes.post("/api/desk/contacts/{reference}/finish")
@auth.require(*DESK_ROLES)
async def finish(request: web.Request) -> web.Response:
    body = await read_body(request, FinishBody)
    person = auth.current(request)
    contact = await desk(request).finish(
        person,
        _reference(request),
        outcome=body.outcome,
        case_type=body.case_type,
        wrap_up=body.wrap_up,
    )
    return web.json_response(shown_to(person, contact))  # no longer theirs: withheld


@routes.post("/api/desk/contacts/{reference}/transfer")
@auth.require(*DESK_ROLES)
async def transfer(request: web.Request) -> web.Response:
    body = await read_body(request, TransferBody)
    person = auth.current(request)
    contact = await desk(request).transfer(
        person, _reference(request), queue=body.queue, case_type=body.case_type, agent=body.agent
    )
    return web.json_response(shown_to(person, contact))


@routes.get("/api/desk/events")
@auth.require(*DESK_ROLES)
async def events(request: web.Request) -> web.StreamResponse:
    """The desk as server-sent events: sent at once, then whenever it changes. The agent's
    streams share one snapshot per change (contactd/http/live.py); a token holds at most
    daemon.desk_streams_per_token of them open (429 too_many_streams)."""
    person = auth.current(request)
    compute = functools.partial(
        _snapshot, request.app[DESK], request.app[auth.SESSIONS], person
    )  # the app's services and the person, not the request: the feed may outlive it
    credential = auth.credential(request)
    # A 404 without a profile, a 429 over the cap: before streaming.
    async with request.app[STREAMS].follow(
        person.id, credential, compute, functools.partial(_gone, request)
    ) as feed:
        response = web.StreamResponse(headers=SSE_HEADERS)
        await response.prepare(request)
        clients = request.app[METRICS].live_clients.labels("desk")
        clients.inc()
        try:
            await feed.send(response, credential)
        except ConnectionResetError:
            pass  # the agent's page went away
        finally:
            clients.dec()
    return response  # signed out, or the daemon stops: the page reconnects (to another instance)


async def _snapshot(desk: Desk, sign_in: SignIn, person: Staff) -> Snapshot:
    """The agent's desk and their valid credentials now, checked on each change: a stream
    whose token was rotated, whose session ended, or whose owner was disabled, ends."""
    credentials = await sign_in.credentials_of(person.id)
    if not credentials:
        return ENDED
    return Snapshot.of("desk", _desk_json(person, await desk.view(person.id)), credentials)


def _gone(request: web.Request) -> bool:
    """The stream's client has closed its connection (its place under the cap is free)."""
    return request.transport is None or request.transport.is_closing()
