"""The staff pages in a real browser (Debian's chromium via playwright), checked with axe-core
against WCAG 2.1 A and AA, in Danish and English: the desk, the kiosk and the console, each
at sign-in and signed in with work on it (the console's what-if played, its improvement
report shown). No rule may be broken."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser, Page, expect

from contactd.clock import Clock
from contactd.settings import Settings
from contactd.store.staff import Role
from tests.conftest import token_for
from tests.e2e import axe
from tests.e2e.conftest import NewPage, watched_pages
from tests.integration.test_desk import _accepted_family_email, _team
from tests.integration.test_improvement import _make

Client = TestClient[web.Request, web.Application]
LANGUAGES = ["da", "en"]


@pytest.fixture
async def new_page(browser: Browser, clock: Clock) -> AsyncIterator[NewPage]:
    async with watched_pages(browser, locale="da-DK", clock=clock) as new:
        yield new


async def _accessible(page: Page, state: str) -> None:
    found = await axe.violations(page)
    assert not found, f"{page.url} ({state}): {axe.describe(found)}"


async def _open(new_page: NewPage, client: Client, path: str, language: str) -> Page:
    page = await new_page()
    await page.goto(str(client.make_url(path)))
    await page.locator("#lang").select_option(language)
    await expect(page.locator("#login")).to_be_visible()
    return page


async def _sign_in(page: Page, login: str, headers: dict[str, str]) -> None:
    await page.locator("#login").fill(login)
    await page.locator("#token").fill(headers["Authorization"].split()[1])
    await page.keyboard.press("Enter")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("language", LANGUAGES)
async def test_the_desk_at_sign_in_and_with_a_contact(
    client: Client, app_pool: asyncpg.Pool, new_page: NewPage, language: str
) -> None:
    _, karin, _, front = await _team(client, app_pool)
    page = await _open(new_page, client, "/desk", language)
    await _accessible(page, "sign-in")
    await _sign_in(page, "karin", {"Authorization": "Bearer cdt_wrong"})
    await expect(page.locator("#signinError")).not_to_be_empty()
    await _accessible(page, "a refused sign-in")
    await _sign_in(page, "karin", karin)
    await expect(page.locator("#desk")).to_be_visible()
    await _accepted_family_email(client, karin, front)
    await expect(page.locator(".contact")).to_have_count(1)
    await _accessible(page, "an e-mail held")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("language", LANGUAGES)
async def test_the_kiosk_at_sign_in_and_signed_in(
    client: Client, app_pool: asyncpg.Pool, new_page: NewPage, language: str
) -> None:
    front = await token_for(app_pool, "frida", Role.FRONTDESK)
    page = await _open(new_page, client, "/kiosk", language)
    await _accessible(page, "sign-in")
    await _sign_in(page, "frida", front)
    await expect(page.locator("#kiosk")).to_be_visible()
    await _accessible(page, "signed in")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("language", LANGUAGES)
async def test_the_console_at_sign_in_and_as_an_administrator(
    client: Client, app_pool: asyncpg.Pool, new_page: NewPage, language: str
) -> None:
    _, karin, _, front = await _team(client, app_pool)
    await _accepted_family_email(client, karin, front)
    admin = await token_for(app_pool, "ada", Role.ADMIN)
    page = await _open(new_page, client, "/console", language)
    await _accessible(page, "sign-in")
    await _sign_in(page, "ada", admin)
    await expect(page.locator('#agents tr[data-login="karin"]')).to_be_visible()
    await expect(page.locator("#staff tr")).not_to_have_count(0)
    await _accessible(page, "the live view and administration")
    # What if: the shipped day under one policy, one run, its tables and chart shown.
    await page.locator("#whatifSeeds").fill("1")
    for policy in ("fifo", "skills"):
        await page.locator(f'input[name=whatifPolicy][value="{policy}"]').uncheck()
    await page.locator("#whatifPlay").click()
    await expect(page.locator("#whatifResult canvas")).to_be_visible(timeout=60_000)
    await page.locator('input[name=whatifTraffic][value="history"]').check()  # its days shown
    await _accessible(page, "a what-if played")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("language", LANGUAGES)
async def test_the_console_with_an_improvement_report_shown(
    client: Client, app_pool: asyncpg.Pool, config: Settings, new_page: NewPage, language: str
) -> None:
    # Its own history (two weeks made by the improvement tests, whose agent is "ada"), so a
    # supervisor of its own: the administrator's test above signs in as "ada".
    await _make(app_pool, config)
    supervisor = await token_for(app_pool, "sofie", Role.SUPERVISOR)
    page = await _open(new_page, client, "/console", language)
    await _sign_in(page, "sofie", supervisor)
    await page.locator("#improvementShow").click()
    await expect(page.locator("#improvementResult .commentGroup")).not_to_have_count(0)
    await page.locator('input[name=improvementPeriod][value="chosen"]').check()  # its days shown
    await _accessible(page, "an improvement report shown")
