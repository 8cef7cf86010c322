"""The state of each channel connection (a mailbox), kept in the database by the leader that
runs it, so that every instance shows the same on /api/channels."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg
import structlog
from aiohttp import web

from contactd import auth, database, queries
from contactd.appkeys import POOL
from contactd.clock import Clock
from contactd.staff import Role

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()


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


@routes.get("/api/channels")
@auth.require(Role.SUPERVISOR, Role.ADMIN)
async def channels(request: web.Request) -> web.Response:
    rows = await request.app[POOL].fetch(queries.get("channel_statuses"))
    return web.json_response(
        {
            "channels": [
                {
                    "name": r["name"],
                    "state": r["state"],
                    "detail": r["detail"],
                    "since": r["changed_at"].isoformat(),
                    "checked_at": r["checked_at"].isoformat(),
                    "instance": r["instance"],
                }
                for r in rows
            ]
        }
    )
