"""The supervisors' console API: the live view (queues against their goals, the agent grid)
as JSON and as server-sent events shared by every supervisor; setting an agent's state;
taking a held contact back; a contact's timeline; the day's satisfaction answers."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from contactd.http import auth
from contactd.http import staff as api_staff
from contactd.http.appkeys import CONSOLE, INTAKE
from contactd.http.contacts import event_json, read_by, shown_to
from contactd.http.errors import no_body, read_body, read_query
from contactd.http.live import Broadcast
from contactd.services.console import Console
from contactd.store.staff import Role
from routing.agents import AgentState
from routing.contact import Channel

routes = web.RouteTableDef()
LIVE = web.AppKey("console_live", Broadcast)  # one snapshot per change for every supervisor


def console(request: web.Request) -> Console:
    return request.app[CONSOLE]


@routes.get("/api/console")
@auth.require(Role.SUPERVISOR)
async def live(request: web.Request) -> web.Response:
    return await request.app[LIVE].json(request)


@routes.get("/api/console/events")
@auth.require(Role.SUPERVISOR)
async def live_events(request: web.Request) -> web.StreamResponse:
    """The live view as server-sent events (`console`): at once, then on every change. The
    stream ends at a keep-alive once its sign-in is no longer valid."""
    person, credential = auth.current(request), auth.credential(request)
    sign_in = request.app[auth.SESSIONS]

    async def still() -> bool:
        return credential in await sign_in.credentials_of(person.id)

    return await request.app[LIVE].stream(request, still=still)


class StateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: AgentState


@routes.post("/api/agents/{login}/state")
@auth.require(Role.SUPERVISOR)
async def set_state(request: web.Request) -> web.Response:
    """Set an agent available, away or offline (someone who went home)."""
    body = await read_body(request, StateBody)
    login = api_staff.login_of(request)
    await console(request).set_state(login, body.state, by=auth.current(request))
    return web.json_response({"login": login, "state": body.state})


@routes.post("/api/contacts/{reference}/take-back")
@auth.require(Role.SUPERVISOR)
async def take_back(request: web.Request) -> web.Response:
    """A held contact back in its queue with its place kept, for someone else to take."""
    await no_body(request)
    person = auth.current(request)
    back = await console(request).take_back(request.match_info["reference"], by=person)
    return web.json_response(shown_to(person, back))


@routes.get("/api/contacts/{reference}/timeline")
@auth.require(Role.SUPERVISOR)
async def timeline(request: web.Request) -> web.Response:
    """Every event of a contact and every offer with the routing's reason."""
    contact, history = await request.app[INTAKE].history(request.match_info["reference"])
    person = auth.current(request)
    shown = shown_to(person, contact)
    await read_by(request, person, contact, shown, "contact.read")
    return web.json_response(
        {
            **shown,
            "history": [event_json(e) for e in history],
            "offers": await console(request).offers(contact),
        }
    )


class CsatQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    day: date | None = None
    queue: Annotated[str, Field(max_length=40)] | None = None
    channel: Channel | None = None


@routes.get("/api/csat")
@auth.require(Role.SUPERVISOR)
async def csat_answers(request: web.Request) -> web.Response:
    """The satisfaction answers of a day with their comments, by queue and channel."""
    query = read_query(request, CsatQuery)
    found = await console(request).csat(
        query.day, queue=query.queue, channel=query.channel, by=auth.current(request)
    )
    return web.json_response({"answers": [_answer_json(a) for a in found]})


def _answer_json(answer: Any) -> dict[str, Any]:
    shown = dataclasses.asdict(answer)
    return {**shown, "answered_at": answer.answered_at.isoformat()}
