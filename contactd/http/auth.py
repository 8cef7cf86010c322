"""Staff sign-in on the HTTP API: `Authorization: Bearer <token>`, checked on every request
against the database, so a disabled person loses access at once. An address that sends
many unknown tokens is told to wait (429), while a good token from it still passes: tokens
are 256 random bits, so the throttle is there to stop scripts politely, not to make guessing
hopeless, and it must never lock staff out."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Awaitable, Callable

from aiohttp import web

from channels.public import Gate, Limiter
from contactd.http.appkeys import POOL
from contactd.http.errors import ApiError
from contactd.store import staff
from contactd.store.staff import Role, Staff

_STAFF_KEY = web.RequestKey("staff", Staff)

FAILURES_PER_ADDRESS = 20  # unknown tokens from one client address ...
FAILURE_WINDOW_SECONDS = 300.0  # ... in this long, then 429 until the window has passed


@dataclasses.dataclass
class SignInGuard:
    """Failed sign-ins per client address (per instance), read through the trusted proxies."""

    gate: Gate = dataclasses.field(default_factory=Gate)
    failures: Limiter = dataclasses.field(
        default_factory=lambda: Limiter(FAILURES_PER_ADDRESS, FAILURE_WINDOW_SECONDS)
    )


SIGN_IN = web.AppKey("sign_in", SignInGuard)

StaffHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def require(*roles: Role) -> Callable[[StaffHandler], StaffHandler]:
    """Let a handler run only for signed-in staff with one of `roles` (admins always)."""
    allowed = frozenset(roles) | {Role.ADMIN}

    def decorate(handler: StaffHandler) -> StaffHandler:
        @functools.wraps(handler)
        async def checked(request: web.Request) -> web.StreamResponse:
            person = await _authenticate(request)
            if person.role not in allowed:
                names = ", ".join(sorted(allowed))
                message = f"this needs the role {names}; you are {person.role}"
                raise ApiError(403, "forbidden", message)
            request[_STAFF_KEY] = person
            return await handler(request)

        return checked

    return decorate


def token_hash(request: web.Request) -> bytes:
    """The hash of the token a request that passed `require` signed in with (long streams
    compare it with the person's token now, which a rotation changes)."""
    _, _, token = request.headers.get("Authorization", "").partition(" ")
    return staff.hash_token(token.strip())


def current(request: web.Request) -> Staff:
    """The signed-in person of a request that passed `require`."""
    return request[_STAFF_KEY]


async def _authenticate(request: web.Request) -> Staff:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("sign in: send 'Authorization: Bearer <token>'")
    token = token.strip()
    # Tokens are ASCII; a header of other bytes arrives with surrogates that cannot be hashed.
    person = await staff.by_token(request.app[POOL], token) if token.isascii() else None
    if person is not None:
        # A good token always passes: behind a proxy not named in daemon.trusted_proxies all
        # clients share one address, and a stranger's failures must not lock staff out.
        return person
    guard = request.config_dict.get(SIGN_IN) or SignInGuard()
    client = guard.gate.client(request)
    if not guard.failures.allow(client):
        error = ApiError(429, "too_many_failures", "too many unknown tokens from here; wait")
        error.headers["Retry-After"] = str(int(FAILURE_WINDOW_SECONDS))
        raise error
    raise _unauthorized("the token is not valid, or its owner is disabled")


def _unauthorized(message: str) -> ApiError:
    error = ApiError(401, "unauthorized", message)
    error.headers["WWW-Authenticate"] = 'Bearer realm="contactd"'
    return error
