"""The console's "what if" in a real browser (Debian's chromium, driven by playwright): a
supervisor plays the shipped day under two policies, reads a table and the goals met per
policy, sees the chart and downloads the figures as CSV and the chart as PNG; a what-if the
lab refuses is said in the page's error region."""

from __future__ import annotations

import csv
import re
from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser, Page, expect

from contactd.clock import Clock
from contactd.store.staff import Role
from tests.conftest import token_for
from tests.e2e.conftest import NewPage, watched_pages

Client = TestClient[web.Request, web.Application]
# The shipped day is played in seconds; a slow machine gets more.
PLAYED = 90_000  # ms


@pytest.fixture
async def new_page(browser: Browser, clock: Clock) -> AsyncIterator[NewPage]:
    async with watched_pages(browser, locale="da-DK", clock=clock) as new:
        yield new


async def _console(new_page: NewPage, client: Client, app_pool: asyncpg.Pool) -> Page:
    supervisor = await token_for(app_pool, "sofie", Role.SUPERVISOR)
    page = await new_page()
    await page.goto(str(client.make_url("/console")))
    await page.get_by_label("Brugernavn").first.fill("sofie")
    await page.get_by_label("Din adgangsnøgle").fill(supervisor["Authorization"].split()[1])
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Hvad nu hvis")).to_be_visible()
    return page


@pytest.mark.timeout(180)
async def test_a_supervisor_plays_the_shipped_day_under_two_policies_and_downloads_the_figures(
    client: Client, app_pool: asyncpg.Pool, new_page: NewPage
) -> None:
    page = await _console(new_page, client, app_pool)
    await page.get_by_label("Kørsler pr. politik (1–20)").fill("2")
    await page.get_by_role("checkbox", name=re.compile(r"^Kompetencer")).uncheck()
    play = page.get_by_role("button", name="Spil", exact=True)
    await play.click()
    await expect(play).to_be_disabled()
    await expect(page.locator("#whatifStatus")).to_have_text(re.compile(r"^Spiller"))

    result = page.locator("#whatifResult")
    await expect(page.locator("#whatifStatus")).to_have_text(
        "Færdig: resultatet står herunder.", timeout=PLAYED
    )
    await expect(play).to_be_enabled()
    await expect(page.locator("#error")).to_be_empty()
    await expect(result.get_by_role("heading", level=3)).to_have_text(
        "Hvad nu hvis: tirsdag den 1. december 2026"
    )
    await expect(result).to_contain_text("2 kørsler pr. politik · 40 medarbejdere")
    for policy in ("contactd", "FIFO"):
        await expect(result.get_by_role("heading", name=policy, exact=True)).to_be_visible()
        await expect(result.get_by_role("table", name=policy, exact=True)).to_be_visible()
    goals_met = result.locator(".goalsMet")
    await expect(goals_met).to_have_count(2)
    for line in await goals_met.all_inner_texts():
        assert re.fullmatch(r"Mål nået: \d+ af \d+ \(\d+ med 95 % sikkerhed\)", line), line
    family_call = result.get_by_role("table", name="contactd").locator(
        'tr[data-queue="family"][data-channel="call"]'
    )
    await expect(family_call.get_by_role("rowheader")).to_have_text("Familiesammenføring")
    await expect(family_call).to_contain_text("80 % inden for 5 min")
    await expect(family_call.locator(".met")).to_have_text(
        re.compile(r"^(nået|nået, usikkert|ikke nået|ikke nået, usikkert)$")
    )
    chart = result.get_by_role("img", name=re.compile(r"^Diagram over serviceniveauet"))
    await expect(chart).to_be_visible()
    assert await chart.evaluate("canvas => canvas.width > 0 && canvas.height > 0")

    async with page.expect_download() as waiting:
        await result.get_by_role("link", name="Hent tallene som CSV").click()
    download = await waiting.value
    assert download.suggested_filename == "whatif-2026-12-01.csv"
    header, *rows = csv.reader((await download.path()).read_text(encoding="utf-8").splitlines())
    assert header[:4] == ["staffing", "policy", "queue", "channel"]
    policies = [row[header.index("policy")] for row in rows]
    assert set(policies) == {"contactd", "fifo"}
    table_rows = result.get_by_role("table", name="contactd").locator("tbody tr")
    await expect(table_rows).to_have_count(policies.count("contactd"))

    async with page.expect_download() as waiting:
        await result.get_by_role("link", name="Hent diagrammet som PNG").click()
    download = await waiting.value
    assert download.suggested_filename == "whatif-2026-12-01.png"
    assert (await download.path()).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")

    # The result speaks the language chosen, like the rest of the page.
    await page.locator("#lang").select_option("en")
    await expect(page.get_by_role("heading", name="What if", exact=True)).to_be_visible()
    await expect(goals_met.first).to_have_text(re.compile(r"^Goals met: \d+ of \d+"))
    await expect(result.get_by_role("link", name="Download the figures as CSV")).to_be_visible()
    chart = result.get_by_role("img", name=re.compile(r"^Chart of the service level"))
    await expect(chart).to_be_visible()


@pytest.mark.timeout(90)
async def test_a_what_if_the_lab_refuses_is_said_in_the_error_region(
    client: Client, app_pool: asyncpg.Pool, new_page: NewPage
) -> None:
    page = await _console(new_page, client, app_pool)
    await expect(page.locator("#whatifFirst")).to_be_hidden()
    await page.get_by_role("radio", name="Historikken fra dage i databasen").check()
    await page.locator("#whatifFirst").fill("2026-11-21")
    await page.locator("#whatifLast").fill("2026-11-22")  # a weekend: the hotline is closed

    async with page.expect_response("**/api/whatif") as answered:
        await page.get_by_role("button", name="Spil", exact=True).click()
    response = await answered.value
    error = (await response.json())["error"]
    assert (response.status, error["code"]) == (422, "whatif_refused")
    assert "closed every day" in error["message"]
    await expect(page.locator("#error")).to_have_text(error["message"])
    await expect(page.get_by_role("button", name="Spil", exact=True)).to_be_enabled()
    await expect(page.locator("#whatifStatus")).to_be_empty()
    await expect(page.locator("#whatifResult")).to_be_empty()
