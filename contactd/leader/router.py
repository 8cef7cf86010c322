"""The leader's routing loop: load what waits and who is free, let the engine decide, and
make the offers in one transaction that re-checks every one of them in the database.

The database has the last word, so two routers (a leader change in the middle of a pass)
never offer a contact twice or an agent beyond capacity: the agents of a batch are locked
first, and each offer is made only if its contact is still queued and its agent still has
room.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

import asyncpg
import structlog

from contactd.clock import Clock
from contactd.store import agents, queries
from contactd.store.listener import Wakeup
from routing.contact import Channel, Language
from routing.engine import CONTACTD, Offer, QueueRules, WaitingContact, route

log = structlog.get_logger(__name__)


async def route_once(
    pool: asyncpg.Pool,
    rules: Mapping[str, QueueRules],
    *,
    expiry_seconds: Mapping[Channel, int],
    passed_over_seconds: int,
    batch_size: int,
    now: datetime,
) -> list[Offer]:
    """One routing pass at `now`; returns the offers that were made. Agents who passed a
    contact on are passed over for it until `passed_over_seconds` after the latest pass."""
    free = await agents.available_views(pool)
    if not free:
        return []
    # The query orders by each contact's priority above its queue's, so it needs the queues';
    # it loads no contact of a queue removed from the configuration (that waits for staff).
    priorities = {code: queue.priority for code, queue in rules.items()}
    honoured = now - timedelta(seconds=passed_over_seconds)
    rows = await pool.fetch(queries.get("waiting_contacts"), batch_size, now, priorities, honoured)
    # Agents who cannot call a numbered ticket (no counter) are passed over for it, as if
    # they had declined it: the engine then finds the next one who can.
    no_counter = frozenset(view.id for view in free if not view.at_counter)
    waiting = [waiting_contact(r, no_counter if r["numbered"] else frozenset()) for r in rows]
    # The query returns them in the engine's order (order_of(CONTACTD, rules)), so the engine
    # need not sort them again.
    decided = route(waiting, free, rules, now, presorted=True, policy=CONTACTD)
    return await make_offers(pool, decided, expiry_seconds, now)


def waiting_contact(row: asyncpg.Record, passed_by: frozenset[int] = frozenset()) -> WaitingContact:
    """A waiting contact's row as the engine sees it; `passed_by` adds agents to pass over."""
    return WaitingContact(
        id=row["id"],
        channel=Channel(row["channel"]),
        language=Language(row["language"]),
        case_type=row["case_type"],
        queue=row["queue"],
        priority=row["priority"],
        due_at=row["due_at"],
        waiting_since=row["queued_at"],
        passed_by=frozenset(row.get("passed_by") or ()) | passed_by,
    )


async def make_offers(
    pool: asyncpg.Pool,
    decided: list[Offer],
    expiry_seconds: Mapping[Channel, int],
    now: datetime,
) -> list[Offer]:
    """Make the engine's offers that still hold in the database; return those made."""
    if not decided:
        return []
    expiry = {str(c): s for c, s in expiry_seconds.items()}
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(queries.get("lock_agents"), sorted({o.agent_id for o in decided}))
        made = await conn.fetchmany(
            queries.get("offer_contact"),
            [(o.contact_id, o.agent_id, o.reason.as_dict(), expiry, now) for o in decided],
        )
    made_ids = {r["id"] for r in made}
    offers = [o for o in decided if o.contact_id in made_ids]
    if len(offers) < len(decided):
        log.info("router.offers_superseded", decided=len(decided), made=len(offers))
    return offers


async def run(
    pool: asyncpg.Pool,
    rules: Mapping[str, QueueRules],
    wakeup: Wakeup,
    *,
    clock: Clock,
    expiry_seconds: Mapping[Channel, int],
    passed_over_seconds: int,
    batch_size: int,
    poll_seconds: float,
) -> None:
    """Route whenever woken (a new contact, an agent change) or every `poll_seconds`."""
    while True:
        offers = await route_once(
            pool,
            rules,
            expiry_seconds=expiry_seconds,
            passed_over_seconds=passed_over_seconds,
            batch_size=batch_size,
            now=clock(),
        )
        if offers:
            log.info("router.offered", offers=len(offers))
            continue  # more may fit at once: capacity freed while we worked
        await wakeup.wait(within=poll_seconds)
