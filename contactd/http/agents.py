"""The supervisor API for agents and queues: skills, languages, capacity; what waits."""

from __future__ import annotations

from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from contactd.http import auth
from contactd.http import staff as api_staff
from contactd.http.appkeys import AUDIT
from contactd.http.errors import Text, read_body
from contactd.services.agents import Agents, Profile
from contactd.store.agents import Agent
from contactd.store.staff import Role
from routing.contact import Channel, Language

routes = web.RouteTableDef()
AGENTS = web.AppKey("agents", Agents)


def service(request: web.Request) -> Agents:
    return request.app[AGENTS]


class ProfileBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    skills: dict[Annotated[Text, Field(max_length=40)], Annotated[int, Field(ge=1, le=5)]]
    languages: Annotated[list[Language], Field(min_length=1)]
    capacity: dict[Channel, Annotated[int, Field(ge=0, le=50)]] = {
        Channel.CALL: 1,
        Channel.CALLBACK: 1,
        Channel.EMAIL: 3,
        Channel.TICKET: 1,
    }
    counter: Annotated[Text, Field(max_length=20)] | None = None
    phone: Annotated[Text, Field(pattern=r"^\+[1-9]\d{6,14}$")] | None = None


def agent_json(agent: Agent, login: str) -> dict[str, Any]:
    return {
        "login": login,
        "skills": dict(agent.skills),
        "languages": sorted(agent.languages),
        "capacity": {str(c): n for c, n in agent.capacity.items()},
        "counter": agent.counter,
        "phone": agent.phone,
        "state": agent.state,
        "state_changed_at": agent.state_changed_at.isoformat(),
        "missed_offers": agent.missed_offers,
    }


@routes.get("/api/agents")
@auth.require(Role.SUPERVISOR)
async def list_agents(request: web.Request) -> web.Response:
    everyone = await service(request).everyone()
    return web.json_response({"agents": [agent_json(agent, login) for login, agent in everyone]})


@routes.put("/api/agents/{login}")
@auth.require(Role.SUPERVISOR)
async def put_agent(request: web.Request) -> web.Response:
    body = await read_body(request, ProfileBody)
    login = api_staff.login_of(request)
    profile = Profile(
        skills=body.skills,
        languages=frozenset(body.languages),
        capacity=body.capacity,
        counter=body.counter,
        phone=body.phone,
    )
    agent = await service(request).save(login, profile)
    await request.app[AUDIT].record(
        auth.current(request), "agent.profile_changed", target=login, details=_changed(body)
    )
    return web.json_response(agent_json(agent, login))


def _changed(body: ProfileBody) -> dict[str, Any]:
    """What the audit keeps of a profile: skills, languages and capacity (no phone number)."""
    return {
        "skills": body.skills,
        "languages": sorted(body.languages),
        "capacity": {str(c): n for c, n in body.capacity.items()},
    }


@routes.get("/api/queues")
@auth.require(Role.SUPERVISOR)
async def queue_overview(request: web.Request) -> web.Response:
    queues = await service(request).queues()
    return web.json_response(
        {
            "queues": [
                {
                    "queue": q.queue,
                    "channels": [
                        {
                            "channel": c.channel,
                            "waiting": c.waiting,
                            "offered": c.offered,
                            "active": c.active,
                            "oldest_wait_seconds": c.oldest_wait_seconds,
                        }
                        for c in q.channels
                    ],
                    "agents": [{"login": login, "state": state} for login, state in q.agents],
                }
                for q in queues
            ]
        }
    )
