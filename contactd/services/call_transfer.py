"""A live Twilio call passed on by the caseworker who holds it, without dropping the caller:
back into the wait of a queue with its place kept, or straight to a named colleague's phone
(a blind transfer). The Twilio request that moves the caller is written to the outbox in the
same transaction as the change."""

from __future__ import annotations

import dataclasses
import functools
from datetime import datetime

import asyncpg
import structlog

from channels.phone.dialing import connect_item, transfer_item
from contactd.metrics import Recorder
from contactd.store import contacts as store
from contactd.store import database, queries
from routing.contact import Action, Contact
from routing.errors import DomainError, Kind

log = structlog.get_logger(__name__)


class TransferRefused(DomainError):
    """A live call cannot go to the colleague named (raised with a code saying why)."""

    kind = Kind.CONFLICT
    code = "agent_unavailable"


class UnknownAgent(DomainError):
    kind = Kind.NOT_FOUND
    code = "unknown_agent"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Transfer:
    """A live Twilio call passed on by the caseworker who holds it (services/desk.py)."""

    actor: str  # the caseworker, as in the event log
    holder: int  # their staff id: only they may pass it on
    queue: str | None  # the queue it goes to (None: it stays in its queue)
    case_type: str | None  # a corrected case type
    reason: dict[str, str]  # from and to, for the event log
    to_agent: str | None  # a colleague's login: their phone rings at once


async def transfer_call(
    pool: asyncpg.Pool, call: Contact, transfer: Transfer, *, now: datetime, recorder: Recorder
) -> Contact:
    """Pass a live call on without dropping the caller, in one transaction with the Twilio
    request that moves the caller (the outbox sends it): back into the wait of its new
    queue, its place kept, or straight to the named colleague's phone (requeued, offered and
    accepted for them, then put through as an accept is). The first caseworker is free at
    once: their leg ends when Twilio moves the caller."""
    async with pool.acquire() as conn, conn.transaction():
        target = (
            await _transfer_target(conn, transfer.to_agent, call) if transfer.to_agent else None
        )
        reason = {**transfer.reason, "transfer": "blind", "call_sid": call.external_id or ""}
        waited_since = await conn.fetchval(queries.get("call_queued_at"), call.id)
        step = functools.partial(store.transition, conn, call.id, now=now, recorder=recorder)
        moved = await step(
            Action.REQUEUE,
            actor=transfer.actor,
            holder=transfer.holder,
            queue=transfer.queue,
            case_type=transfer.case_type,
            reason=reason,
        )
        kept = await conn.fetchrow(queries.get("transfer_keeps_place"), call.id, waited_since)
        moved = store.contact_from_row(kept) if kept else moved
        if target is None:
            await store.insert_outbox(conn, call.id, transfer_item(moved), now=now)
            log.info("call.transferred", reference=call.reference, queue=moved.queue)
            return moved
        passed = {"transfer": "blind", "from": transfer.actor}
        await step(Action.OFFER, actor=transfer.actor, agent_id=target, reason=passed)
        taken = await step(Action.ACCEPT, actor=transfer.actor, holder=target, reason=passed)
        await store.insert_outbox(conn, call.id, connect_item(taken), now=now)
    log.info("call.transferred", reference=call.reference, to_agent=transfer.to_agent)
    return taken


async def _transfer_target(conn: database.Conn, login: str, call: Contact) -> int:
    """The staff id of the colleague a live call may go to now; else why not. Their skills
    are the caseworker's judgement (they chose the colleague); the caller's language is not."""
    row = await conn.fetchrow(queries.get("transfer_target"), login)
    if row is None:
        raise UnknownAgent(f"no caseworker {login!r} with an agent profile")
    if row["state"] != "available":
        raise TransferRefused(f"{login} is {row['state']}, not available")
    if call.language not in row["languages"]:
        raise TransferRefused(f"{login} does not speak {call.language}, the caller's language")
    if row["phone"] is None:
        raise TransferRefused(f"{login} has no phone on their agent profile", code="no_phone")
    if row["calls"] >= row["capacity"]:
        raise TransferRefused(f"{login} has no room for another call")
    return int(row["staff_id"])
