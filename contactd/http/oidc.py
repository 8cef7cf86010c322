"""Single sign-on with the agency's OpenID provider: OpenID Connect's authorization code flow
with PKCE (S256), state and nonce, ending in the same session cookie as a token sign-in.

    GET /auth/oidc/start?next=/desk   to the provider's sign-in page
    GET /auth/oidc/callback           back from it: code -> tokens -> person -> session

What a sign-in in progress must remember (its state, nonce, PKCE verifier and the page to
return to) travels in a short-lived cookie (HttpOnly, SameSite=Lax, 10 minutes by the daemon's
clock), HMAC-signed with a key every instance shares (in the database's signing_keys), so a
sign-in started on one instance may finish on another behind the load balancer. The cookie
also ties the callback to the browser that started it: a callback URL sent to someone else
finds no matching state in their browser and is refused (no signing in as another).

Every refusal answers a small page in Danish and English and is logged with a stable reason
and at most the login: never a code, a token or a claim."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import html
import json
import re
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import structlog
from aiohttp import web

from contactd.http import auth, oidc_client, pages, session
from contactd.http.appkeys import CLOCK
from contactd.http.errors import ApiError
from contactd.http.oidc_client import Provider as Provider  # contactd/app.py makes it
from contactd.services.sessions import SignInFailed
from contactd.settings.auth import OidcConfig
from contactd.store.staff import Role, StaffError

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()

SIGN_IN_LASTS = timedelta(minutes=10)  # from the start to the callback, by the daemon's clock
COOKIE = "contactd_oidc"
SECURE_COOKIE = "__Host-contactd_oidc"
# Several roles at the provider: the highest counts.
RANKS = (Role.ADMIN, Role.SUPERVISOR, Role.FRONTDESK, Role.AGENT)
# A same-origin path (and query) to return to: "/" then no second "/" or "\" (either makes
# a browser go to another host), printable ASCII only.
NEXT = re.compile(r"^/(?![/\\])[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]{0,500}$")
_LOGIN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")  # the staff table's CHECK


@dataclasses.dataclass(frozen=True, kw_only=True)
class Person:
    """Who the provider vouched for, as contactd will know them."""

    subject: str
    login: str
    name: str
    role: Role


PROVIDER = web.AppKey("oidc_provider", Provider)  # absent when [auth.oidc] is not set


# The sign-in in progress: a signed cookie.


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def seal(pending: oidc_client.Pending, key: bytes) -> str:
    body = _b64(json.dumps(dataclasses.asdict(pending), separators=(",", ":")).encode())
    return body + "." + _b64(hmac.digest(key, body.encode(), hashlib.sha256))


def unseal(value: str, key: bytes, *, now: datetime) -> oidc_client.Pending | None:
    """The pending sign-in of a cookie this daemon signed and that has not expired, or None."""
    body, _, signature = value.partition(".")
    try:
        good = hmac.compare_digest(
            _unb64(signature), hmac.digest(key, body.encode(), hashlib.sha256)
        )
        pending = oidc_client.Pending(**json.loads(_unb64(body))) if good else None
    except (ValueError, TypeError, UnicodeError):
        return None
    if pending is None or pending.expires <= now.timestamp():
        return None
    return pending


def _cookie_name(request: web.Request) -> str:
    return SECURE_COOKIE if auth.cookie_name(request) == auth.SECURE_COOKIE else COOKIE


# Who the claims name.


def claim(claims: Mapping[str, Any], name: str) -> Any:
    """A claim by name, or by a dotted path into nested claims (Keycloak's
    "realm_access.roles") when no claim has the whole name."""
    if name in claims:
        return claims[name]
    found: Any = claims
    for part in name.split("."):
        if not isinstance(found, Mapping) or part not in found:
            return None
        found = found[part]
    return found


def role_of(value: object, roles: Mapping[str, str]) -> Role | None:
    """The highest of contactd's roles that the provider's role values map to; None if
    none does."""
    values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    mapped = {Role(roles[v]) for v in values if isinstance(v, str) and v in roles}
    return next((r for r in RANKS if r in mapped), None)


def login_of(value: object) -> str | None:
    """The login here for the provider's login claim: lower-cased, an e-mail address or UPN
    (ada@agency.dk) by its part before the @; None if that is not a login contactd allows."""
    if not isinstance(value, str):
        return None
    login = value.strip().lower().split("@", 1)[0]
    return login if _LOGIN.fullmatch(login) else None


def person_of(claims: Mapping[str, Any], config: OidcConfig, back: str) -> Person:
    login = login_of(claim(claims, config.login_claim))
    if login is None:
        raise oidc_client.Refused(oidc_client.NO_LOGIN, back=back)
    role = role_of(claim(claims, config.role_claim), config.roles)
    if role is None:
        raise oidc_client.Refused(oidc_client.NO_ROLE, back=back, login=login)
    name = claim(claims, config.name_claim)
    name = name.strip()[:200] if isinstance(name, str) and name.strip() else login
    return Person(subject=str(claims["sub"]), login=login, name=name, role=role)


# The routes.


def _provider(request: web.Request) -> Provider:
    provider = request.app.get(PROVIDER)
    if provider is None:
        raise ApiError(404, "not_found", "single sign-on is not configured here")
    return provider


@routes.get("/auth/oidc/start")
async def start(request: web.Request) -> web.StreamResponse:
    """To the provider's sign-in page, remembering the sign-in in a signed cookie."""
    provider = _provider(request)
    try:
        next_page = request.query.get("next", oidc_client.DEFAULT_NEXT)
        if not NEXT.fullmatch(next_page):
            raise oidc_client.Refused(oidc_client.BAD_NEXT)
        document = await provider.discovery()
        now = request.app[CLOCK].now()
        pending = oidc_client.Pending(
            state=secrets.token_urlsafe(32),
            nonce=secrets.token_urlsafe(32),
            verifier=secrets.token_urlsafe(48),  # 64 characters (RFC 7636: 43 to 128)
            next=next_page,
            redirect_uri=provider.redirect_uri(request),
            expires=int((now + SIGN_IN_LASTS).timestamp()),
        )
        key = await provider.hmac_key(request)
    except oidc_client.Refused as refused:
        return _refused(refused)
    response = _redirect(provider.authorization_url(document, pending))
    secure = _cookie_name(request) == SECURE_COOKIE
    response.set_cookie(
        _cookie_name(request),
        seal(pending, key),
        max_age=int(SIGN_IN_LASTS.total_seconds()),
        path="/",
        httponly=True,
        secure=secure,
        samesite="Lax",
    )
    return response


@routes.get(oidc_client.CALLBACK)
async def callback(request: web.Request) -> web.StreamResponse:
    """Back from the provider: check the state, exchange the code, check the ID token, find
    or make the person, and start their session."""
    provider = _provider(request)
    try:
        pending = await _pending(request, provider)
        if "error" in request.query:  # the person cancelled, or the provider would not
            raise oidc_client.Refused(
                oidc_client.PROVIDER_REFUSED,
                back=pending.next,
                error=oidc_client.code_word(request.query["error"]),
            )
        code = request.query.get("code", "")
        if not code or len(code) > 2000:
            raise oidc_client.Refused(oidc_client.CODE_REFUSED, back=pending.next, error="no code")
        tokens = await provider.exchange(code, pending)
        claims = await provider.id_token_claims(tokens, pending)
        if not _has_person(claims, provider.config) and isinstance(tokens.get("access_token"), str):
            userinfo = await provider.userinfo(tokens["access_token"], claims["sub"], pending.next)
            claims = {**userinfo, **claims}
        person = person_of(claims, provider.config, pending.next)
        try:
            started = await request.app[auth.SESSIONS].by_provider(
                subject=person.subject, login=person.login, name=person.name, role=person.role
            )
        except (StaffError, SignInFailed):
            raise oidc_client.Refused(
                oidc_client.LOGIN_REFUSED, back=pending.next, login=person.login
            ) from None
    except oidc_client.Refused as refused:
        response = _refused(refused)
        response.del_cookie(_cookie_name(request), path="/")
        return response
    response = _redirect(pending.next)
    response.del_cookie(_cookie_name(request), path="/")
    session.set_cookie(request, response, started.key, started.session)
    return response


async def _pending(request: web.Request, provider: Provider) -> oidc_client.Pending:
    value = request.cookies.get(_cookie_name(request))
    if value is None:
        raise oidc_client.Refused(oidc_client.NOT_STARTED, why="no cookie")
    now = request.app[CLOCK].now()
    pending = unseal(value, await provider.hmac_key(request), now=now)
    if pending is None:
        raise oidc_client.Refused(oidc_client.NOT_STARTED, why="cookie not ours or expired")
    state = request.query.get("state", "")
    if not hmac.compare_digest(state.encode(), pending.state.encode()):
        raise oidc_client.Refused(oidc_client.NOT_STARTED, back=pending.next, why="state differs")
    return pending


def _redirect(location: str) -> web.Response:
    return web.Response(status=302, headers={"Location": location, "Cache-Control": "no-store"})


def _has_person(claims: Mapping[str, Any], config: OidcConfig) -> bool:
    return all(claim(claims, c) is not None for c in (config.login_claim, config.role_claim))


def _refused(refused: oidc_client.Refused) -> web.Response:
    reason = refused.reason
    log.warning("oidc.sign_in_refused", reason=reason.code, **refused.context)
    back = html.escape(refused.back)
    page = f"""<!doctype html>
<html lang="da">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Log ind mislykkedes · Sign-in failed</title>
<link rel="stylesheet" href="/static/desk.css">
</head>
<body>
<main>
<h1>Log ind mislykkedes</h1>
<p id="reason" role="alert">{html.escape(reason.da)}</p>
<p><a href="{back}">Tilbage til log ind</a></p>
<div lang="en">
<h2>Sign-in failed</h2>
<p id="reason-en">{html.escape(reason.en)}</p>
<p><a href="{back}">Back to sign-in</a></p>
</div>
</main>
</body>
</html>
"""
    return web.Response(
        status=reason.status,
        text=page,
        content_type="text/html",
        headers={**pages.SECURITY_HEADERS, "Cache-Control": "no-store"},
    )
