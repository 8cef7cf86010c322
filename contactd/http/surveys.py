"""The public satisfaction survey: the page behind a survey link, the survey's state and its
one answer. No sign-in: the signed token in the link is the key.

A forged or altered token costs one HMAC and no database work. The database work of these
public endpoints is bounded per instance, and requests per client address are limited, so
that a flood cannot take the pool from the staff.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from channels.public import Gate, Limiter
from contactd.http import pages
from contactd.http.errors import STATUS, ApiError, Text, read_body
from contactd.services import surveys as csat
from routing.errors import DomainError

routes = web.RouteTableDef()

REQUESTS_PER_ADDRESS = 60  # per minute and instance: a client needs 3 (page, state, answer)
WINDOW_SECONDS = 60.0
CONCURRENT_QUERIES = 8  # of the pool's connections, the most these endpoints hold at once


class AnswerBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Strict: "4" or true is not a score.
    score: Annotated[int, Field(ge=1, le=5, strict=True)]
    comment: Annotated[Text, Field(max_length=csat.MAX_COMMENT_CHARS)] | None = None


@dataclasses.dataclass
class Public:
    """What the survey endpoints of one instance hold."""

    surveys: csat.Surveys
    gate: Gate = dataclasses.field(default_factory=Gate)  # our origin, our proxies
    limiter: Limiter = dataclasses.field(
        default_factory=lambda: Limiter(REQUESTS_PER_ADDRESS, WINDOW_SECONDS)
    )
    working: asyncio.Semaphore = dataclasses.field(
        default_factory=lambda: asyncio.Semaphore(CONCURRENT_QUERIES)
    )


SURVEYS = web.AppKey("surveys", Public)


def _public(request: web.Request) -> Public:
    public = request.app[SURVEYS]
    if not public.limiter.allow(public.gate.client(request)):
        error = ApiError(429, "too_many_requests", "too many requests from here; try again later")
        error.headers["Retry-After"] = str(int(WINDOW_SECONDS))
        raise error
    return public


async def _open_survey(public: Public, token: str) -> csat.Survey:
    async with public.working:
        return await public.surveys.survey(token)


def _survey_json(survey: csat.Survey) -> dict[str, Any]:
    return {
        "state": "open" if survey.answered_at is None else "answered",
        "language": survey.language,
        "channel": survey.channel,
        "expires_at": survey.expires_at.isoformat(),
        "answered_at": survey.answered_at.isoformat() if survey.answered_at else None,
        "score": survey.score,
    }


@routes.get("/s/{token}")
async def page(request: web.Request) -> web.Response:
    """The one-question page; its status says whether the link can be answered (the page's
    script asks the API for the language and shows the form or why not)."""
    status = 200
    try:
        await _open_survey(_public(request), request.match_info["token"])
    except ApiError as exc:  # too many requests
        status = exc.status
    except DomainError as exc:  # not found, answered or expired: the page shows why
        status = STATUS[exc.kind]
    return web.Response(
        body=pages.PAGES.joinpath("csat.html").read_bytes(),
        status=status,
        content_type="text/html",
        charset="utf-8",
        # The token is the key to the answer: kept out of caches (Referrer-Policy already
        # keeps it from other sites).
        headers={**pages.SECURITY_HEADERS, "Cache-Control": "no-store"},
    )


@routes.get("/api/surveys/{token}")
async def get_survey(request: web.Request) -> web.Response:
    survey = await _open_survey(_public(request), request.match_info["token"])
    return web.json_response(_survey_json(survey), headers={"Cache-Control": "no-store"})


@routes.post("/api/surveys/{token}")
async def answer(request: web.Request) -> web.Response:
    """The one answer: 201 with the survey; 409 survey_answered for any later one."""
    public = _public(request)
    public.gate.check_post(request)  # no answer posted by another site's page
    token = request.match_info["token"]
    await public.surveys.verified(token)  # a forged link: 404 before the body is read
    body = await read_body(request, AnswerBody)
    comment = (body.comment or "").strip() or None
    async with public.working:
        survey = await public.surveys.answer(token, body.score, comment)
    return web.json_response(_survey_json(survey), status=201)
