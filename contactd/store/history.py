"""A client's earlier contacts, found by the keyed hash of their address (which stays after a
purge), and caseworkers' notes on a contact."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import asyncpg

from contactd.store import database, queries

Db = database.Conn | asyncpg.Pool


@dataclasses.dataclass(frozen=True, kw_only=True)
class Earlier:
    """One of a client's contacts, as their history shows it."""

    id: int
    reference: str
    channel: str
    case_type: str | None
    queue: str
    state: str
    outcome: str | None
    wrap_up: str | None
    created_at: datetime
    closed_at: datetime | None
    purged: bool
    handled_by: str | None
    notes: Sequence[Mapping[str, Any]]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Note:
    id: int
    contact_id: int
    author: str
    at: datetime
    text: str | None  # None once purged


def _earlier(row: asyncpg.Record) -> Earlier:
    return Earlier(**{f.name: row[f.name] for f in dataclasses.fields(Earlier)})


def _note(row: asyncpg.Record) -> Note:
    return Note(**{f.name: row[f.name] for f in dataclasses.fields(Note)})


async def of_contact(db: Db, contact_id: int, *, limit: int) -> list[Earlier]:
    """The same client's other contacts, newest first."""
    return [_earlier(r) for r in await db.fetch(queries.get("client_history"), contact_id, limit)]


async def of_address(db: Db, address: str, *, limit: int) -> list[Earlier]:
    """Every contact of the client with this address (E.164 or e-mail), newest first."""
    return [_earlier(r) for r in await db.fetch(queries.get("client_search"), address, limit)]


async def entry(db: Db, contact_id: int) -> Earlier:
    """One contact as the history shows it."""
    row = await db.fetchrow(queries.get("history_entry"), contact_id)
    if row is None:
        raise RuntimeError(f"no contact {contact_id}")
    return _earlier(row)


async def add_note(db: Db, contact_id: int, *, author: str, at: datetime, text: str) -> Note:
    row = await db.fetchrow(queries.get("insert_note"), contact_id, author, at, text)
    if row is None:  # INSERT ... RETURNING always returns the row
        raise RuntimeError("insert_note returned no row")
    return _note(row)


async def notes_of(db: Db, contact_id: int) -> list[Note]:
    return [_note(r) for r in await db.fetch(queries.get("notes_of"), contact_id)]
