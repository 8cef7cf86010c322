"""Signing in and out: a personal token exchanged once for a session cookie, the session the
pages ask about, sign-out here or everywhere, and administrators' view of live sessions.

Signing in is a public door: a JSON body (no cross-site form can post it), an Origin of our
own, a limit per client address (per instance) and per login (all instances)."""

from __future__ import annotations

from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from contactd.http import auth
from contactd.http.appkeys import CLOCK
from contactd.http.errors import ApiError, no_body, read_body
from contactd.services.sessions import AccountLocked, SignIn, SignInFailed, Started
from contactd.settings import AuthConfig
from contactd.store.sessions import Session
from contactd.store.staff import Role

routes = web.RouteTableDef()
AUTH_CONFIG = web.AppKey("auth_config", AuthConfig)
ALL_ROLES = (Role.AGENT, Role.FRONTDESK, Role.SUPERVISOR)


class SignInBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    login: Annotated[str, Field(min_length=1, max_length=63)]
    token: Annotated[str, Field(min_length=1, max_length=200)]


def sign_in(request: web.Request) -> SignIn:
    return request.app[auth.SESSIONS]


@routes.get("/api/session/ways")
async def ways(request: web.Request) -> web.Response:
    """How staff may sign in here: for the sign-in page."""
    config = request.app[AUTH_CONFIG]
    oidc = {"label": config.oidc.label, "start": "/auth/oidc/start"} if config.oidc else None
    return web.json_response({"token": config.token_sign_in, "oidc": oidc})


@routes.post("/api/session")
async def start(request: web.Request) -> web.Response:
    """Exchange a login and personal token for a session cookie."""
    guard = request.app[auth.SIGN_IN]
    guard.gate.check_post(request)
    body = await read_body(request, SignInBody)
    client = guard.gate.client(request)
    if guard.failures.exhausted(client):
        raise _wait("too many failed sign-ins from here; wait", auth.FAILURE_WINDOW_SECONDS)
    try:
        started = await sign_in(request).with_token(body.login.lower(), body.token.strip())
    except AccountLocked as exc:
        seconds = (exc.until - request.app[CLOCK].now()).total_seconds()
        raise _wait(exc.message, seconds) from None
    except SignInFailed:
        guard.failures.allow(client)  # counted against the address too
        raise
    return started_response(request, started, status=201)


def started_response(request: web.Request, started: Started, *, status: int) -> web.Response:
    """The session's JSON, with its cookie set: HttpOnly (no script reads it), SameSite=Lax
    (no other site's post carries it), Secure behind HTTPS, for the session's whole life."""
    response = web.json_response(session_json(started.session), status=status)
    set_cookie(request, response, started.key, started.session)
    return response


def set_cookie(request: web.Request, response: web.StreamResponse, key: str, s: Session) -> None:
    secure = auth.cookie_name(request) == auth.SECURE_COOKIE
    response.set_cookie(
        auth.cookie_name(request),
        key,
        max_age=int((s.expires_at - s.created_at).total_seconds()),
        path="/",
        httponly=True,
        secure=secure,
        samesite="Lax",
    )


@routes.get("/api/session")
@auth.require(*ALL_ROLES)
async def current(request: web.Request) -> web.Response:
    """Who is signed in, and the CSRF token the page sends with every change."""
    session = auth.session_of(request)
    if session is None:  # a bearer token: no session, no CSRF token needed
        person = auth.current(request)
        return web.json_response({"via": "bearer", "login": person.login, "role": person.role})
    return web.json_response(session_json(session))


@routes.delete("/api/session")
@auth.require(*ALL_ROLES)
async def sign_out(request: web.Request) -> web.Response:
    """Sign out here: the session ends and its cookie is removed."""
    await no_body(request)
    return await _signed_out(request, everywhere=False)


@routes.post("/api/session/everywhere")
@auth.require(*ALL_ROLES)
async def sign_out_everywhere(request: web.Request) -> web.Response:
    """Sign out on every browser and device: all of one's sessions end."""
    await no_body(request)
    return await _signed_out(request, everywhere=True)


async def _signed_out(request: web.Request, *, everywhere: bool) -> web.Response:
    session = auth.session_of(request)
    if session is None:
        raise ApiError(409, "no_session", "signed in with a token, not a session")
    ended = await sign_in(request).sign_out(session, everywhere=everywhere)
    response = web.json_response({"ended": ended})
    response.del_cookie(auth.cookie_name(request), path="/")
    return response


@routes.get("/api/sessions")
@auth.require(Role.ADMIN)
async def live_sessions(request: web.Request) -> web.Response:
    """Every live session: whose, how signed in, since when, last seen."""
    found = await sign_in(request).live()
    return web.json_response(
        {
            "sessions": [
                {
                    "id": s.id,
                    "login": s.login,
                    "name": s.name,
                    "role": s.role,
                    "via": s.via,
                    "created_at": s.created_at.isoformat(),
                    "last_seen_at": s.last_seen_at.isoformat(),
                    "expires_at": s.expires_at.isoformat(),
                }
                for s in found
            ]
        }
    )


@routes.delete("/api/sessions/{id:[0-9]{1,18}}")
@auth.require(Role.ADMIN)
async def end_session(request: web.Request) -> web.Response:
    """End someone's session (a lost laptop, a kiosk left signed in)."""
    await no_body(request)
    await sign_in(request).end(int(request.match_info["id"]), by=auth.current(request))
    return web.json_response({"ended": 1})


def session_json(s: Session) -> dict[str, Any]:
    return {
        "via": s.via,
        "login": s.person.login,
        "name": s.person.name,
        "role": s.person.role,
        "csrf": s.csrf,
        "created_at": s.created_at.isoformat(),
        "expires_at": s.expires_at.isoformat(),
    }


def _wait(message: str, seconds: float) -> ApiError:
    error = ApiError(429, "too_many_failures", message)
    error.headers["Retry-After"] = str(max(1, int(seconds)))
    return error
