"""The leader's timers: offers that expire, agents who miss too many, wrap-up that ends,
contacts left with someone who was disabled."""

from __future__ import annotations

import asyncio
from datetime import datetime

import asyncpg
import structlog

from contactd.clock import Clock
from contactd.metrics import Recorder
from contactd.store import contacts as store
from contactd.store import queries
from routing.contact import Action, IllegalTransition

log = structlog.get_logger(__name__)


async def expire_offers(
    pool: asyncpg.Pool,
    *,
    now: datetime,
    max_missed: int,
    recorder: Recorder,
    batch: int = 500,
) -> int:
    """Put the contacts of offers expired by `now` back in their queue, with their place kept
    (their queued_at does not change), and count the miss against the agent. Returns how
    many."""
    due = await pool.fetch(queries.get("due_offers"), batch, now)
    expired = 0
    for offer in due:
        if await expire_offer(pool, offer, now=now, max_missed=max_missed, recorder=recorder):
            expired += 1
    return expired


async def expire_offer(
    pool: asyncpg.Pool,
    offer: asyncpg.Record,
    *,
    now: datetime,
    max_missed: int,
    recorder: Recorder,
) -> bool:
    """Expire this offer if it is still open and due; False if it was decided meanwhile."""
    async with pool.acquire() as conn, conn.transaction():
        # The agent first, as the router does, so the two never deadlock.
        await conn.execute(queries.get("lock_agents"), [offer["agent_id"]])
        if await conn.fetchval(queries.get("lock_due_offer"), offer["id"], now) is None:
            return False  # accepted or declined meanwhile, maybe offered anew: not this one
        try:
            await store.transition(
                conn,
                offer["contact_id"],
                Action.EXPIRE,
                now=now,
                actor="router",
                recorder=recorder,
                reason={"agent_id": offer["agent_id"]},
                holder=offer["agent_id"],
            )
        except (IllegalTransition, store.NotHolder):
            return False
        row = await conn.fetchrow(queries.get("offer_missed"), offer["agent_id"], max_missed, now)
    if row is not None and row["state"] == "away":
        log.info("agent.set_away", agent_id=offer["agent_id"], missed=max_missed)
    return True


async def release_from_disabled(
    pool: asyncpg.Pool, *, now: datetime, recorder: Recorder, batch: int = 500
) -> int:
    """Put the e-mails and tickets held by someone since disabled back in their queue, with
    their place kept, as a supervisor's take-back would: whoever disabled them (in the console
    or with `contactd staff disable`) need not find them first. Returns how many."""
    released = 0
    for held in await pool.fetch(queries.get("held_by_disabled"), batch):
        try:
            await store.transition(
                pool,
                held["id"],
                Action.REQUEUE,
                now=now,
                actor="router",
                recorder=recorder,
                reason={"why": "its holder was disabled"},
                holder=held["agent_id"],
            )
        except (IllegalTransition, store.NotHolder):
            continue  # finished or moved meanwhile
        released += 1
    return released


async def end_wrap_ups(pool: asyncpg.Pool, *, now: datetime, wrap_up_seconds: int) -> int:
    return len(await pool.fetch(queries.get("end_wrap_ups"), wrap_up_seconds, now))


async def run(
    pool: asyncpg.Pool,
    *,
    clock: Clock,
    recorder: Recorder,
    max_missed: int,
    wrap_up_seconds: int,
    tick: float = 1.0,
) -> None:
    while True:
        expired = await expire_offers(pool, now=clock(), max_missed=max_missed, recorder=recorder)
        if expired:
            log.info("router.offers_expired", offers=expired)
        await end_wrap_ups(pool, now=clock(), wrap_up_seconds=wrap_up_seconds)
        released = await release_from_disabled(pool, now=clock(), recorder=recorder)
        if released:
            log.info("router.released_from_disabled", contacts=released)
        await asyncio.sleep(tick)
