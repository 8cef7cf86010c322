"""The state of each channel connection (a mailbox), kept in the database by the leader that
runs it, so that every instance shows the same on /api/channels."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import datetime

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


@dataclasses.dataclass(frozen=True, kw_only=True)
class ChannelStatus:
    name: str
    state: str
    detail: str | None
    since: datetime  # when it came into this state
    checked_at: datetime  # when its state was last reported
    instance: str  # the instance that reported it


async def statuses(pool: asyncpg.Pool) -> list[ChannelStatus]:
    """Every channel's last reported state, by name."""
    return [
        ChannelStatus(
            name=r["name"],
            state=r["state"],
            detail=r["detail"],
            since=r["changed_at"],
            checked_at=r["checked_at"],
            instance=r["instance"],
        )
        for r in await pool.fetch(queries.get("channel_statuses"))
    ]
