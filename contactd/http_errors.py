"""One shape for every error the HTTP API returns, and the middleware that makes it.

    {"error": {"code": "invalid_body", "message": "...", "details": [...]}}

`code` is stable (documented in docs/reference/http-api.md); `message` is for people.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import asyncpg
import pydantic
import structlog
from aiohttp import web

from contactd import database

log = structlog.get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
M = TypeVar("M", bound=pydantic.BaseModel)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


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


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain the NUL character (\\u0000)")
    return value


# Text from a request body: PostgreSQL cannot store NUL, so refuse it here with a 422.
Text = Annotated[str, pydantic.AfterValidator(_no_nul)]


def invalid_body(exc: pydantic.ValidationError) -> ApiError:
    details = [
        {
            "field": ".".join(str(p) for p in e["loc"]),
            "problem": e["msg"].removeprefix("Value error, "),
        }
        for e in exc.errors()
    ]
    fields = ", ".join(d["field"] or "body" for d in details)
    return ApiError(422, "invalid_body", f"the request body has invalid fields: {fields}", details)


async def read_json(request: web.Request) -> Any:
    """The request body as JSON, or a 400/413/415 ApiError that says what is wrong."""
    if request.content_type != "application/json":
        raise ApiError(
            415, "unsupported_media_type", "send the body as JSON (Content-Type: application/json)"
        )
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        message = f"the request body is too large: {exc.text}"
        raise ApiError(413, "body_too_large", message) from None
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {exc}") from None


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


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Bind a request id to every log line, and turn every error into the JSON shape."""
    request_id = request.headers.get("X-Request-Id", "")
    if not _REQUEST_ID.match(request_id):
        request_id = uuid.uuid4().hex
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id)
    try:
        response = await handler(request)
    except ApiError as exc:
        exc.headers["X-Request-Id"] = request_id
        raise
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _STATUS_CODES.get(exc.status, "http_error")
        message = exc.reason if exc.status != 413 else "the request body is too large"
        error = ApiError(exc.status, code, message)
        if "Allow" in exc.headers:  # a 405 says which methods are allowed
            error.headers["Allow"] = exc.headers["Allow"]
        error.headers["X-Request-Id"] = request_id
        raise error from None
    except database.UNAVAILABLE as exc:
        # The database went away under us: say so, briefly, and let the client retry.
        log.warning("http.database_unavailable", path=request.path, error=type(exc).__name__)
        error = ApiError(503, "database_unavailable", "the database is unavailable; retry shortly")
        error.headers["Retry-After"] = "5"
        error.headers["X-Request-Id"] = request_id
        raise error from None
    except asyncpg.PostgresError as exc:
        # The server's message may quote the row (DETAIL: Failing row contains ...): log its
        # code, never its text.
        log.error(
            "http.database_error",
            path=request.path,
            error=type(exc).__name__,
            sqlstate=exc.sqlstate,
        )
        error = ApiError(500, "internal_error", f"internal error; request id {request_id}")
        error.headers["X-Request-Id"] = request_id
        raise error from None
    except Exception:
        log.exception("http.unhandled_error", path=request.path)
        error = ApiError(500, "internal_error", f"internal error; request id {request_id}")
        error.headers["X-Request-Id"] = request_id
        raise error from None
    response.headers["X-Request-Id"] = request_id
    return response
