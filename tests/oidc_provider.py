"""A real OpenID provider for the single sign-on tests: the certified `oidc-provider` npm
package (scripts/bootstrap --dev installs it, pinned, into .oidc/), run by `node` from
tests/oidc/provider.mjs on a free 127.0.0.1 port, and the daemon configured to sign in with
it. Both stop when the test ends."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from contactd import settings
from contactd.app import create_app
from contactd.clock import Clock
from tests.conftest import ROOT

PACKAGE = ROOT / ".oidc" / "node_modules" / "oidc-provider"
SCRIPT = ROOT / "tests" / "oidc" / "provider.mjs"
CLIENT_ID = "contactd-desk"
LABEL = "Log ind med Agency-ID"
# The accounts at the provider, by what is typed into its login form.
ACCOUNTS: dict[str, dict[str, Any]] = {
    # Two roles that map: the highest counts.
    "sofie": {
        "preferred_username": "sofie",
        "name": "Sofie Supervisor",
        "roles": ["contactd-agents", "contactd-supervisors"],
    },
    "ada": {"preferred_username": "Ada@Agency.example", "name": "Ada Admin", "roles": "it-admins"},
    # Roles the agency has, none of them mapped to one of contactd's.
    "ulla": {"preferred_username": "ulla", "name": "Ulla Udenfor", "roles": ["payroll"]},
}
# The provider's role values -> contactd's roles: [auth.oidc] roles.
ROLES = {
    "contactd-agents": "agent",
    "contactd-supervisors": "supervisor",
    "it-admins": "admin",
}

Client = TestClient[web.Request, web.Application]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclasses.dataclass(frozen=True, kw_only=True)
class OpenIdProvider:
    issuer: str
    client_id: str


def _require_node() -> str:
    node = shutil.which("node")
    if node is None or not PACKAGE.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("node or oidc-provider is missing; scripts/bootstrap --dev installs them")
        pytest.skip("node or oidc-provider is not installed (scripts/bootstrap --dev)")
    return node


@contextlib.contextmanager
def provider(
    redirect_uris: list[str],
    *,
    client_secret: str | None = None,
    claims_in_id_token: bool = False,
    accounts: Mapping[str, Mapping[str, Any]] = ACCOUNTS,
) -> Iterator[OpenIdProvider]:
    """oidc-provider with one client (PKCE required; a secret, or a public client) that may
    return to `redirect_uris`, and `accounts`."""
    node = _require_node()
    port = free_port()
    client: dict[str, Any] = {"client_id": CLIENT_ID, "redirect_uris": redirect_uris}
    if client_secret is not None:
        client["client_secret"] = client_secret
    config = {
        "port": port,
        "clients": [client],
        "accounts": accounts,
        "claims_in_id_token": claims_in_id_token,
    }
    process = subprocess.Popen(
        [node, str(SCRIPT), json.dumps(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # its warnings about development-only settings
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        assert process.stdout is not None
        line = process.stdout.readline()  # "listening <issuer>", or "" if it died
        if not line.startswith("listening ") or time.monotonic() > deadline:
            pytest.fail(f"oidc-provider did not start: {line!r}")
        yield OpenIdProvider(issuer=line.split()[1], client_id=CLIENT_ID)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def oidc_environ(issuer: str, **more: str) -> dict[str, str]:
    """The environment that configures [auth.oidc] for `issuer`."""
    roles = ", ".join(f'"{k}" = "{v}"' for k, v in ROLES.items())
    table = (
        f'{{ issuer = "{issuer}", client_id = "{CLIENT_ID}", label = "{LABEL}", '
        f"roles = {{ {roles} }} }}"
    )
    return {"CONTACTD_AUTH__OIDC": table, **more}


@contextlib.asynccontextmanager
async def daemon(
    db_url: str, clock: Clock, *, port: int, issuer: str, environ: Mapping[str, str] = {}
) -> AsyncIterator[Client]:
    """The daemon on 127.0.0.1:`port` (the port the provider lets it return to), on `clock`,
    signing in with the provider at `issuer`."""
    config = settings.load(
        ROOT / "config" / "contactd.toml",
        environ={
            "CONTACTD_DATABASE_URL": db_url,
            "CONTACTD_CLASSIFIER__ENABLED": "false",
            **oidc_environ(issuer),
            **environ,
        },
    )
    server = TestServer(create_app(config, clock=clock), host="127.0.0.1", port=port)
    async with TestClient(server) as client:
        yield client


@dataclasses.dataclass(frozen=True, kw_only=True)
class SignOn:
    """The daemon and the provider it signs in with."""

    client: Client
    provider: OpenIdProvider

    def url(self, path: str) -> str:
        return str(self.client.make_url(path))


@contextlib.asynccontextmanager
async def sign_on(
    db_url: str, clock: Clock, *, claims_in_id_token: bool = False
) -> AsyncIterator[SignOn]:
    """A provider and a daemon that signs in with it, on a port chosen for both."""
    port = free_port()
    callback = f"http://127.0.0.1:{port}/auth/oidc/callback"
    with provider([callback], claims_in_id_token=claims_in_id_token) as found:
        async with daemon(db_url, clock, port=port, issuer=found.issuer) as client:
            yield SignOn(client=client, provider=found)
