"""The supervisors' console: every queue against its goal and the agent-state grid, live; an
agent's state set, a held contact taken back into its queue with its place kept, a contact's
timeline with the routing's reason for every offer, and the day's satisfaction answers.

The live view holds no client data (references, channels, queues, states and counts), so one
snapshot per change serves every supervisor (contactd/http/live.py `Broadcast`). What shows a
client's words (CSAT comments, a timeline's events) is read on request and audited."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from contactd.clock import Clock
from contactd.metrics import Recorder, threshold_seconds
from contactd.services import statistics
from contactd.services.audit import Audit
from contactd.services.desk import NotAccepted
from contactd.store import agents, contacts, queries, staff
from contactd.store.staff import Staff, StaffNotFound
from routing import figures
from routing.agents import AgentState
from routing.contact import Action, Channel, Contact, IllegalTransition, State
from routing.errors import DomainError, Kind
from routing.figures import Counts
from routing.queues import Queue

AMBER_BELOW = 0.05  # a service level this close under its target is amber, further red


class NotTakenBack(DomainError):
    kind = Kind.CONFLICT
    code = "not_taken_back"


class NoAgentProfileOf(DomainError):
    kind = Kind.NOT_FOUND
    code = "no_agent_profile"

    def __init__(self, login: str) -> None:
        super().__init__(f"{login} has no agent profile: give them one under Agents first")


def _not_held(state: State) -> str:
    """Why a contact in `state` cannot be taken back, in a supervisor's words."""
    if state is State.OFFERED:
        return "is being offered, not held: unless it is accepted it goes back to its queue"
    if state is State.QUEUED:
        return "is waiting in its queue already"
    return f"is not held by anyone now ({state})"


@dataclasses.dataclass(frozen=True, kw_only=True)
class CsatAnswer:
    answered_at: datetime
    queue: str
    channel: str
    score: int
    comment: str | None
    reference: str
    case_type: str


class Console:
    def __init__(
        self,
        pool: asyncpg.Pool,
        queues: Sequence[Queue],
        *,
        timezone: ZoneInfo,
        clock: Clock,
        recorder: Recorder,
        audit: Audit,
    ) -> None:
        self._pool = pool
        self._queues = tuple(queues)
        self._zone = timezone
        self._clock = clock
        self._recorder = recorder
        self._audit = audit

    async def live(self) -> dict[str, Any]:
        """The console's live view now: queues against their goals, and the agent grid."""
        now = self._clock()
        start = statistics.day_start(now, self._zone)
        async with self._pool.acquire() as conn, conn.transaction(readonly=True):
            today = await statistics.counts_between(conn, start, now + timedelta(seconds=1), now)
            live = {
                (r["queue"], Channel(r["channel"])): r
                for r in await conn.fetch(queries.get("statistics_live"), now)
            }
            grid = await conn.fetch(queries.get("console_agents"))
        return {
            "at": now.isoformat(),
            "queues": [self._queue(q, today, live) for q in self._queues],
            "agents": [_agent(r, now) for r in grid],
        }

    def _queue(
        self, q: Queue, today: Mapping[statistics.Key, Counts], live: Mapping[Any, Any]
    ) -> dict[str, Any]:
        channels = []
        for channel in sorted(q.channels):
            goal = q.goals.get(channel)
            counts = today.get((q.code, channel), Counts())
            now_waiting = live.get((q.code, channel))
            level = figures.service_level(counts, goal.sl_variant) if goal else None
            oldest = float(now_waiting["oldest_wait_seconds"]) if now_waiting else 0.0
            limit = threshold_seconds(q, channel)
            channels.append(
                {
                    "channel": channel,
                    "waiting": int(now_waiting["waiting"]) if now_waiting else 0,
                    "oldest_wait_seconds": round(oldest, 1),
                    "overdue": int(now_waiting["overdue"]) if now_waiting else 0,
                    "handled_today": counts.offered,
                    "service_level": level,
                    "target": goal.target if goal else None,
                    "threshold_seconds": limit,
                    "colour": _colour(level, goal.target if goal else None, oldest, limit),
                }
            )
        return {"queue": q.code, "da": q.name_da, "en": q.name_en, "channels": channels}

    async def set_state(self, login: str, state: AgentState, *, by: Staff) -> None:
        """A supervisor sets an agent available, away or offline (someone who went home)."""
        person = await self._person(login)
        if state is AgentState.WRAP_UP:
            raise NotAccepted("wrap-up starts by itself when a contact is finished")
        if await agents.set_state(self._pool, person.id, state, now=self._clock()) is None:
            raise NoAgentProfileOf(login)
        await self._audit.record(by, "agent.state_set", target=login, details={"state": state})

    async def take_back(self, reference: str, *, by: Staff) -> Contact:
        """A held contact back into its queue, keeping its place (its time in the queue), for
        someone else to take: its holder went home. A call is on the line: it ends there."""
        contact = await contacts.find(self._pool, reference)
        if contact.channel in (Channel.CALL, Channel.CALLBACK):
            raise NotTakenBack(
                f"{contact.reference} is a phone contact: it ends with its call", code="live_call"
            )
        try:
            back = await contacts.transition(
                self._pool,
                contact.id,
                Action.REQUEUE,
                now=self._clock(),
                actor=by.actor,
                recorder=self._recorder,
                reason={"why": "taken back by a supervisor"},
                since=contact.state_changed_at,
            )
        except IllegalTransition:
            raise NotTakenBack(f"{contact.reference} {_not_held(contact.state)}") from None
        await self._audit.record(by, "contact.taken_back", reference=contact.reference)
        return back

    async def offers(self, contact: Contact) -> list[dict[str, Any]]:
        """Every offer the contact was made: to whom, when, how it ended, and why it was made."""
        rows = await self._pool.fetch(queries.get("console_offers"), contact.id)
        return [
            {
                "login": r["login"],
                "offered_at": r["offered_at"].isoformat(),
                "outcome": r["outcome"],
                "decided_at": r["decided_at"].isoformat() if r["decided_at"] else None,
                "reason": r["reason"],
            }
            for r in rows
        ]

    async def csat(
        self, day: date | None, *, queue: str | None, channel: str | None, by: Staff
    ) -> list[CsatAnswer]:
        """The satisfaction answers of a day (today by default), with their comments."""
        local_day = day or self._clock().astimezone(self._zone).date()
        start = statistics.local_midnight(local_day, self._zone)
        end = statistics.local_midnight(local_day + timedelta(days=1), self._zone)
        rows = await self._pool.fetch(queries.get("console_csat"), start, end, queue, channel, 1000)
        await self._audit.record(
            by,
            "csat.comments_read",
            details={"day": local_day.isoformat(), "queue": queue, "channel": channel},
        )
        return [CsatAnswer(**dict(r)) for r in rows]

    async def _person(self, login: str) -> Staff:
        person = await staff.by_login(self._pool, login)
        if person is None:
            raise StaffNotFound(login)
        return person


def _colour(level: float | None, target: float | None, oldest: float, limit: float | None) -> str:
    """green: on target; amber: close under it, or the oldest has waited half the threshold;
    red: well under it, or the oldest is past the threshold."""
    if (level is not None and target is not None and level < target - AMBER_BELOW) or (
        limit is not None and oldest > limit
    ):
        return "red"
    if (level is not None and target is not None and level < target) or (
        limit is not None and oldest > limit / 2
    ):
        return "amber"
    return "green"


def _agent(row: asyncpg.Record, now: datetime) -> dict[str, Any]:
    holding = list(row["holding"])  # jsonb: its times are ISO 8601 already
    state = row["state"]
    if state == "available" and any(h["state"] == "active" for h in holding):
        state = "busy"
    return {
        "login": row["login"],
        "name": row["name"],
        "state": state,
        "since": row["state_changed_at"].isoformat(),
        "seconds": max(0, int((now - row["state_changed_at"]).total_seconds())),
        "counter": row["counter"],
        "missed_offers": row["missed_offers"],
        "holding": holding,
    }
