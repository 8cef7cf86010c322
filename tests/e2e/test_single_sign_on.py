"""Single sign-on in a real browser (Debian's chromium, driven by playwright) against a real
OpenID provider (oidc-provider, tests/oidc_provider.py): from the desk's button to the
provider's form and back, signed in with the role its claim maps to, and the refusals."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from contactd.clock import SimulatedClock, wall_clock
from contactd.http.appkeys import POOL
from contactd.store.staff import Role
from tests import oidc_provider
from tests.conftest import token_for
from tests.oidc_provider import SignOn

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def daemon_clock() -> SimulatedClock:
    """The daemon's clock: the provider stamps its tokens by the wall clock, so the daemon's
    starts there (a test that moves it makes its own)."""
    return SimulatedClock(wall_clock(), 1.0)


@pytest.fixture
async def world(db_url: str, daemon_clock: SimulatedClock) -> AsyncIterator[SignOn]:
    async with oidc_provider.sign_on(db_url, daemon_clock) as w:
        yield w


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    context = await browser.new_context(locale="da-DK")
    try:
        yield context
    finally:
        await context.close()


async def _sign_on_at_the_provider(page: Page, world: SignOn, login: str) -> None:
    """On the desk's sign-in form: the single sign-on button, then the provider's form."""
    await page.goto(world.url("/desk"))
    await page.get_by_role("button", name=oidc_provider.LABEL).click()
    await page.wait_for_url(f"{world.provider.issuer}/**")
    await page.locator("input[name=login]").fill(login)
    await page.locator("input[name=password]").fill("any password")
    await page.locator("button[type=submit]").click()


async def _known_agent(world: SignOn, login: str) -> None:
    """A person made before, with a token and an agent's role, and a profile on the desk: the
    provider's sign-in links to them by login."""
    pool = world.client.app[POOL]
    boss = await token_for(pool, "boss", Role.SUPERVISOR, now=wall_clock())
    await token_for(pool, login, Role.AGENT, now=wall_clock())
    profile = {"skills": {"family": 4}, "languages": ["da"]}
    put = await world.client.put(f"/api/agents/{login}", json=profile, headers=boss)
    assert put.status == 200, await put.text()


async def test_a_supervisor_signs_on_at_the_provider_and_lands_on_the_desk(
    world: SignOn, context: BrowserContext
) -> None:
    await _known_agent(world, "sofie")
    page = await context.new_page()

    await _sign_on_at_the_provider(page, world, "sofie")

    await page.wait_for_url(world.url("/desk"))
    await expect(page.locator("#who")).to_have_text("Sofie Supervisor")  # the name claim
    await expect(page.get_by_role("button", name="Klar")).to_be_visible()
    me = await (await page.request.get(world.url("/api/session"))).json()
    # The role from the claim: an agent here before, a supervisor at the provider now.
    assert (me["login"], me["role"], me["via"]) == ("sofie", "supervisor", "oidc")
    cookies = {c["name"]: c for c in await context.cookies(world.url("/"))}
    assert "contactd_oidc" not in cookies  # the sign-in in progress is over
    session = cookies["contactd_session"]
    assert (session["httpOnly"], session["sameSite"]) == (True, "Lax")
    assert await page.evaluate("document.cookie") == ""


async def test_an_email_login_signs_on_as_its_local_part_with_the_mapped_role(
    world: SignOn, context: BrowserContext
) -> None:
    page = await context.new_page()

    await _sign_on_at_the_provider(page, world, "ada")

    await page.wait_for_url(world.url("/desk"))  # made on first sign-in: no desk profile yet
    await expect(page.get_by_role("alert")).to_have_text(
        "you have no agent profile; ask a supervisor"
    )
    me = await (await page.request.get(world.url("/api/session"))).json()
    assert (me["login"], me["role"]) == ("ada", "admin")


async def test_an_account_whose_roles_map_to_none_is_refused_with_no_session(
    world: SignOn, context: BrowserContext
) -> None:
    page = await context.new_page()

    await _sign_on_at_the_provider(page, world, "ulla")

    await expect(page.get_by_role("alert")).to_have_text(
        "Du har ingen rolle i kontaktcentret. Bed din leder om adgang."
    )
    await expect(page.get_by_text("You have no role in the contact centre.")).to_be_visible()
    assert not [
        c for c in await context.cookies(world.url("/")) if c["name"].endswith("contactd_session")
    ]
    await page.get_by_role("link", name="Tilbage til log ind").click()
    await expect(page.get_by_role("button", name=oidc_provider.LABEL)).to_be_visible()


async def test_a_forged_state_and_a_reused_code_are_refused(
    world: SignOn, context: BrowserContext
) -> None:
    page = await context.new_page()
    callbacks: list[str] = []
    page.on(
        "request",
        lambda r: callbacks.append(r.url) if "/auth/oidc/callback" in r.url else None,
    )
    await _sign_on_at_the_provider(page, world, "sofie")
    await page.wait_for_url(world.url("/desk"))
    [used] = callbacks
    code = parse_qs(urlsplit(used).query)["code"][0]
    await context.clear_cookies()

    # A sign-in started anew; then back with a state of someone else's making.
    authorizations: list[str] = []
    page.on("request", lambda r: authorizations.append(r.url) if "/auth?" in r.url else None)
    await page.goto(world.url("/auth/oidc/start?next=/desk"))
    await page.wait_for_url(f"{world.provider.issuer}/**")
    state = parse_qs(urlsplit(authorizations[-1]).query)["state"][0]
    await page.goto(world.url(f"/auth/oidc/callback?code={code}&state=forged-{state[:8]}"))
    await expect(page.get_by_role("alert")).to_contain_text("Log-ind blev ikke startet her")

    # The right state this time, but the code the first sign-in used already.
    await page.goto(world.url("/auth/oidc/start?next=/desk"))
    await page.wait_for_url(f"{world.provider.issuer}/**")
    state = parse_qs(urlsplit(authorizations[-1]).query)["state"][0]
    await page.goto(world.url(f"/auth/oidc/callback?code={code}&state={state}"))
    await expect(page.get_by_role("alert")).to_contain_text("det er måske brugt før")
    assert not [
        c for c in await context.cookies(world.url("/")) if c["name"].endswith("contactd_session")
    ]


@pytest.mark.parametrize("hours", [2, -2])
async def test_the_id_tokens_times_are_checked_by_the_daemons_clock(
    db_url: str, context: BrowserContext, hours: int
) -> None:
    """The provider issues an ID token valid for an hour by the wall clock; the daemon's clock
    stands two hours after (it has expired) or before it (issued in the future)."""
    clock = SimulatedClock(wall_clock() + timedelta(hours=hours), 1.0)
    async with oidc_provider.sign_on(db_url, clock) as world:
        page = await context.new_page()

        await _sign_on_at_the_provider(page, world, "sofie")

        await expect(page.get_by_role("alert")).to_contain_text(
            "Svaret fra log-ind-tjenesten kunne ikke godkendes"
        )
        assert not [
            c
            for c in await context.cookies(world.url("/"))
            if c["name"].endswith("contactd_session")
        ]
