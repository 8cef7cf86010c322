"""Shared by the page tests: Debian's chromium, driven by playwright, its pages' own clock
set off the daemon's (they must go by the daemon's time, which they are sent)."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import timedelta

import pytest
from playwright.async_api import Browser, Page, async_playwright

from contactd.clock import Clock, SimulatedClock
from tests.e2e.daemon import Daemon

CHROMIUM = "/usr/bin/chromium"
# Chromium's own background traffic would knock on a closed network: switch it off.
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not shutil.which(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail("Debian's chromium is missing; scripts/bootstrap --dev installs it")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield browser
        finally:
            await browser.close()


NewPage = Callable[[], Awaitable[Page]]


# How far a page's own clock stands from the daemon's: the pages must decide by the
# daemon's time ("today", an offer's countdown), which they are sent, never by the browser's.
BROWSER_AHEAD = timedelta(days=2, hours=7)


async def off_clock(page: Page, clock: Clock) -> None:
    """The page's clock (what its scripts get from `new Date()`) set two days and seven hours
    after the daemon's, so a page that reads the browser's clock instead of the daemon's says
    the wrong day or counts an offer down wrongly, and its test fails. It runs on at real
    speed when the daemon's clock runs (the `clock` fixture), and stands still with it when
    it is fixed. Call it before the page is opened."""
    if isinstance(clock, SimulatedClock):
        await page.clock.install(time=clock() + BROWSER_AHEAD)
    else:
        await page.clock.set_fixed_time(clock() + BROWSER_AHEAD)


@contextlib.asynccontextmanager
async def watched_pages(browser: Browser, *, locale: str, clock: Clock) -> AsyncIterator[NewPage]:
    """Pages in Copenhagen's time, their own clock off the daemon's (`off_clock`); a script
    error or a refusal by the pages' Content Security Policy (an inline script or style)
    fails the test."""
    problems: list[str] = []
    opened: list[Page] = []

    async def new() -> Page:
        page = await browser.new_page(locale=locale, timezone_id="Europe/Copenhagen")
        await off_clock(page, clock)
        page.on("pageerror", lambda error: problems.append(f"{page.url}: {error}"))
        page.on(
            "console",
            lambda message: (
                problems.append(f"{page.url}: {message.text}")
                if "Content Security Policy" in message.text
                else None
            ),
        )
        opened.append(page)
        return page

    yield new
    for page in opened:
        await page.close()
    assert not problems


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    """The `contactd` processes a test starts: each stopped when the test ends."""
    started: list[Daemon] = []
    yield started
    for d in started:
        d.close()
