"""Closed periods of a calendar added while running (a staff meeting, a power cut)."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import asyncpg

from contactd.store import database, queries

Db = database.Conn | asyncpg.Pool


@dataclasses.dataclass(frozen=True, kw_only=True)
class Closure:
    id: int
    calendar: str
    starts_at: datetime
    ends_at: datetime
    reason: str
    created_by: str
    created_at: datetime


def _from_row(row: asyncpg.Record) -> Closure:
    return Closure(**{f.name: row[f.name] for f in dataclasses.fields(Closure)})


async def add(
    db: Db, calendar: str, start: datetime, end: datetime, *, reason: str, by: str, now: datetime
) -> Closure:
    row = await db.fetchrow(queries.get("insert_closure"), calendar, start, end, reason, by, now)
    if row is None:  # INSERT ... RETURNING always returns the row
        raise RuntimeError("insert_closure returned no row")
    return _from_row(row)


async def cancel(db: Db, calendar: str, closure_id: int, *, by: str, now: datetime) -> bool:
    """True if it was live (not cancelled already)."""
    return (
        await db.fetchrow(queries.get("cancel_closure"), calendar, closure_id, by, now) is not None
    )


async def live(db: Db, *, since: datetime) -> list[Closure]:
    return [_from_row(r) for r in await db.fetch(queries.get("live_closures"), since)]
