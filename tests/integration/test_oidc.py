"""Single sign-on's pieces that need no browser: the start's redirect and cookie, the
callback's refusals (state, cookie, the provider's own error), the address to return to, a
provider that does not answer, and the configuration's checks. The whole sign-in in a browser
is tests/e2e/test_single_sign_on.py."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp import ClientResponse

from contactd import settings
from contactd.clock import SimulatedClock, wall_clock
from contactd.http import oidc
from contactd.settings import ConfigError
from contactd.store.staff import Role
from tests import oidc_provider
from tests.conftest import ROOT
from tests.oidc_provider import SignOn

pytestmark = pytest.mark.integration


@pytest.fixture
async def world(db_url: str) -> AsyncIterator[SignOn]:
    # The provider stamps its tokens with the wall clock: the daemon's runs from it.
    async with oidc_provider.sign_on(db_url, SimulatedClock(wall_clock(), 1.0)) as w:
        yield w


async def _start(world: SignOn, next_page: str = "/desk") -> ClientResponse:
    return await world.client.get(
        "/auth/oidc/start", params={"next": next_page}, allow_redirects=False
    )


def _set_cookies(response: ClientResponse) -> SimpleCookie:
    cookies: SimpleCookie = SimpleCookie()
    for header in response.headers.getall("Set-Cookie", []):
        cookies.load(header)
    return cookies


async def _refusal(response: ClientResponse) -> str:
    """The refusal page's Danish reason; the page never names a token or shows a trace."""
    assert response.content_type == "text/html"
    page = await response.text()
    assert "Traceback" not in page
    assert "Sign-in failed" in page  # and in English
    found = re.search(r'<p id="reason" role="alert">([^<]*)</p>', page)
    assert found is not None, page
    return found.group(1)


async def test_the_start_sends_the_browser_to_the_provider_with_pkce_state_and_nonce(
    world: SignOn,
) -> None:
    response = await _start(world)

    assert response.status == 302
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}" == world.provider.issuer
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert query["response_type"] == "code"
    assert query["client_id"] == world.provider.client_id
    assert query["redirect_uri"] == world.url("/auth/oidc/callback")
    assert query["code_challenge_method"] == "S256"
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", query["code_challenge"])
    assert len(query["state"]) >= 32
    assert len(query["nonce"]) >= 32
    assert query["scope"] == "openid profile"
    cookie = _set_cookies(response)["contactd_oidc"]
    assert (cookie["httponly"], cookie["samesite"], cookie["max-age"]) == (True, "Lax", "600")


async def test_a_callback_with_another_state_is_refused_and_signs_no_one_in(
    world: SignOn,
) -> None:
    await _start(world)  # the browser's cookie now holds a sign-in in progress

    response = await world.client.get(
        "/auth/oidc/callback", params={"code": "anything", "state": "not-the-state"}
    )

    assert response.status == 400
    assert "Start forfra" in await _refusal(response)
    assert not any(c.startswith("contactd_session") for c in _set_cookies(response))
    assert (await world.client.get("/api/session")).status == 401


async def test_a_callback_in_a_browser_that_started_no_sign_in_is_refused(
    world: SignOn,
) -> None:
    start = await _start(world)
    state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
    world.client.session.cookie_jar.clear()  # another browser: the link was sent to someone

    response = await world.client.get(
        "/auth/oidc/callback", params={"code": "anything", "state": state}
    )

    assert response.status == 400
    assert "ikke startet her" in await _refusal(response)


async def test_a_tampered_sign_in_cookie_is_refused(world: SignOn) -> None:
    start = await _start(world)
    state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
    value = _set_cookies(start)["contactd_oidc"].value
    body, _, signature = value.partition(".")
    forged = body[:-2] + ("AA" if body[-2:] != "AA" else "BB") + "." + signature
    world.client.session.cookie_jar.clear()

    response = await world.client.get(
        "/auth/oidc/callback",
        params={"code": "x", "state": state},
        headers={"Cookie": f"contactd_oidc={forged}"},
    )

    assert response.status == 400


async def test_the_providers_own_refusal_is_told_on_the_page(world: SignOn) -> None:
    start = await _start(world)
    state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]

    response = await world.client.get(
        "/auth/oidc/callback", params={"error": "access_denied", "state": state}
    )

    assert response.status == 401
    assert await _refusal(response) == "Log-ind-tjenesten loggede dig ikke ind."


@pytest.mark.parametrize(
    "next_page",
    [
        "//evil.example/desk",
        "/\\evil.example",
        "https://evil.example/",
        "desk",
        "/desk\r\nSet-Cookie: x=1",
        "/" + "a" * 600,
    ],
)
async def test_a_next_address_off_this_site_is_refused(world: SignOn, next_page: str) -> None:
    response = await _start(world, next_page)

    assert response.status == 400
    assert "Location" not in response.headers
    assert await _refusal(response) == "Adressen at vende tilbage til er ikke en side her."
    assert "contactd_oidc" not in _set_cookies(response)


async def test_a_page_here_with_a_query_is_a_next_address(world: SignOn) -> None:
    response = await _start(world, "/console?queue=visa")

    assert response.status == 302


async def test_a_provider_that_does_not_answer_gets_a_clear_page(
    db_url: str, clock: SimulatedClock
) -> None:
    closed = f"http://127.0.0.1:{oidc_provider.free_port()}"  # nothing listens there
    port = oidc_provider.free_port()
    async with oidc_provider.daemon(db_url, clock, port=port, issuer=closed) as client:
        response = await client.get("/auth/oidc/start", allow_redirects=False)

        assert response.status == 502
        assert await _refusal(response) == (
            "Log-ind-tjenesten svarer ikke lige nu. Prøv igen om lidt."
        )


async def test_without_single_sign_on_configured_its_routes_are_not_found(
    client: oidc_provider.Client,
) -> None:
    for path in ("/auth/oidc/start", "/auth/oidc/callback"):
        response = await client.get(path, allow_redirects=False)
        assert response.status == 404
        assert (await response.json())["error"]["code"] == "not_found"


async def test_the_sign_in_page_offers_single_sign_on_with_its_label(world: SignOn) -> None:
    ways = await (await world.client.get("/api/session/ways")).json()

    assert ways["oidc"] == {"label": oidc_provider.LABEL, "start": "/auth/oidc/start"}


# The configuration.


def _load(table: str, **more: str) -> settings.Settings:
    return settings.load(
        ROOT / "config" / "contactd.toml",
        environ={"CONTACTD_DATABASE_URL": "postgresql://x@h/db", "CONTACTD_AUTH__OIDC": table}
        | more,
    )


def test_a_complete_oidc_table_loads() -> None:
    loaded = _load(
        '{ issuer = "https://login.example/realms/agency", client_id = "contactd",'
        ' role_claim = "realm_access.roles", roles = { "cc-agent" = "agent" } }'
    )

    assert loaded.auth.oidc is not None
    assert loaded.auth.oidc.scopes == ["openid", "profile"]


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ('{ issuer = "https://i.example", client_id = "c" }', "roles"),
        ('{ issuer = "https://i.example", client_id = "c", roles = {} }', "roles"),
        ('{ issuer = "ftp://i.example", client_id = "c", roles = { a = "agent" } }', "issuer"),
        ('{ issuer = "https://i.example", client_id = "c", roles = { a = "boss" } }', "roles"),
        (
            '{ issuer = "https://i.example", client_id = "c", roles = { a = "agent" },'
            ' scopes = ["profile"] }',
            "openid",
        ),
        ('{ issuer = "https://i.example", roles = { a = "agent" } }', "client_id"),
        (
            '{ issuer = "https://i.example", client_id = "c", roles = { a = "agent" },'
            " secret = 1 }",
            "secret",
        ),
    ],
)
def test_a_wrong_oidc_table_is_refused_naming_the_key(table: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        _load(table)


def test_no_way_to_sign_in_is_refused() -> None:
    with pytest.raises(ConfigError, match="no way to sign in"):
        settings.load(
            ROOT / "config" / "contactd.toml",
            environ={
                "CONTACTD_DATABASE_URL": "postgresql://x@h/db",
                "CONTACTD_AUTH__TOKEN_SIGN_IN": "false",
            },
        )


# Who the claims name (pure functions).


def test_the_highest_mapped_role_counts() -> None:
    roles = oidc_provider.ROLES
    assert oidc.role_of(["contactd-agents", "contactd-supervisors"], roles) == Role.SUPERVISOR
    assert oidc.role_of("it-admins", roles) == Role.ADMIN
    assert oidc.role_of(["payroll"], roles) is None
    assert oidc.role_of(None, roles) is None
    assert oidc.role_of([1, {"a": "b"}], roles) is None


def test_a_nested_role_claim_is_read_by_its_dotted_path() -> None:
    claims = {"realm_access": {"roles": ["contactd-agents"]}}
    assert oidc.claim(claims, "realm_access.roles") == ["contactd-agents"]
    assert oidc.claim(claims, "realm_access.groups") is None


def test_an_email_login_becomes_its_local_part_and_other_logins_are_refused() -> None:
    assert oidc.login_of("Ada@Agency.example") == "ada"
    assert oidc.login_of("karin.k") == "karin.k"
    assert oidc.login_of("Not A Login!") is None
    assert oidc.login_of(42) is None
