"""Agents in the database: their profile (skills, languages, capacity) and their state."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime

import asyncpg

from contactd.store import database, queries
from routing.agents import SKILL_LEVELS, AgentState, AgentView
from routing.contact import Channel, Language
from routing.errors import DomainError, Kind

Db = database.Conn | asyncpg.Pool


class AgentError(DomainError):
    """An agent change that cannot be made; the message says why."""

    kind = Kind.INVALID
    code = "not_accepted"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Agent:
    staff_id: int
    skills: Mapping[str, int]
    languages: frozenset[Language]
    capacity: Mapping[Channel, int]
    counter: str | None
    phone: str | None
    state: AgentState
    state_changed_at: datetime
    idle_since: datetime
    missed_offers: int


def from_row(row: asyncpg.Record) -> Agent:
    return Agent(
        staff_id=row["staff_id"],
        skills=row["skills"],
        languages=frozenset(Language(x) for x in row["languages"]),
        capacity={Channel(k): v for k, v in row["capacity"].items()},
        counter=row["counter"],
        phone=row["phone"],
        state=AgentState(row["state"]),
        state_changed_at=row["state_changed_at"],
        idle_since=row["idle_since"],
        missed_offers=row["missed_offers"],
    )


async def save_profile(
    db: Db,
    staff_id: int,
    *,
    skills: Mapping[str, int],
    languages: frozenset[Language],
    capacity: Mapping[Channel, int],
    known_case_types: frozenset[str],
    counter: str | None = None,
    phone: str | None = None,
    now: datetime,
) -> Agent:
    """Create or replace an agent's profile, after checking every value."""
    for case_type, level in skills.items():
        if case_type not in known_case_types:
            raise AgentError(f"unknown case type {case_type!r}")
        if level not in SKILL_LEVELS:
            raise AgentError(f"skill level for {case_type!r} must be 1-5, not {level}")
    if not languages:
        raise AgentError("an agent needs at least one language")
    for channel, n in capacity.items():
        if not 0 <= n <= 50:
            raise AgentError(f"capacity for {channel} must be 0-50, not {n}")
    row = await db.fetchrow(
        queries.get("upsert_agent"),
        staff_id,
        dict(skills),
        sorted(languages),
        {str(c): n for c, n in capacity.items()},
        counter,
        phone,
        now,
    )
    if row is None:  # INSERT ... RETURNING always returns the row
        raise RuntimeError("upsert_agent returned no row")
    return from_row(row)


async def set_state(db: Db, staff_id: int, state: AgentState, *, now: datetime) -> Agent | None:
    """The agent in `state` from `now`; None when the staff member has no agent profile."""
    row = await db.fetchrow(queries.get("set_agent_state"), staff_id, state, now)
    return from_row(row) if row else None


async def set_counter(db: Db, staff_id: int, counter: str | None) -> bool:
    """The counter the agent sits at now (None: none); False when they have no profile."""
    return await db.fetchval(queries.get("set_counter"), staff_id, counter) is not None


async def offer_taken(db: Db, staff_id: int) -> None:
    """The agent took an offer: their missed offers are forgiven."""
    await db.execute(queries.get("offer_taken"), staff_id)


async def contact_finished(db: Db, staff_id: int, *, wrap_up: bool, now: datetime) -> None:
    """After a finished contact: wrap-up if the agent is available and `wrap_up`, and the
    idle clock restarts at `now`."""
    await db.execute(queries.get("contact_finished"), staff_id, wrap_up, now)


async def get(db: Db, staff_id: int) -> Agent | None:
    row = await db.fetchrow(queries.get("agent_by_staff_id"), staff_id)
    return from_row(row) if row else None


async def everyone(db: Db) -> list[tuple[str, Agent]]:
    """Every agent with their login, by login."""
    return [(r["login"], from_row(r)) for r in await db.fetch(queries.get("all_agents"))]


async def available_views(db: Db) -> list[AgentView]:
    """Available agents with room on some channel, as the routing engine sees them."""
    views = []
    for r in await db.fetch(queries.get("available_agents")):
        room = {
            Channel(c): n - r["held"].get(c, 0)
            for c, n in r["capacity"].items()
            if n - r["held"].get(c, 0) > 0
        }
        if room:  # a full agent cannot take anything: no need to route for them
            views.append(
                AgentView(
                    id=r["staff_id"],
                    skills=r["skills"],
                    languages=frozenset(Language(x) for x in r["languages"]),
                    free=room,
                    idle_since=r["idle_since"],
                    at_counter=r["at_counter"],
                )
            )
    return views
