"""The supervisor API for agents and queues: skills, languages, capacity; what waits."""

from __future__ import annotations

from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from contactd.http import auth
from contactd.http import staff as api_staff
from contactd.http.appkeys import CLOCK, POOL, SETTINGS
from contactd.http.errors import ApiError, Text, read_body
from contactd.store import agents, queries, staff
from contactd.store.staff import Role
from routing.contact import Channel, Language

routes = web.RouteTableDef()


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


def agent_json(agent: agents.Agent, login: str) -> dict[str, Any]:
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
    rows = await request.app[POOL].fetch(queries.get("all_agents"))
    return web.json_response({"agents": [agent_json(agents.from_row(r), r["login"]) for r in rows]})


@routes.put("/api/agents/{login}")
@auth.require(Role.SUPERVISOR)
async def put_agent(request: web.Request) -> web.Response:
    body = await read_body(request, ProfileBody)
    pool = request.app[POOL]
    login = api_staff.login_of(request)
    person = await staff.by_login(pool, login)
    if person is None:
        raise ApiError(404, "not_found", f"no staff member with login {login!r}")
    try:
        agent = await agents.save_profile(
            pool,
            person.id,
            skills=body.skills,
            languages=frozenset(body.languages),
            capacity=body.capacity,
            known_case_types=frozenset(request.app[SETTINGS].case_types),
            counter=body.counter,
            phone=body.phone,
            now=request.app[CLOCK].now(),
        )
    except agents.AgentError as exc:
        raise ApiError(422, "not_accepted", str(exc)) from None
    return web.json_response(agent_json(agent, login))


@routes.get("/api/queues")
@auth.require(Role.SUPERVISOR)
async def queue_overview(request: web.Request) -> web.Response:
    pool = request.app[POOL]
    rows = await pool.fetch(queries.get("queue_overview"), request.app[CLOCK].now())
    people = await pool.fetch(queries.get("all_agents"))
    queues = request.app[SETTINGS].queues
    by_queue: dict[str, list[dict[str, Any]]] = {q.code: [] for q in queues}
    for r in rows:
        by_queue.setdefault(r["queue"], []).append(
            {
                "channel": r["channel"],
                "waiting": r["waiting"],
                "offered": r["offered"],
                "active": r["active"],
                "oldest_wait_seconds": float(r["oldest_wait_seconds"] or 0),
            }
        )

    def staffed_by(case_types: frozenset[str]) -> list[dict[str, Any]]:
        """The agents with a skill in one of the queue's case types, and their state."""
        return [
            {"login": p["login"], "state": p["state"]}
            for p in people
            if case_types & p["skills"].keys()
        ]

    return web.json_response(
        {
            "queues": [
                {"queue": q.code, "channels": by_queue[q.code], "agents": staffed_by(q.case_types)}
                for q in queues
            ]
        }
    )
