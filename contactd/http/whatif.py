"""The what-if lab in the supervisors' console: play days offline on the routing engine with
policies side by side (docs/how-to/whatif.md), from the shipped model or the database's
history, with the day file's teams or today's agent profiles. The response's fields are
contactd/services/whatif_report.py's `as_json` (each goal's `threshold` is {amount, unit}, its
queue's `queue_names` {da, en}) with the CSV, the chart (PNG, base64), `staffing` and
`notes`; docs/reference/http-api.md has them."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from contactd.http import auth
from contactd.http.errors import ApiError, read_body
from contactd.services.whatif_lab import DEFAULT_POLICIES, Ask, Busy, Refused, WhatIfLab
from contactd.store.staff import Role
from whatif.policies import PRESETS

routes = web.RouteTableDef()
LAB = web.AppKey("whatif_lab", WhatIfLab)
BUSY_SECONDS = 20  # Retry-After while another what-if plays: about the longest one takes

PolicyName = Literal["contactd", "fifo", "skills"]


class Period(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first: date
    last: date

    @model_validator(mode="after")
    def _in_order(self) -> Period:
        if self.first > self.last:
            raise ValueError(f"the first day {self.first} is after the last {self.last}")
        return self


class WhatIfBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: date | None = None
    days: Annotated[int, Field(ge=1, le=5)] = 1
    seeds: Annotated[int, Field(ge=1, le=20)] = 5
    policies: Annotated[list[PolicyName], Field(min_length=1, max_length=len(PRESETS))] = list(
        DEFAULT_POLICIES  # type: ignore[arg-type]
    )
    scale: Annotated[float, Field(gt=0, le=5)] = 1.0
    staffing: Literal["day_file", "profiles"] = "day_file"
    history: Period | None = None

    @field_validator("policies")
    @classmethod
    def _distinct(cls, names: list[PolicyName]) -> list[PolicyName]:
        if len(set(names)) < len(names):
            raise ValueError("name each policy once")
        return names


@routes.post("/api/whatif")
@auth.require(Role.SUPERVISOR)
async def play(request: web.Request) -> web.Response:
    """The policies played on the same seeds, with each goal's service level and its 95 %
    interval, the CSV and the chart; one what-if at a time on an instance."""
    body = await read_body(request, WhatIfBody)
    ask = Ask(
        start=body.start,
        days=body.days,
        seeds=body.seeds,
        policies=tuple(body.policies),
        scale=body.scale,
        profiles=body.staffing == "profiles",
        history=None if body.history is None else (body.history.first, body.history.last),
    )
    try:
        played = await request.app[LAB].play(ask)
    except Refused as exc:
        raise ApiError(422, "whatif_refused", str(exc)) from None
    except Busy:
        error = ApiError(409, "whatif_busy", "another what-if is being played; try again soon")
        error.headers["Retry-After"] = str(BUSY_SECONDS)
        raise error from None
    return web.json_response(played)
