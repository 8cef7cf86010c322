"""The audit log for administrators: a page of entries as JSON, or every entry of a period as
JSON lines (`?format=jsonl`), for archiving or a SIEM."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from contactd.http import auth
from contactd.http.appkeys import AUDIT, CLOCK
from contactd.http.errors import read_query
from contactd.store.staff import Role

routes = web.RouteTableDef()
PAGE = 500  # entries per JSON page, and per read of a JSON-lines export


class AuditQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: datetime | None = Field(default=None, alias="from")
    end: datetime | None = Field(default=None, alias="to")
    actor: Annotated[str, Field(max_length=63)] | None = None
    action: Annotated[str, Field(max_length=63)] | None = None
    reference: Annotated[str, Field(max_length=20)] | None = None
    limit: Annotated[int, Field(ge=1, le=1000)] = 100
    before: Annotated[int, Field(ge=1, le=2**62)] | None = None
    format: Literal["json", "jsonl"] = "json"


@routes.get("/api/audit")
@auth.require(Role.ADMIN)
async def entries(request: web.Request) -> web.StreamResponse:
    """Who did what, newest first: a page (`limit`, then `before` the last id), or the whole
    period as JSON lines. `from` and `to` default to the last 7 days up to now."""
    query = read_query(request, AuditQuery)
    now = request.app[CLOCK].now()
    start, end = _aware(query.start), _aware(query.end)
    end = end or now + timedelta(seconds=1)
    start = start or end - timedelta(days=7)
    audit = request.app[AUDIT]
    search = {"actor": query.actor, "action": query.action, "reference": query.reference}
    if query.format == "json":
        found = await audit.entries(
            start=start, end=end, limit=query.limit, before=query.before, **search
        )
        return web.json_response({"entries": [e.as_json() for e in found]})
    response = web.StreamResponse(
        headers={"Content-Disposition": 'attachment; filename="contactd-audit.jsonl"'}
    )
    response.content_type = "application/x-ndjson"
    await response.prepare(request)
    before = query.before
    while found := await audit.entries(start=start, end=end, limit=PAGE, before=before, **search):
        lines = "".join(json.dumps(e.as_json(), ensure_ascii=False) + "\n" for e in found)
        await response.write(lines.encode())
        before = found[-1].id
    await response.write_eof()
    return response


def _aware(at: datetime | None) -> datetime | None:
    """A time without a zone is UTC, like every time the API gives."""
    return at if at is None or at.tzinfo is not None else at.replace(tzinfo=UTC)
