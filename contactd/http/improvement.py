"""The improvement report in the console: `GET /api/improvement` as JSON, or as CSV or the
chart (PNG) with `format`, for a week or a period, the comments searchable. Reading it reads
the clients' comments: it is audited."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Annotated, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from contactd.http import auth
from contactd.http.appkeys import AUDIT
from contactd.http.errors import ApiError, read_query
from contactd.services import improvement_output
from contactd.services.improvement import Period, Reports
from contactd.services.report import MAX_DAYS
from contactd.store.staff import Role

routes = web.RouteTableDef()
REPORTS = web.AppKey("improvement_reports", Reports)


class ImprovementQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first: date | None = None  # with last: a period; neither: last week
    last: date | None = None
    follow_up_days: Annotated[int, Field(ge=1, le=90)] | None = None
    q: Annotated[str, Field(min_length=1, max_length=100)] | None = None  # in the comments
    format: Literal["json", "csv", "png"] = "json"


@routes.get("/api/improvement")
@auth.require(Role.SUPERVISOR)
async def read(request: web.Request) -> web.StreamResponse:
    query = read_query(request, ImprovementQuery)
    reports = request.app[REPORTS]
    period = _period(query, reports.today())
    found = await reports.of(period, follow_up_days=query.follow_up_days, search=query.q)
    await request.app[AUDIT].record(
        auth.current(request), "improvement.read", target=period.label,
        details={"comments": len(found.comments), "format": query.format},
    )  # fmt: skip
    name = f"improvement-{period.first}-{period.last}"
    if query.format == "csv":
        body = improvement_output.csv_text(found).encode()
        return _file(body, "text/csv; charset=utf-8", f"{name}.csv")
    if query.format == "png":
        chart = await asyncio.to_thread(improvement_output.png, found)  # off the event loop
        return _file(chart, "image/png", f"{name}.png")
    return web.json_response(improvement_output.as_json(found))


def _period(query: ImprovementQuery, today: date) -> Period:
    if query.first is None and query.last is None:
        return Period.week_of(today - timedelta(days=7))
    if query.first is None or query.last is None:
        raise ApiError(422, "bad_period", "give both first and last, or neither (last week)")
    if query.first > query.last:
        raise ApiError(422, "bad_period", f"first {query.first} is after last {query.last}")
    if query.first > today:
        raise ApiError(422, "bad_period", f"first {query.first} is in the future")
    if (query.last - query.first).days + 1 > MAX_DAYS:
        raise ApiError(422, "bad_period", f"at most {MAX_DAYS} days at a time")
    return Period(query.first, query.last)


def _file(body: bytes, content_type: str, name: str) -> web.Response:
    return web.Response(
        body=body,
        headers={
            "Content-Type": content_type,
            "Content-Disposition": f'attachment; filename="{name}"',
        },
    )
