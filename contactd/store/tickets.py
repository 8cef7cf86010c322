"""The service centre's tickets in the database: their numbers, calls to a counter, where a
waiting one stands, and the figures of the board and the public status."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date, datetime

import asyncpg

from contactd.store import database, queries

Db = database.Conn | asyncpg.Pool


@dataclasses.dataclass(frozen=True, kw_only=True)
class Ticket:
    number: str  # 'A001'
    calls: int  # how often it has been called to a counter


@dataclasses.dataclass(frozen=True, kw_only=True)
class Place:
    """Where a waiting ticket stands, and what its wait depends on."""

    position: int  # tickets ahead of it, + 1
    servers: int  # people at a counter with a skill for its queue
    handle_seconds: float | None  # the queue's average handling in the window; None: none


async def number(
    conn: database.Conn, contact_id: int, *, letter: str, day: date, queue: str, staff_id: int
) -> None:
    """Number the new ticket with its letter's next number today, in the issuing transaction."""
    await conn.execute(queries.get("number_ticket"), contact_id, letter, day, queue, staff_id)


async def of(db: Db, contact_id: int) -> Ticket | None:
    """The contact's ticket; None when it has none (a walk-in registered by hand)."""
    row = await db.fetchrow(queries.get("ticket_of"), contact_id)
    return Ticket(number=row["number"], calls=row["calls"]) if row else None


async def call(db: Db, contact_id: int, counter: str, *, now: datetime) -> int:
    """The ticket is called to `counter` at `now` (a first call or a recall; the board is
    woken); how often it has been."""
    calls: int = await db.fetchval(queries.get("ticket_called"), contact_id, counter, now)
    return calls


async def place(db: Db, contact_id: int, case_types: Sequence[str], since: datetime) -> Place:
    """Where a waiting ticket stands; handling counted from `since`."""
    row = await db.fetchrow(queries.get("ticket_place"), contact_id, list(case_types), since)
    if row is None:  # one row of sub-queries: always there
        return Place(position=1, servers=0, handle_seconds=None)
    handle = row["handle_seconds"]
    return Place(
        position=int(row["position"]),
        servers=int(row["servers"]),
        handle_seconds=float(handle) if handle is not None else None,
    )


async def board(db: Db, day: date, size: int) -> list[asyncpg.Record]:
    """The tickets called on `day`, newest first: number, counter, called_at, calls, queue,
    state."""
    return list(await db.fetch(queries.get("board"), day, size))


async def queue_figures(
    db: Db, queues: Sequence[str], day: date, since: datetime
) -> list[asyncpg.Record]:
    """Per queue: waiting, now_serving (the number called last on `day`), handle_seconds."""
    return list(await db.fetch(queries.get("ticket_queues"), list(queues), day, since))


async def counter_skills(db: Db) -> list[set[str]]:
    """The skills of each person at a counter now: the servers of the ticket queues."""
    return [set(r["skills"]) for r in await db.fetch(queries.get("counter_staff"))]


async def near_their_turn(db: Db, ahead: int) -> list[asyncpg.Record]:
    """Waiting tickets with a phone number, not told yet, with at most `ahead` before them:
    id, reference, language, client_address, number, ahead."""
    return list(await db.fetch(queries.get("tickets_near_their_turn"), ahead))


async def mark_notified(conn: database.Conn, contact_id: int, *, now: datetime) -> bool:
    """Note that the visitor was told; False when another pass told them already."""
    return await conn.fetchval(queries.get("ticket_notified"), contact_id, now) is not None


async def waiting_in(db: Db, queues: Sequence[str]) -> list[int]:
    """The ids of the tickets queued in these queues."""
    return [r["id"] for r in await db.fetch(queries.get("waiting_tickets_of"), list(queues))]
