"""The audit log: staff actions and reads of clients' personal data, by login and reference.

Written after the action it records (an action that failed is not recorded). Kept for
`retention.audit_days`, readable by administrators (`GET /api/audit`, the console) and exported
as JSON lines. Holds no message text, address or token: the actor's login, the action, the
staff login or calendar it was done to, the contact's reference, and codes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import asyncpg

from contactd.clock import Clock
from contactd.store import audit
from contactd.store.audit import Entry
from contactd.store.staff import Staff


class Audit:
    def __init__(self, pool: asyncpg.Pool, *, clock: Clock) -> None:
        self._pool = pool
        self._clock = clock

    async def record(
        self,
        actor: Staff | str,
        action: str,
        *,
        target: str | None = None,
        reference: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """`actor` is the person (their login is kept) or 'cli' / 'system'."""
        await audit.write(
            self._pool,
            at=self._clock(),
            actor=actor if isinstance(actor, str) else actor.login,
            action=action,
            target=target,
            reference=reference,
            details=details,
        )

    async def entries(
        self,
        *,
        start: datetime,
        end: datetime,
        actor: str | None = None,
        action: str | None = None,
        reference: str | None = None,
        limit: int = 500,
        before: int | None = None,
    ) -> list[Entry]:
        return await audit.entries(
            self._pool,
            start=start,
            end=end,
            actor=actor,
            action=action,
            reference=reference,
            limit=limit,
            before=before,
        )
