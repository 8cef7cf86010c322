"""One shape for every error the HTTP API returns, and the middleware that makes it.

    {"error": {"code": "invalid_body", "message": "...", "details": [...]}}

`code` is stable (documented in docs/reference/http-api.md); `message` is for people.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import asyncpg
import pydantic
import structlog
from aiohttp import web

from contactd.store import database
from routing.errors import DomainError, Kind

log = structlog.get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
M = TypeVar("M", bound=pydantic.BaseModel)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

# A body still arriving this long after its request's headers: the connection is closed, so
# a client that sends slowly (on purpose or not) does not hold a handler for ever. 1 MiB in
# 60 s needs 17 KiB/s. Tests shorten it.
BODY_SECONDS = web.AppKey("body_seconds", float)
DEFAULT_BODY_SECONDS = 60.0


class ApiError(web.HTTPException):
    """An error response in the API's JSON shape."""

    def __init__(
        self, status: int, code: str, message: str, details: list[Any] | None = None
    ) -> None:
        self.status_code = status
        super().__init__(
            text=json.dumps(_body(code, message, details)), content_type="application/json"
        )


def _body(code: str, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return {"error": error}


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _storable(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain the NUL character (\\u0000)")
    # JSON may escape half of a UTF-16 pair ("\ud800"); it is no character, and neither
    # UTF-8 nor PostgreSQL can hold it.
    if _LONE_SURROGATE.search(value):
        raise ValueError("must not contain a lone surrogate (\\ud800-\\udfff)")
    return value


# Text from a request body: PostgreSQL cannot store NUL or a lone surrogate, so refuse them
# here with a 422.
Text = Annotated[str, pydantic.AfterValidator(_storable)]


def invalid_body(exc: pydantic.ValidationError) -> ApiError:
    details = [
        {
            "field": ".".join(str(p) for p in e["loc"]),
            "problem": e["msg"].removeprefix("Value error, "),
        }
        for e in exc.errors()
    ]
    named = [d["field"] for d in details if d["field"]]
    # A check of the body as a whole (field ""): its problem is the message, not "body".
    whole = [d["problem"] for d in details if not d["field"]]
    if named:
        message = f"the request body has invalid fields: {', '.join(named)}"
        message += "".join(f"; {problem}" for problem in whole)
    else:
        message = f"the request body is refused: {'; '.join(whole)}"
    return ApiError(422, "invalid_body", message, details)


async def read_json(request: web.Request) -> Any:
    """The request body as JSON, or a 400/413/415 ApiError that says what is wrong."""
    if request.content_type != "application/json":
        raise ApiError(
            415, "unsupported_media_type", "send the body as JSON (Content-Type: application/json)"
        )
    raw = await _read(request)
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        # ValueError: broken JSON, not UTF-8, or a number of more than 4,300 digits;
        # RecursionError: arrays or objects nested thousands deep.
        why = exc if isinstance(exc, ValueError) else "nested too deeply"
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {why}") from None


async def no_body(request: web.Request) -> None:
    """An action that takes no body: one sent is not used, but it is read, so that one over
    the size limit is refused (413) before anything changes, as on every other route."""
    if request.body_exists:
        await _read(request)


async def _read(request: web.Request) -> bytes:
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        message = f"the request body is too large: {exc.text}"
        raise ApiError(413, "body_too_large", message) from None


def read_query(request: web.Request, model: type[M]) -> M:
    """The request's query string, validated by `model`; a 422 invalid_body otherwise."""
    try:
        return model.model_validate(dict(request.query))
    except pydantic.ValidationError as exc:
        raise invalid_body(exc) from None


async def read_body(request: web.Request, model: type[M]) -> M:
    """The request body as JSON, validated by `model`; a 4xx ApiError otherwise."""
    try:
        return model.model_validate(await read_json(request))
    except pydantic.ValidationError as exc:
        raise invalid_body(exc) from None


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
}


# One status per kind of refusal: every route's domain errors, Twilio's included, answer with
# these (routing/errors.py says what each kind means).
STATUS = {
    Kind.MALFORMED: 400,
    Kind.INVALID: 422,
    Kind.UNAUTHORISED: 401,
    Kind.FORBIDDEN: 403,
    Kind.NOT_FOUND: 404,
    Kind.CONFLICT: 409,
    Kind.GONE: 410,
    Kind.TOO_LARGE: 413,
    Kind.UNSUPPORTED: 415,
    Kind.TOO_MANY: 429,
    Kind.UNAVAILABLE: 503,
}


def from_domain(exc: DomainError) -> ApiError:
    """The answer to a domain error: its kind's status, its code and message."""
    return ApiError(STATUS[exc.kind], exc.code, exc.message, exc.details or None)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Bind a request id and the route to every log line, and turn every error into the JSON
    shape."""
    request_id = request.headers.get("X-Request-Id", "")
    if not _REQUEST_ID.fullmatch(request_id):  # fullmatch: "$" would let a "\n" end it
        request_id = uuid.uuid4().hex
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id, route=route_of(request))
    deadline = _body_deadline(request)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        error = exc if isinstance(exc, ApiError) else _from_http(exc)
    except Exception as exc:
        error = _from_exception(request, exc, request_id)
    else:
        response.headers["X-Request-Id"] = request_id
        return response
    finally:
        if deadline is not None:
            deadline.cancel()
    error.headers["X-Request-Id"] = request_id
    raise error from None


def _from_http(exc: web.HTTPException) -> ApiError:
    """aiohttp's own refusals (404 of the router, 405, 413 of the body limit) in our shape."""
    code = _STATUS_CODES.get(exc.status, "http_error")
    message = exc.reason if exc.status != 413 else "the request body is too large"
    error = ApiError(exc.status, code, message)
    if "Allow" in exc.headers:  # a 405 says which methods are allowed
        error.headers["Allow"] = exc.headers["Allow"]
    return error


def _from_exception(request: web.Request, exc: Exception, request_id: str) -> ApiError:
    """A domain error's answer, or the database's trouble or a bug said without its details."""
    if isinstance(exc, DomainError):
        return from_domain(exc)
    if isinstance(exc, database.UNAVAILABLE):
        if request.transport is None or request.transport.is_closing():
            # The client went away, or was cut off, while we read its body: no one to answer,
            # and no database to blame. An HTTP error goes to nowhere quietly; anything else
            # aiohttp would log as a server error.
            raise web.HTTPBadRequest() from None
        # The database went away under us: say so, briefly, and let the client retry.
        log.warning("http.database_unavailable", route=route_of(request), error=type(exc).__name__)
        error = ApiError(503, "database_unavailable", "the database is unavailable; retry shortly")
        error.headers["Retry-After"] = "5"
        return error
    if isinstance(exc, asyncpg.PostgresError):
        # The server's message may quote the row (DETAIL: Failing row contains ...): log its
        # code, never its text.
        log.error(
            "http.database_error",
            route=route_of(request),
            error=type(exc).__name__,
            sqlstate=exc.sqlstate,
        )
    else:
        log.exception("http.unhandled_error", route=route_of(request))
    return ApiError(500, "internal_error", f"internal error; request id {request_id}")


def route_of(request: web.Request) -> str:
    """The route a request matched, as a pattern (/api/contacts/{reference}): logs name it,
    never the path, which carries references, survey tokens and other keys."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "(no route)"


def _body_deadline(request: web.Request) -> asyncio.TimerHandle | None:
    """Close the connection if the request's body has not all arrived in time. A handler
    waiting for the rest of a body would otherwise wait as long as the client likes."""
    if request.content.is_eof():
        return None  # no body, or all of it is here already (the usual case)
    seconds = request.config_dict.get(BODY_SECONDS, DEFAULT_BODY_SECONDS)
    return asyncio.get_running_loop().call_later(seconds, _cut_off, request, seconds)


def _cut_off(request: web.Request, seconds: float) -> None:
    if request.content.is_eof() or request.transport is None:
        return
    log.warning("http.slow_body", route=route_of(request), seconds=seconds)
    request.transport.close()
