"""Supervising agents and queues: each agent's profile (skills, languages, capacity, counter,
phone), and what waits in each queue with who can take it."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping, Sequence

import asyncpg

from contactd.clock import Clock
from contactd.store import agents, contacts, staff
from contactd.store.agents import Agent
from contactd.store.contacts import Load
from contactd.store.staff import StaffNotFound
from routing.agents import AgentState
from routing.contact import Channel, Language
from routing.queues import Queue


@dataclasses.dataclass(frozen=True, kw_only=True)
class QueueLoad:
    """One queue: what waits in it per channel, and the agents with a skill for it."""

    queue: str
    channels: Sequence[Load]
    agents: Sequence[tuple[str, AgentState]]  # (login, state)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Profile:
    skills: Mapping[str, int]
    languages: frozenset[Language]
    capacity: Mapping[Channel, int]
    counter: str | None
    phone: str | None


class Agents:
    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        queues: Sequence[Queue],
        case_types: Collection[str],
        clock: Clock,
    ) -> None:
        self._pool = pool
        self._queues = queues
        self._case_types = frozenset(case_types)
        self._clock = clock

    async def everyone(self) -> list[tuple[str, Agent]]:
        """Every agent with their login, by login."""
        return await agents.everyone(self._pool)

    async def save(self, login: str, profile: Profile) -> Agent:
        """Create or replace the profile of the staff member with this login: StaffNotFound
        if there is none, AgentError for a value not allowed."""
        person = await staff.by_login(self._pool, login)
        if person is None:
            raise StaffNotFound(login)
        return await agents.save_profile(
            self._pool,
            person.id,
            skills=profile.skills,
            languages=profile.languages,
            capacity=profile.capacity,
            known_case_types=self._case_types,
            counter=profile.counter,
            phone=profile.phone,
            now=self._clock(),
        )

    async def queues(self) -> list[QueueLoad]:
        """Every configured queue, in the configuration's order (and their channels with
        contacts only), with the agents who have a skill in one of its case types."""
        loads = await contacts.load_by_queue(self._pool, self._clock())
        people = await agents.everyone(self._pool)
        by_queue: dict[str, list[Load]] = {q.code: [] for q in self._queues}
        for load in loads:
            by_queue.setdefault(load.queue, []).append(load)
        return [
            QueueLoad(
                queue=q.code,
                channels=by_queue[q.code],
                agents=[
                    (login, agent.state)
                    for login, agent in people
                    if q.case_types & agent.skills.keys()
                ],
            )
            for q in self._queues
        ]
