"""Staff sessions: a random key in the browser's cookie, its SHA-256 here, and failed sign-ins
per login (all instances together)."""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from datetime import datetime, timedelta

import asyncpg

from contactd.store import database, queries
from contactd.store.staff import Staff, staff_from_row

Db = database.Conn | asyncpg.Pool


@dataclasses.dataclass(frozen=True, kw_only=True)
class Session:
    id: int
    person: Staff
    via: str  # 'token' or 'oidc'
    csrf: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


@dataclasses.dataclass(frozen=True, kw_only=True)
class LiveSession:
    """A live session as administrators see it: whose, how, since when; never its key."""

    id: int
    login: str
    name: str
    role: str
    via: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


def new_key() -> str:
    return secrets.token_urlsafe(32)


def hash_key(key: str) -> bytes:
    # 256 random bits: a fast hash is enough, nothing to brute-force.
    return hashlib.sha256(key.encode()).digest()


async def start(
    db: Db, person: Staff, *, via: str, now: datetime, lasts: timedelta
) -> tuple[str, int, str]:
    """A new session for `person`: its key (for the cookie only), its id and CSRF token."""
    key, csrf = new_key(), secrets.token_urlsafe(32)
    session_id = await db.fetchval(
        queries.get("insert_session"), hash_key(key), person.id, via, csrf, now, now + lasts
    )
    return key, int(session_id), csrf


async def live(db: Db, key: str, *, now: datetime, idle: timedelta) -> Session | None:
    """The live session of a cookie's key (and seen now), or None."""
    if len(key) > 100 or not key.isascii():
        return None
    row = await db.fetchrow(queries.get("live_session"), hash_key(key), now, idle.total_seconds())
    if row is None:
        return None
    return Session(
        id=row["session_id"],
        person=staff_from_row(row),
        via=row["via"],
        csrf=row["csrf"],
        created_at=row["session_created_at"],
        last_seen_at=row["last_seen_at"],
        expires_at=row["expires_at"],
    )


async def end(
    db: Db, session_id: int, *, now: datetime, why: str, of: int | None = None
) -> int | None:
    """End one session (of that person only, when `of` is given); its person's id, or None
    when there was no such live session."""
    row = await db.fetchrow(queries.get("end_session"), session_id, now, why, of)
    return None if row is None else int(row["staff_id"])


async def end_all(db: Db, staff_id: int, *, now: datetime, why: str) -> int:
    """End every live session of a person; how many there were."""
    return int(await db.fetchval(queries.get("end_sessions_of"), staff_id, now, why))


async def live_sessions(db: Db, *, now: datetime, idle: timedelta) -> list[LiveSession]:
    rows = await db.fetch(queries.get("live_sessions"), now, idle.total_seconds())
    return [LiveSession(**dict(r)) for r in rows]


async def credentials_of(
    db: Db, staff_id: int, *, now: datetime, idle: timedelta
) -> frozenset[bytes]:
    """The hashes of a person's working token and live session keys, in one query (the desk
    streams ask on every change)."""
    rows = await db.fetch(queries.get("credentials_of"), staff_id, now, idle.total_seconds())
    return frozenset(bytes(r["hash"]) for r in rows)


async def failed(db: Db, login: str, *, now: datetime, window: timedelta) -> int:
    """Count a failed sign-in for `login`; the failures in its window now."""
    row = await db.fetchrow(queries.get("sign_in_failed"), login, now, window.total_seconds())
    return int(row["failures"]) if row else 0


async def failures(db: Db, login: str, *, now: datetime, window: timedelta) -> tuple[int, datetime]:
    """The failed sign-ins in `login`'s window now, and when the window began."""
    row = await db.fetchrow(queries.get("sign_in_failures"), login, now, window.total_seconds())
    return (0, now) if row is None else (int(row["failures"]), row["since"])
