"""A live call's phone legs in its Twilio conference: the caseworker's, and the colleague's
while they are consulted (channels/phone/conference.py places them; contactd/services/
call_legs.py decides what their webhooks do)."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from channels.ports import Leg, LegRole
from contactd.store import database, queries

Db = database.Conn | asyncpg.Pool


def _returned(row: asyncpg.Record | None) -> asyncpg.Record:
    """The row a statement that always returns one returned."""
    if row is None:
        raise RuntimeError("the statement returned no row")
    return row


def _leg(row: asyncpg.Record) -> Leg:
    return Leg(
        id=row["id"],
        contact_id=row["contact_id"],
        acceptance=row["acceptance"],
        role=row["role"],
        agent_id=row["agent_id"],
        room=row["room"],
        call_sid=row["call_sid"],
        answered=row["answered_at"] is not None,
        ended=row["ended_at"] is not None,
    )


async def insert(
    db: Db,
    contact_id: int,
    acceptance: str,
    role: LegRole,
    agent_id: int,
    *,
    room: str,
    now: datetime,
) -> Leg:
    row = await db.fetchrow(
        queries.get("leg_insert"), contact_id, acceptance, role, agent_id, room, now
    )
    return _leg(_returned(row))


async def get(db: Db, leg_id: int) -> Leg | None:
    row = await db.fetchrow(queries.get("leg_get"), leg_id)
    return _leg(row) if row else None


async def answered(db: Db, leg_id: int, call_sid: str, *, now: datetime) -> Leg | None:
    """The leg, answered now (or before); None once it has ended."""
    row = await db.fetchrow(queries.get("leg_answered"), leg_id, call_sid or None, now)
    return _leg(row) if row else None


async def ended(db: Db, leg_id: int, call_sid: str | None, *, now: datetime) -> Leg | None:
    """The leg, ended now; None when it had ended before (a webhook told twice)."""
    row = await db.fetchrow(queries.get("leg_ended"), leg_id, call_sid or None, now)
    return _leg(row) if row else None


async def of(conn: database.Conn, contact_id: int, acceptance: str) -> list[Leg]:
    """A contact's legs in one acceptance, the caseworker's newest first, locked."""
    return [_leg(r) for r in await conn.fetch(queries.get("legs_of"), contact_id, acceptance)]


async def agent_leg(db: Db, contact_id: int, acceptance: str) -> Leg | None:
    """The caseworker's leg of an acceptance, unlocked (a read for a webhook's answer)."""
    row = await db.fetchrow(queries.get("agent_leg_of"), contact_id, acceptance)
    return _leg(row) if row else None


async def handed_over(conn: database.Conn, leg_id: int, acceptance: str) -> Leg:
    row = await conn.fetchrow(queries.get("leg_handed_over"), leg_id, acceptance)
    return _leg(_returned(row))


async def note(
    conn: database.Conn,
    contact_id: int,
    action: str,
    *,
    actor: str,
    reason: dict[str, str],
    now: datetime,
) -> None:
    """A step of a consultation in the contact's timeline (its state does not change); the
    desks that show the contact are woken."""
    await conn.execute(queries.get("contact_note"), contact_id, action, actor, reason, now)


async def live_of(db: Db, contact_ids: list[int]) -> list[asyncpg.Record]:
    """The live legs of these contacts, with the login of whose phone each is."""
    return list(await db.fetch(queries.get("legs_of_contacts"), contact_ids))
