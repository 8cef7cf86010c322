"""GET /api/channels: the state of each channel connection, for supervisors."""

from __future__ import annotations

from aiohttp import web

from contactd.http import auth
from contactd.http.appkeys import POOL
from contactd.store import channel_status
from contactd.store.staff import Role

routes = web.RouteTableDef()


@routes.get("/api/channels")
@auth.require(Role.SUPERVISOR, Role.ADMIN)
async def channels(request: web.Request) -> web.Response:
    found = await channel_status.statuses(request.app[POOL])
    return web.json_response(
        {
            "channels": [
                {
                    "name": s.name,
                    "state": s.state,
                    "detail": s.detail,
                    "since": s.since.isoformat(),
                    "checked_at": s.checked_at.isoformat(),
                    "instance": s.instance,
                }
                for s in found
            ]
        }
    )
