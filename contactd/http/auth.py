"""Staff sign-in on the HTTP API, two ways, both checked against the database on every request
(a disabled person, an ended session, an expired token lose access at once):

- a browser's session: an HttpOnly, SameSite=Lax cookie (Secure, and `__Host-` named, behind
  HTTPS) made by signing in (contactd/http/session.py). Every request that changes something
  also carries the session's CSRF token in `X-CSRF-Token`, which another site's page cannot
  read, so it cannot make a signed-in browser act;
- `Authorization: Bearer <token>`, for scripts: a personal token, which expires. A browser
  never adds it by itself, so it needs no CSRF token.

An address that sends many unknown tokens is told to wait (429), while a good token from it
still passes: tokens are 256 random bits, so the throttle is there to stop scripts politely,
not to make guessing hopeless, and it must never lock staff out."""

from __future__ import annotations

import dataclasses
import functools
import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web

from channels.public import Gate, Limiter
from contactd.http.appkeys import CLOCK, POOL
from contactd.http.errors import ApiError
from contactd.services.sessions import SignIn
from contactd.store import sessions, staff
from contactd.store.sessions import Session
from contactd.store.staff import Role, Staff

_STAFF_KEY = web.RequestKey("staff", Staff)
_CREDENTIAL_KEY = web.RequestKey("credential", bytes)
_SESSION_KEY = web.RequestKey("session", Session)

FAILURES_PER_ADDRESS = 20  # unknown tokens from one client address ...
FAILURE_WINDOW_SECONDS = 300.0  # ... in this long, then 429 until the window has passed
COOKIE = "contactd_session"
SECURE_COOKIE = "__Host-contactd_session"  # the browser keeps it to this host, path / and HTTPS
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclasses.dataclass
class SignInGuard:
    """Failed sign-ins per client address (per instance), read through the trusted proxies;
    `secure`: the daemon is reached over HTTPS (its public URL), so cookies are Secure."""

    gate: Gate = dataclasses.field(default_factory=Gate)
    failures: Limiter = dataclasses.field(
        default_factory=lambda: Limiter(FAILURES_PER_ADDRESS, FAILURE_WINDOW_SECONDS)
    )
    secure: bool = False


SIGN_IN = web.AppKey("sign_in", SignInGuard)
SESSIONS = web.AppKey("sessions", SignIn)

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


def credential(request: web.Request) -> bytes:
    """The hash of what a request that passed `require` signed in with (its token or its
    session's key): long streams end when it stops being valid."""
    return request[_CREDENTIAL_KEY]


def current(request: web.Request) -> Staff:
    """The signed-in person of a request that passed `require`."""
    return request[_STAFF_KEY]


def session_of(request: web.Request) -> Session | None:
    """The session a request that passed `require` came with; None for a bearer token."""
    return request.get(_SESSION_KEY)


def cookie_name(request: web.Request) -> str:
    return SECURE_COOKIE if _guard(request).secure or request.secure else COOKIE


def session_key(request: web.Request) -> str | None:
    return request.cookies.get(SECURE_COOKIE) or request.cookies.get(COOKIE)


async def _authenticate(request: web.Request) -> Staff:
    if "Authorization" in request.headers:
        return await _bearer(request)
    key = session_key(request)
    if key is None:
        raise unauthorized("sign in: on the sign-in page, or with 'Authorization: Bearer <token>'")
    session = await request.config_dict[SESSIONS].session(key)
    if session is None:
        raise unauthorized("your session has ended: sign in again")
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), session.csrf.encode()):
            raise ApiError(403, "csrf_failed", f"a change needs the session's {CSRF_HEADER} header")
    request[_SESSION_KEY] = session
    request[_CREDENTIAL_KEY] = sessions.hash_key(key)
    return session.person


async def _bearer(request: web.Request) -> Staff:
    scheme, _, token = request.headers["Authorization"].partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise unauthorized("sign in: send 'Authorization: Bearer <token>'")
    token = token.strip()
    # Tokens are ASCII; a header of other bytes arrives with surrogates that cannot be hashed.
    now = request.config_dict[CLOCK].now()
    person = await staff.by_token(request.app[POOL], token, now=now) if token.isascii() else None
    if person is not None:
        # A good token always passes: behind a proxy not named in daemon.trusted_proxies all
        # clients share one address, and a stranger's failures must not lock staff out.
        request[_CREDENTIAL_KEY] = staff.hash_token(token)
        return person
    guard = _guard(request)
    if not guard.failures.allow(guard.gate.client(request)):
        error = ApiError(429, "too_many_failures", "too many unknown tokens from here; wait")
        error.headers["Retry-After"] = str(int(FAILURE_WINDOW_SECONDS))
        raise error
    raise unauthorized("the token is not valid, has expired, or its owner is disabled")


def _guard(request: web.Request) -> SignInGuard:
    return request.config_dict.get(SIGN_IN) or SignInGuard()


def unauthorized(message: str) -> ApiError:
    error = ApiError(401, "unauthorized", message)
    error.headers["WWW-Authenticate"] = 'Bearer realm="contactd"'
    return error
