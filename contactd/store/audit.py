"""The audit log: who did what, and who read whose data. Logins, references and codes only:
never a message's text, an address or a token."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import asyncpg

from contactd.store import database, queries

Db = database.Conn | asyncpg.Pool


@dataclasses.dataclass(frozen=True, kw_only=True)
class Entry:
    id: int
    at: datetime
    actor: str
    action: str
    target: str | None
    reference: str | None
    details: Mapping[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {
            **dataclasses.asdict(self),
            "at": self.at.isoformat(),
            "details": dict(self.details),
        }


async def write(
    db: Db,
    *,
    at: datetime,
    actor: str,
    action: str,
    target: str | None = None,
    reference: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> None:
    await db.execute(
        queries.get("insert_audit"), at, actor, action, target, reference, dict(details or {})
    )


async def entries(
    db: Db,
    *,
    start: datetime,
    end: datetime,
    actor: str | None = None,
    action: str | None = None,
    reference: str | None = None,
    limit: int = 500,
    before: int | None = None,
) -> list[Entry]:
    rows = await db.fetch(
        queries.get("audit_entries"), start, end, actor, action, reference, limit, before
    )
    return [Entry(**dict(r)) for r in rows]
