"""Retention: the leader's loop that purges the personal data of contacts closed more than
`retention.days` ago (docs/reference/data-protection.md says what goes and what stays).

A pass purges in batches of `retention.batch_size` contacts, each one statement and so one
short transaction, until a batch comes back short; then the mail and satisfaction comments
that reached a contact after its purge. The SQL is safe to run on two instances at once
(FOR UPDATE SKIP LOCKED), though only the leader runs it.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta

import asyncpg
import structlog

from contactd.metrics import Recorder
from contactd.settings import RetentionConfig
from contactd.store import database, queries

log = structlog.get_logger(__name__)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Purged:
    """What a pass purged: counts only, never what the rows held."""

    contacts: int = 0
    messages: int = 0
    outbox: int = 0
    comments: int = 0
    events: int = 0
    notes: int = 0
    late_messages: int = 0
    late_comments: int = 0
    audit: int = 0  # audit entries older than retention.audit_days, deleted
    sessions: int = 0  # sessions that ended as long ago, deleted

    def __add__(self, other: Purged) -> Purged:
        return Purged(
            **{
                f.name: getattr(self, f.name) + getattr(other, f.name)
                for f in dataclasses.fields(self)
            }
        )


async def purge(
    pool: asyncpg.Pool,
    *,
    cutoff: datetime,
    batch_size: int,
    now: datetime,
    audit_cutoff: datetime | None = None,
) -> Purged:
    """One pass at `now`: everything of the contacts closed before `cutoff`, then what
    arrived late; audit entries and sessions from before `audit_cutoff`."""
    total = Purged()
    while True:
        row = await pool.fetchrow(queries.get("retention_purge"), cutoff, batch_size, now)
        batch = Purged(**dict(row or {}))  # an aggregate: always one row
        total += batch
        # Short: nothing left, or the rest locked by someone else (a later pass takes them).
        if batch.contacts < batch_size:
            break
    late_messages = await _until_short(pool, "retention_purge_late_messages", cutoff, batch_size)
    late_comments = await _until_short(pool, "retention_purge_late_comments", cutoff, batch_size)
    total += Purged(late_messages=late_messages, late_comments=late_comments)
    if audit_cutoff is None:
        return total
    audit = await _until_short(pool, "retention_purge_audit", audit_cutoff, batch_size)
    sessions = await _until_short(pool, "retention_purge_sessions", audit_cutoff, batch_size)
    return total + Purged(audit=audit, sessions=sessions)


async def _until_short(pool: asyncpg.Pool, query: str, cutoff: datetime, batch_size: int) -> int:
    total = 0
    while True:
        count: int = await pool.fetchval(queries.get(query), cutoff, batch_size)
        total += count
        if count < batch_size:
            return total


async def run(
    pool: asyncpg.Pool,
    config: RetentionConfig,
    clock: Callable[[], datetime],
    recorder: Recorder,
) -> None:
    """The leader's loop: a pass every `poll_seconds`. A failed pass is tried again at the
    next; every batch it committed stays purged."""
    if not config.enabled:
        log.warning("retention.off", why="retention.enabled is false: nothing is purged")
        return
    while True:
        now = clock()
        cutoff = now - timedelta(days=config.days)
        try:
            purged = await purge(
                pool,
                cutoff=cutoff,
                batch_size=config.batch_size,
                now=now,
                audit_cutoff=now - timedelta(days=config.audit_days),
            )
        except database.ANY_ERROR as exc:
            log.warning("retention.failed", error=type(exc).__name__)
        else:
            log.info("retention.purged", days=config.days, **dataclasses.asdict(purged))
            recorder.contacts_purged(purged.contacts)
        await asyncio.sleep(config.poll_seconds)
