"""Calendars and their closed periods, for supervisors: close the service centre or the hotline
for an afternoon without a restart; every instance honours it at once."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contactd.http import auth
from contactd.http.errors import Text, no_body, read_body
from contactd.services.closures import CalendarClosures, ClosureNotFound
from contactd.store.closures import Closure
from contactd.store.staff import Role
from routing.calendar import WEEKDAYS

routes = web.RouteTableDef()
CLOSURES = web.AppKey("closures", CalendarClosures)


class ClosureBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    starts_at: AwareDatetime
    ends_at: AwareDatetime
    reason: Annotated[Text, Field(min_length=1, max_length=200)]


@routes.get("/api/calendars")
@auth.require(Role.AGENT, Role.FRONTDESK, Role.SUPERVISOR)
async def calendars(request: web.Request) -> web.Response:
    """Each calendar's opening hours and the closures that have not ended."""
    service = request.app[CLOSURES]
    ahead = await service.ahead()
    return web.json_response(
        {
            "calendars": [
                {
                    "name": name,
                    "hours": {
                        WEEKDAYS[day]: [[f"{i.start:%H:%M}", f"{i.end:%H:%M}"] for i in hours]
                        for day, hours in sorted(calendar.hours.items())
                    },
                    "closures": [closure_json(c) for c in ahead[name]],
                }
                for name, calendar in service.calendars.items()
            ]
        }
    )


@routes.post("/api/calendars/{name}/closures")
@auth.require(Role.SUPERVISOR)
async def close(request: web.Request) -> web.Response:
    body = await read_body(request, ClosureBody)
    added = await request.app[CLOSURES].add(
        request.match_info["name"],
        body.starts_at,
        body.ends_at,
        reason=body.reason,
        by=auth.current(request),
    )
    return web.json_response(closure_json(added), status=201)


@routes.delete("/api/calendars/{name}/closures/{id}")
@auth.require(Role.SUPERVISOR)
async def reopen(request: web.Request) -> web.Response:
    await no_body(request)
    text = request.match_info["id"]
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise ClosureNotFound(f"no closure {text!r}")
    await request.app[CLOSURES].cancel(
        request.match_info["name"], int(text), by=auth.current(request)
    )
    return web.json_response({"cancelled": int(text)})


def closure_json(c: Closure) -> dict[str, Any]:
    return {
        "id": c.id,
        "calendar": c.calendar,
        "starts_at": _iso(c.starts_at),
        "ends_at": _iso(c.ends_at),
        "reason": c.reason,
        "created_by": c.created_by,
        "created_at": _iso(c.created_at),
    }


def _iso(at: datetime) -> str:
    return at.isoformat()
