"""The console's improvement report in a real browser (Debian's chromium, driven by
playwright): over two weeks of history, a supervisor shows last week's report, reads a
service goal, the failure demand and the clients' comments by case type and wrap-up code,
narrows the comments to a word, downloads the figures as CSV and the chart as PNG, and reads
it again in English; a period the API refuses is said in the page's error region; a week
with no contacts says so in each part."""

from __future__ import annotations

import csv
import re
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser, Page, expect

from contactd.clock import Clock
from contactd.settings import Settings
from contactd.store.staff import Role
from tests.conftest import token_for
from tests.e2e.conftest import NewPage, watched_pages
from tests.integration.test_improvement import _make

Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def new_page(browser: Browser, clock: Clock) -> AsyncIterator[NewPage]:
    async with watched_pages(browser, locale="da-DK", clock=clock) as new:
        yield new


async def _console(new_page: NewPage, client: Client, headers: dict[str, str]) -> Page:
    page = await new_page()
    await page.goto(str(client.make_url("/console")))
    await page.get_by_label("Brugernavn").first.fill("sofie")
    await page.get_by_label("Din adgangsnøgle").fill(headers["Authorization"].split()[1])
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Forbedringsrapport")).to_be_visible()
    return page


def _share(value: float | None, language: str) -> str:
    """A share as the page writes it: one decimal, the language's decimal sign."""
    if value is None:
        return "–"
    shown = f"{value * 100:.1f} %"
    return shown.replace(".", ",") if language == "da" else shown


def _target(value: float, language: str) -> str:
    """A goal's target: a decimal only where it has one ("80 %", "92,5 %")."""
    return _share(value, language).replace(",0 %", " %").replace(".0 %", " %")


def _change(value: float | None, language: str) -> str:
    if value is None:
        return "–"
    points = _share(abs(value), language).removesuffix(" %")
    if points in ("0,0", "0.0"):
        return {"da": "uændret", "en": "unchanged"}[language]
    if language == "da":
        return f"▲ {points} procentpoint op" if value > 0 else f"▼ {points} procentpoint ned"
    return f"▲ up {points} percentage points" if value > 0 else f"▼ down {points} percentage points"


def _within(threshold: dict[str, Any], language: str) -> str:
    """A goal's threshold as the page words it: "inden for 5 min", "within 4 working hours"."""
    units = {"minutes": "min", "seconds": "s", "hours": {"da": "t", "en": "h"}[language],
             "working hours": {"da": "arbejdstimer", "en": "working hours"}[language],
             "working days": {"da": "arbejdsdage", "en": "working days"}[language]}  # fmt: skip
    within = {"da": "inden for", "en": "within"}[language]
    return f"{within} {threshold['amount']} {units[threshold['unit']]}"


def _goal_cells(goal: dict[str, Any], language: str) -> list[str]:
    met = {None: "–", True: {"da": "ja", "en": "yes"}[language],
           False: {"da": "nej", "en": "no"}[language]}[goal["met"]]  # fmt: skip
    return [
        goal["channel"],
        f"{_target(goal['target'], language)} {_within(goal['threshold'], language)}",
        str(goal["offered"]),
        *(_share(goal[k], language) for k in ("service_level", "before")),
        _change(goal["change"], language),
        met,
    ]


@pytest.mark.timeout(120)
async def test_a_supervisor_reads_last_weeks_report_searches_its_comments_and_downloads_it(
    client: Client, app_pool: asyncpg.Pool, config: Settings, new_page: NewPage
) -> None:
    await _make(app_pool, config)
    supervisor = await token_for(app_pool, "sofie", Role.SUPERVISOR)
    whole = await (await client.get("/api/improvement", headers=supervisor)).json()
    names = await (await client.get("/api/reference", headers=supervisor)).json()
    page = await _console(new_page, client, supervisor)

    section = page.get_by_role("region", name="Forbedringsrapport")
    await expect(section.get_by_role("radio", name="Sidste uge")).to_be_checked()
    await section.get_by_role("button", name="Vis", exact=True).click()
    await expect(section.get_by_role("status")).to_have_text("Rapporten står herunder.")
    await expect(page.locator("#error")).to_be_empty()
    result = page.locator("#improvementResult")
    await expect(result.get_by_role("heading", level=3)).to_have_text(
        "Forbedringsrapport 2026-W48 (23. november 2026 – 29. november 2026)"
    )
    await expect(result).to_contain_text(
        "Sammenlignet med 2026-W47 (16. november 2026 – 22. november 2026)"
    )

    # A service goal: the queue by its name, the change in words beside its arrow.
    goal = next(g for g in whole["goals"] if (g["queue"], g["channel"]) == ("family", "call"))
    goals = result.get_by_role("table", name="Servicemål")
    row = goals.locator('tr[data-queue="family"][data-channel="call"]')
    await expect(row.get_by_role("rowheader")).to_have_text("Familiesammenføring")
    await expect(row.get_by_role("cell")).to_have_text(_goal_cells(goal, "da"))
    await expect(goals.locator("tbody tr")).to_have_count(len(whole["goals"]))

    # Failure demand: the API's count of contacts, said in a sentence, and when it is final.
    every = whole["failure_demand"]
    assert every["contacts"] > 0
    await expect(result.locator(".failureLine")).to_have_text(
        f"{_share(every['failure_demand'], 'da')} af {every['contacts']} henvendelser blev "
        f"fulgt af en ny fra samme klient inden for {whole['follow_up_days']} dage; løst ved "
        f"første henvendelse {_share(every['first_contact_resolution'], 'da')}"
    )
    await expect(result).to_contain_text("Tallene er endelige den 7. december 2026")
    per_channel = result.get_by_role("table", name="Fejlefterspørgsel Pr. kanal")
    await expect(per_channel.locator("tbody tr")).to_have_count(len(whole["by_channel"]))

    # The comments, by case type and wrap-up code, the newest group first.
    comments = whole["comments"]
    await expect(result.locator(".commentsCount")).to_have_text(
        f"{len(comments)} kommentarer efter sagstype og afslutningskode; "
        "numre og adresser er skjult."
    )
    groups = result.locator(".commentGroup")
    await expect(groups).to_have_count(len({(c["case_type"], c["wrap_up"]) for c in comments}))
    newest = comments[0]
    case_type = next(c["da"] for c in names["case_types"] if c["code"] == newest["case_type"])
    wrap_up = names["wrap_up_codes"].get(newest["wrap_up"], {}).get("da", newest["wrap_up"])
    await expect(groups.first.get_by_role("heading", level=5)).to_have_text(
        f"{case_type} · {wrap_up}"
    )
    await expect(groups.first.locator("li").first).to_contain_text(newest["text"])
    await expect(result.locator(".commentGroup li")).to_have_count(len(comments))

    # A word narrows the comments; the count says what was found.
    searched = await client.get("/api/improvement?q=ventetid", headers=supervisor)
    found = (await searched.json())["comments"]
    assert 1 < len(found) < len(comments)
    await section.get_by_label("Søg i kommentarerne").fill("ventetid")
    await section.get_by_role("button", name="Vis", exact=True).click()
    await expect(result.locator(".commentsCount")).to_have_text(
        f"{len(found)} kommentarer indeholder »ventetid«."
    )
    shown = result.locator(".commentGroup li")
    await expect(shown).to_have_count(len(found))
    for text in await shown.all_inner_texts():
        assert "ventetid" in text.lower(), text

    # The downloads are of the period shown and its search.
    async with page.expect_download() as waiting:
        await result.get_by_role("link", name="Hent rapportens tal som CSV").click()
    download = await waiting.value
    assert download.suggested_filename == "improvement-2026-11-23-2026-11-29.csv"
    header, *rows = csv.reader((await download.path()).read_text(encoding="utf-8").splitlines())
    assert header[:3] == ["section", "queue", "channel"]
    assert sum(1 for r in rows if r[0] == "comment") == len(found)
    async with page.expect_download() as waiting:
        await result.get_by_role("link", name="Hent rapportens diagram som PNG").click()
    download = await waiting.value
    assert download.suggested_filename == "improvement-2026-11-23-2026-11-29.png"
    assert (await download.path()).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")

    # The report speaks the language chosen, like the rest of the page.
    await page.locator("#lang").select_option("en")
    section = page.get_by_role("region", name="Improvement report")
    await expect(result.get_by_role("heading", level=3)).to_have_text(
        "Improvement report 2026-W48 (23 November 2026 – 29 November 2026)"
    )
    row = result.get_by_role("table", name="Service goals").locator(
        'tr[data-queue="family"][data-channel="call"]'
    )
    await expect(row.get_by_role("rowheader")).to_have_text("Family reunification")
    await expect(row.get_by_role("cell")).to_have_text(_goal_cells(goal, "en"))
    await expect(result.locator(".failureLine")).to_have_text(
        re.compile(rf"^\d+\.\d % of {every['contacts']} contacts were followed by another ")
    )
    await expect(result.locator(".commentsCount")).to_have_text(
        f"{len(found)} comments contain “ventetid”."
    )
    await expect(section.get_by_role("status")).to_have_text("The report is below.")
    csv_link = section.get_by_role("link", name="Download the report's figures as CSV")
    period = re.compile(r"first=2026-11-23&last=2026-11-29&.*q=ventetid")
    await expect(csv_link).to_have_attribute("href", period)


@pytest.mark.timeout(90)
async def test_a_period_the_api_refuses_is_said_in_the_error_region(
    client: Client, app_pool: asyncpg.Pool, new_page: NewPage
) -> None:
    supervisor = await token_for(app_pool, "sofie", Role.SUPERVISOR)
    page = await _console(new_page, client, supervisor)
    section = page.get_by_role("region", name="Forbedringsrapport")
    await expect(page.locator("#improvementFirst")).to_be_hidden()
    await section.get_by_role("radio", name="En valgt periode").check()
    await page.locator("#improvementFirst").fill("2026-12-24")
    await page.locator("#improvementLast").fill("2026-12-31")

    async with page.expect_response("**/api/improvement?*") as answered:
        await section.get_by_role("button", name="Vis", exact=True).click()
    response = await answered.value
    error = (await response.json())["error"]
    assert (response.status, error["code"]) == (422, "bad_period")
    await expect(page.locator("#error")).to_have_text("first 2026-12-24 is in the future")
    await expect(section.get_by_role("button", name="Vis", exact=True)).to_be_enabled()
    await expect(section.get_by_role("status")).to_be_empty()
    await expect(page.locator("#improvementResult")).to_be_empty()


@pytest.mark.timeout(90)
async def test_a_week_with_no_contacts_says_so_in_each_part(
    client: Client, app_pool: asyncpg.Pool, new_page: NewPage
) -> None:
    supervisor = await token_for(app_pool, "sofie", Role.SUPERVISOR)
    page = await _console(new_page, client, supervisor)
    section = page.get_by_role("region", name="Forbedringsrapport")
    await section.get_by_role("button", name="Vis", exact=True).click()
    result = page.locator("#improvementResult")
    await expect(result.get_by_role("heading", level=3)).to_contain_text("2026-W48")
    for said in (
        "Ingen henvendelser i perioden.",
        "Ingen tilbagekald.",
        "Ingen afslutningskoder.",
        "0 af 0 sorteret af klassifikatoren blev rettet (–).",
        "0 kommentarer efter sagstype og afslutningskode",
    ):
        await expect(result).to_contain_text(said)
    await expect(page.locator("#error")).to_be_empty()
