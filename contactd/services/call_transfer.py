"""A live Twilio call passed on by the caseworker who holds it, without dropping the caller:
back into the wait of a queue with its place kept, or to a named colleague's phone (a blind
transfer; contactd/services/call_legs.py does the consult transfer). The Twilio requests
that move the caller are written to the outbox in the same transaction as the change."""

from __future__ import annotations

import dataclasses
import functools
from datetime import datetime

import asyncpg
import structlog

from channels.phone.conference import transfer_item
from contactd.metrics import Recorder
from contactd.services.call_legs import colleague, put_through
from contactd.store import contacts as store
from contactd.store import queries
from routing.contact import Action, Contact
from routing.queues import Queue

log = structlog.get_logger(__name__)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Transfer:
    """A live Twilio call passed on by the caseworker who holds it (services/desk.py)."""

    actor: str  # the caseworker, as in the event log
    holder: int  # their staff id: only they may pass it on
    queue: Queue | None  # the queue it goes to (None: it stays in its queue)
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
        target = await colleague(conn, transfer.to_agent, call) if transfer.to_agent else None
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
        colleague_id = target.staff_id
        await step(Action.OFFER, actor=transfer.actor, agent_id=colleague_id, reason=passed)
        taken = await step(Action.ACCEPT, actor=transfer.actor, holder=colleague_id, reason=passed)
        # The caller waits (out of the caseworker's conference, which ends) while the
        # colleague's phone rings; their answer brings the caller in.
        await store.insert_outbox(conn, call.id, transfer_item(taken), now=now)
        await put_through(conn, taken, colleague_id, target.phone, now=now)
    log.info("call.transferred", reference=call.reference, to_agent=transfer.to_agent)
    return taken
