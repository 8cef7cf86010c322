"""The state of each channel connection (a mailbox), kept in the database by the leader that
runs it, so that every instance shows the same on /api/channels."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg
import structlog

from contactd.clock import Clock
from contactd.store import database, queries

log = structlog.get_logger(__name__)


def reporter(
    pool: asyncpg.Pool, name: str, instance: str, clock: Clock
) -> Callable[[str, str | None], Awaitable[None]]:
    """What a channel calls when its state changes or it has read; a database that does not
    answer is only logged: the channel goes on, and says so again at its next change."""

    async def report(state: str, detail: str | None) -> None:
        try:
            await pool.execute(
                queries.get("channel_status_set"), name, state, detail, instance, clock()
            )
        except database.ANY_ERROR as exc:
            log.warning("channel_status.not_saved", channel=name, error=type(exc).__name__)

    return report


async def statuses(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    """Every channel's last reported state, by name."""
    return await pool.fetch(queries.get("channel_statuses"))
