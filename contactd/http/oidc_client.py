"""The agency's OpenID provider as contactd's client (contactd/http/oidc.py has the routes):
its discovery document and keys, the code exchange with the PKCE verifier, the ID token's
checks by the daemon's clock, the userinfo endpoint, and why a sign-in is refused."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pydantic
import structlog
from aiohttp import web
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from pydantic import BaseModel, ConfigDict, Field

from contactd.http.appkeys import POOL
from contactd.services import surveys
from contactd.settings.auth import OidcConfig

log = structlog.get_logger(__name__)

CALLBACK = "/auth/oidc/callback"
DEFAULT_NEXT = "/desk"

KEY_NAME = "oidc-sign-in"  # the shared HMAC key's name in signing_keys
DISCOVERY_LASTS = timedelta(hours=1)  # the discovery document and keys, cached this long
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=10)
LEEWAY_SECONDS = 60  # the provider's clock and ours may differ this much (exp, iat)
# Asymmetric signatures only: never "none", never HMAC with the client's secret.
ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)


@dataclasses.dataclass(frozen=True)
class Reason:
    """Why a single sign-on was refused: a stable code for the log, the answer's status, and
    what the person is told."""

    code: str
    status: int
    da: str
    en: str


BAD_NEXT = Reason(
    "bad_next", 400,
    "Adressen at vende tilbage til er ikke en side her.",
    "The address to return to is not a page of this site.",
)  # fmt: skip
UNREACHABLE = Reason(
    "provider_unreachable", 502,
    "Log-ind-tjenesten svarer ikke lige nu. Prøv igen om lidt.",
    "The sign-in service does not answer just now. Try again in a moment.",
)  # fmt: skip
NOT_STARTED = Reason(
    "state_mismatch", 400,
    "Log-ind blev ikke startet her, eller det tog mere end 10 minutter. Start forfra.",
    "The sign-in was not started here, or it took more than 10 minutes. Start again.",
)  # fmt: skip
PROVIDER_REFUSED = Reason(
    "provider_refused", 401,
    "Log-ind-tjenesten loggede dig ikke ind.",
    "The sign-in service did not sign you in.",
)  # fmt: skip
CODE_REFUSED = Reason(
    "code_refused", 401,
    "Log-ind-tjenesten godkendte ikke dette log-ind (det er måske brugt før). Start forfra.",
    "The sign-in service did not accept this sign-in (it may have been used before). "
    "Start again.",
)  # fmt: skip
BAD_TOKEN = Reason(
    "bad_token", 401,
    "Svaret fra log-ind-tjenesten kunne ikke godkendes (forkert udsteder, modtager, signatur "
    "eller tid). Start forfra, eller kontakt it-afdelingen.",
    "The sign-in service's answer could not be verified (wrong issuer, audience, signature "
    "or time). Start again, or contact IT.",
)  # fmt: skip
NO_LOGIN = Reason(
    "no_login", 403,
    "Log-ind-tjenesten oplyste ikke et brugernavn, der kan bruges her.",
    "The sign-in service gave no login that can be used here.",
)  # fmt: skip
NO_ROLE = Reason(
    "no_role", 403,
    "Du har ingen rolle i kontaktcentret. Bed din leder om adgang.",
    "You have no role in the contact centre. Ask your manager for access.",
)  # fmt: skip
LOGIN_REFUSED = Reason(
    "login_refused", 403,
    "Dit brugernavn kan ikke logge ind her (spærret, eller brugt af en anden). Kontakt en "
    "administrator.",
    "Your login cannot sign in here (disabled, or someone else's). Contact an administrator.",
)  # fmt: skip


class Refused(Exception):
    def __init__(self, reason: Reason, *, back: str = DEFAULT_NEXT, **context: str) -> None:
        super().__init__(reason.code)
        self.reason = reason
        self.back = back
        self.context = context


class Discovery(BaseModel):
    """The part of the provider's discovery document we use (OpenID Connect Discovery 1.0)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    issuer: str
    authorization_endpoint: str = Field(pattern=r"^https?://")
    token_endpoint: str = Field(pattern=r"^https?://")
    jwks_uri: str = Field(pattern=r"^https?://")
    userinfo_endpoint: str | None = Field(default=None, pattern=r"^https?://")
    id_token_signing_alg_values_supported: list[str] = Field(default_factory=lambda: ["RS256"])
    token_endpoint_auth_methods_supported: list[str] = Field(
        default_factory=lambda: ["client_secret_basic"]
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class Pending:
    """A sign-in between its start and its callback (the signed cookie's content)."""

    state: str
    nonce: str
    verifier: str
    next: str
    redirect_uri: str
    expires: int  # the daemon's clock, seconds since the epoch


class Provider:
    """The agency's OpenID provider as this daemon's client: its discovery document and keys
    (cached), the code exchange, the ID token's checks and the userinfo endpoint. A new HTTP
    session per call: sign-ins are few, and nothing is left open between them."""

    def __init__(
        self,
        config: OidcConfig,
        *,
        client_secret: str | None,
        public_url: str | None,
        clock: Callable[[], datetime],
    ) -> None:
        self.config = config
        self._secret = client_secret
        self._public_url = public_url.rstrip("/") if public_url else None
        self._clock = clock
        self._discovery: tuple[Discovery, datetime] | None = None
        self._keys: tuple[KeySet, datetime] | None = None
        self._hmac_key: bytes | None = None

    def redirect_uri(self, request: web.Request) -> str:
        origin = self._public_url or f"{request.scheme}://{request.host}"
        return origin + CALLBACK

    async def hmac_key(self, request: web.Request) -> bytes:
        if self._hmac_key is None:
            pool = request.app[POOL]
            self._hmac_key = await surveys.signing_key(pool, now=self._clock(), name=KEY_NAME)
        return self._hmac_key

    async def discovery(self) -> Discovery:
        now = self._clock()
        if self._discovery is not None and self._discovery[1] > now:
            return self._discovery[0]
        issuer = self.config.issuer.rstrip("/")
        found = await _get_json(f"{issuer}/.well-known/openid-configuration")
        try:
            document = Discovery.model_validate(found)
        except pydantic.ValidationError:
            log.warning("oidc.discovery_invalid")
            raise Refused(UNREACHABLE) from None
        if document.issuer != self.config.issuer:
            # OpenID Connect Discovery 4.3: the document must name the issuer we asked.
            log.warning("oidc.discovery_issuer_differs")
            raise Refused(UNREACHABLE)
        self._discovery = (document, now + DISCOVERY_LASTS)
        return document

    async def keys(self, *, fresh: bool = False) -> KeySet:
        now = self._clock()
        if not fresh and self._keys is not None and self._keys[1] > now:
            return self._keys[0]
        found = await _get_json((await self.discovery()).jwks_uri)
        try:
            keys = KeySet.import_key_set(found)
        except (JoseError, ValueError, TypeError, KeyError):
            log.warning("oidc.jwks_invalid")
            raise Refused(UNREACHABLE) from None
        self._keys = (keys, now + DISCOVERY_LASTS)
        return keys

    def authorization_url(self, document: Discovery, pending: Pending) -> str:
        query = {
            "response_type": "code",
            "client_id": self.config.client_id,
            "redirect_uri": pending.redirect_uri,
            "scope": " ".join(self.config.scopes),
            "state": pending.state,
            "nonce": pending.nonce,
            "code_challenge": create_s256_code_challenge(pending.verifier),
            "code_challenge_method": "S256",
        }
        separator = "&" if "?" in document.authorization_endpoint else "?"
        return document.authorization_endpoint + separator + urlencode(query)

    async def exchange(self, code: str, pending: Pending) -> dict[str, Any]:
        """The code and verifier for the tokens: a 4xx (a code used before, expired, or not
        this client's) refuses the sign-in."""
        document = await self.discovery()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": pending.redirect_uri,
            "code_verifier": pending.verifier,
            "client_id": self.config.client_id,
        }
        basic = None
        if self._secret is not None:
            methods = document.token_endpoint_auth_methods_supported
            if "client_secret_basic" in methods or "client_secret_post" not in methods:
                basic = aiohttp.BasicAuth(
                    _form_quote(self.config.client_id), _form_quote(self._secret)
                )
            else:
                form["client_secret"] = self._secret
        try:
            async with (
                aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as http,
                http.post(document.token_endpoint, data=form, auth=basic) as response,
            ):
                status = response.status
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError):
            log.warning("oidc.token_endpoint_unreachable")
            raise Refused(UNREACHABLE, back=pending.next) from None
        if 400 <= status < 500:
            error = body.get("error") if isinstance(body, dict) else None
            raise Refused(CODE_REFUSED, back=pending.next, error=code_word(error))
        if status != 200 or not isinstance(body, dict) or not isinstance(body.get("id_token"), str):
            log.warning("oidc.token_endpoint_failed", status=status)
            raise Refused(UNREACHABLE, back=pending.next)
        return body

    async def id_token_claims(self, tokens: Mapping[str, Any], pending: Pending) -> dict[str, Any]:
        """The ID token's claims, once its signature (the provider's keys), issuer, audience,
        times (the daemon's clock) and nonce have been checked."""
        document = await self.discovery()
        allowed = ALGORITHMS & set(document.id_token_signing_alg_values_supported)
        if not allowed:
            raise Refused(BAD_TOKEN, back=pending.next, why="no algorithm we accept")
        id_token, access_token = tokens["id_token"], tokens.get("access_token")
        try:
            token = jwt.decode(id_token, await self.keys(), algorithms=sorted(allowed))
        except (JoseError, ValueError):
            try:  # the provider may have rolled its keys since we fetched them
                token = jwt.decode(
                    id_token, await self.keys(fresh=True), algorithms=sorted(allowed)
                )
            except (JoseError, ValueError) as exc:
                raise Refused(BAD_TOKEN, back=pending.next, why=type(exc).__name__) from None
        claims = CodeIDToken(
            token.claims,
            token.header,
            options={
                "iss": {"essential": True, "value": self.config.issuer},
                "aud": {"essential": True, "value": self.config.client_id},
            },
            params={
                "nonce": pending.nonce,
                "client_id": self.config.client_id,
                "access_token": access_token if isinstance(access_token, str) else None,
            },
        )
        try:
            claims.validate(now=int(self._clock().timestamp()), leeway=LEEWAY_SECONDS)
        except (JoseError, ValueError, TypeError) as exc:
            raise Refused(BAD_TOKEN, back=pending.next, why=type(exc).__name__) from None
        return dict(token.claims)

    async def userinfo(self, access_token: str, subject: str, back: str) -> dict[str, Any]:
        """The claims of the userinfo endpoint, which must be of the ID token's subject."""
        document = await self.discovery()
        if document.userinfo_endpoint is None:
            return {}
        found = await _get_json(
            document.userinfo_endpoint, headers={"Authorization": f"Bearer {access_token}"}
        )
        if not isinstance(found, dict) or found.get("sub") != subject:
            raise Refused(BAD_TOKEN, back=back, why="userinfo of another subject")
        return found


async def _get_json(url: str, headers: Mapping[str, str] | None = None) -> Any:
    try:
        async with (
            aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as http,
            http.get(url, headers=headers) as response,
        ):
            response.raise_for_status()
            return await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        log.warning("oidc.provider_unreachable", url=url, error=type(exc).__name__)
        raise Refused(UNREACHABLE) from None


def _form_quote(value: str) -> str:
    """RFC 6749 2.3.1: the client's id and secret are form-encoded before HTTP Basic."""
    return urlencode({"": value})[1:]


def code_word(value: object) -> str:
    """An error code from the provider, if it is one (never free text into the log)."""
    return value if isinstance(value, str) and re.fullmatch(r"[a-z_]{1,40}", value) else "?"
