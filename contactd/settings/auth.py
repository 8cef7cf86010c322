"""`[auth]`: how staff sign in (a personal token exchanged once for a session, or the agency's
OpenID provider), how long a session and a token last, and when failed sign-ins are refused."""

from __future__ import annotations

from typing import Annotated, Literal

import pydantic
from pydantic import Field

from contactd.settings.sections import StrictSection

# contactd's roles (contactd.store.staff.Role, which settings may not import).
RoleName = Literal["agent", "frontdesk", "supervisor", "admin"]


class OidcConfig(StrictSection):
    # The provider's issuer: its discovery document is <issuer>/.well-known/openid-configuration.
    issuer: Annotated[str, Field(pattern=r"^https?://[^\s]+$", max_length=500)]
    client_id: Annotated[str, Field(min_length=1, max_length=200)]
    # The button on the sign-in page ("Entra ID", "Keycloak", "Log ind med MitID Erhverv").
    label: Annotated[str, Field(min_length=1, max_length=60)] = "Single sign-on"
    scopes: list[Annotated[str, Field(pattern=r"^[\x21\x23-\x5b\x5d-\x7e]{1,100}$")]] = Field(
        default_factory=lambda: ["openid", "profile"]
    )
    # The claims that name the person: their login here, their name, and their roles (a
    # string or a list of strings, mapped to contactd's roles by `roles`).
    login_claim: Annotated[str, Field(min_length=1, max_length=100)] = "preferred_username"
    name_claim: Annotated[str, Field(min_length=1, max_length=100)] = "name"
    role_claim: Annotated[str, Field(min_length=1, max_length=100)] = "roles"
    # The provider's role or group value -> contactd's role. A person with none of these is
    # refused; with several, the highest (admin > supervisor > frontdesk > agent) counts.
    roles: dict[Annotated[str, Field(min_length=1, max_length=200)], RoleName] = Field(min_length=1)

    @pydantic.field_validator("scopes")
    @classmethod
    def _openid_scope(cls, scopes: list[str]) -> list[str]:
        if "openid" not in scopes:
            raise ValueError("must include 'openid'")
        return scopes


class AuthConfig(StrictSection):
    # Staff may exchange their personal token for a session on the sign-in page. Switch it
    # off where everyone signs in with the OpenID provider (API tokens still work for scripts).
    token_sign_in: bool = True
    # A session ends after this long without a request ...
    session_idle_minutes: Annotated[int, Field(ge=5, le=1440)] = 60
    # ... and at the latest this long after sign-in (a working day and some).
    session_hours: Annotated[int, Field(ge=1, le=168)] = 12
    # A personal token issued now works for this many days (rotate it before then).
    token_days: Annotated[int, Field(ge=1, le=730)] = 90
    # Failed sign-ins for one login, all instances together, before further ones for it are
    # refused until the window has passed (the per-address limit is each instance's own).
    failures_per_account: Annotated[int, Field(ge=1, le=1000)] = 10
    failures_per_address: Annotated[int, Field(ge=1, le=10_000)] = 20
    failure_window_minutes: Annotated[int, Field(ge=1, le=1440)] = 15
    oidc: OidcConfig | None = None

    @pydantic.model_validator(mode="after")
    def _a_way_in(self) -> AuthConfig:
        if not self.token_sign_in and self.oidc is None:
            raise ValueError("no way to sign in: set token_sign_in = true or configure [auth.oidc]")
        return self
