"""Another agency runs contactd in its own words (issue 20): with a configuration whose
[agency.words] name Borgerservice, every public page (the callback booking, the kiosk and its
printed ticket, the status, the satisfaction survey, the waiting-room board) names
Borgerservice, in Danish and in English, and never the agency the project was written for.
In a real browser (Debian's chromium via playwright)."""

from __future__ import annotations

import re
import shutil
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import Browser, Page, expect

from contactd import settings
from contactd.app import create_app
from contactd.clock import FixedClock
from contactd.http.appkeys import POOL
from contactd.store.staff import Role
from tests.conftest import ROOT, WORKDAY, token_for
from tests.e2e.conftest import NewPage, watched_pages

Client = TestClient[web.Request, web.Application]
# The other agency's name in each language ({agency} and {Agency}), and its website.
NAMES = {"da": "Borgerservice", "en": "Borgerservice Copenhagen", "ar": "Borgerservice",
         "uk": "Borgerservice", "tr": "Borgerservice"}  # fmt: skip
WEBSITE = "borger.example.dk"
SHIPPED_AGENCY = re.compile(r"Udlændingestyrelsen|Immigration Service|nyidanmark|uim\.dk")
LANGUAGES = ["da", "en"]
COUNT_PRINTS = "window.printed = 0; window.print = () => { window.printed += 1; };"


def _toml(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def borgerservice_config(folder: Path) -> Path:
    """The shipped configuration copied to `folder`, its [agency.words.<lang>] naming
    Borgerservice (any other word the shipped file gives is kept as it is), and its case
    types' checklists on Borgerservice's website."""
    shutil.copytree(ROOT / "config", folder)
    case_types = folder / "case_types.toml"
    checklists = case_types.read_text(encoding="utf-8")
    checklists = checklists.replace("https://www.nyidanmark.dk/", f"https://{WEBSITE}/")
    case_types.write_text(checklists, encoding="utf-8")
    path = folder / "contactd.toml"
    text = path.read_text(encoding="utf-8")
    shipped = tomllib.loads(text)["agency"]["words"]
    for lang, words in shipped.items():
        mine = {**words, "agency": NAMES[lang], "Agency": NAMES[lang], "website": WEBSITE}
        table = re.compile(rf"^\[agency\.words\.{lang}\][^\n]*\n(?:(?!\[).*\n)*", re.M)
        lines = "".join(f"{word} = {_toml(value)}\n" for word, value in mine.items())
        found = table.search(text)
        assert found, f"no [agency.words.{lang}] in the shipped configuration"
        text = f"{text[: found.start()]}[agency.words.{lang}]\n{lines}\n{text[found.end() :]}"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def clock() -> FixedClock:
    """Tuesday 10:00 (WORKDAY), standing still: the service centre is open."""
    return FixedClock(WORKDAY)


@pytest.fixture
async def site(db_url: str, clock: FixedClock, tmp_path: Path) -> AsyncIterator[Client]:
    loaded = settings.load(
        borgerservice_config(tmp_path / "config"),
        environ={"CONTACTD_DATABASE_URL": db_url, "CONTACTD_CLASSIFIER__ENABLED": "false"},
    )
    async with TestClient(TestServer(create_app(loaded, clock=clock))) as client:
        yield client


@pytest.fixture
async def new_page(browser: Browser, clock: FixedClock) -> AsyncIterator[NewPage]:
    async with watched_pages(browser, locale="da-DK", clock=clock) as new:
        yield new


async def assert_never_the_shipped_agency(page: Page) -> None:
    found = SHIPPED_AGENCY.findall(await page.content() + await page.title())
    assert found == [], f"{page.url} names {found}"


def test_the_configuration_names_borgerservice(tmp_path: Path) -> None:
    """The configuration the pages run with is valid, and it is Borgerservice's."""
    loaded = settings.load(borgerservice_config(tmp_path / "config"), environ={})
    assert loaded.wording.text("pages", "da", "ticket.agency") == "Borgerservice"
    assert loaded.wording.text("pages", "en", "ticket.agency") == "Borgerservice Copenhagen"


@pytest.mark.timeout(90)
@pytest.mark.parametrize("lang", LANGUAGES)
async def test_the_callback_booking_names_borgerservice(
    site: Client, new_page: NewPage, lang: str
) -> None:
    page = await new_page()
    await page.goto(str(site.make_url(f"/callback?lang={lang}")))
    await expect(page.locator("html")).to_have_attribute("lang", lang)
    title = {"da": "Bestil et opkald", "en": "Book a call"}[lang]
    await expect(page).to_have_title(f"{title} · {NAMES[lang]}")
    await expect(page.get_by_role("heading", level=1)).to_have_text(title)
    await assert_never_the_shipped_agency(page)


@pytest.mark.timeout(90)
@pytest.mark.parametrize("lang", LANGUAGES)
async def test_the_status_page_names_borgerservice(
    site: Client, new_page: NewPage, lang: str
) -> None:
    page = await new_page()
    await page.goto(str(site.make_url(f"/status?lang={lang}")))
    await expect(page.locator("html")).to_have_attribute("lang", lang)
    title = {"da": "Servicecentret lige nu", "en": "The service centre now"}[lang]
    await expect(page).to_have_title(f"{title} · {NAMES[lang]}")
    await expect(page.locator('.queueCard[data-queue="family"] .openState')).not_to_be_empty()
    await assert_never_the_shipped_agency(page)


@pytest.mark.timeout(90)
@pytest.mark.parametrize("lang", LANGUAGES)
async def test_the_survey_page_names_borgerservice(
    site: Client, new_page: NewPage, lang: str
) -> None:
    page = await new_page()
    response = await page.goto(str(site.make_url(f"/s/{'A' * 28}?lang={lang}")))
    assert response is not None
    assert response.status == 404  # a link that names no survey: the page says so
    await expect(page.locator("html")).to_have_attribute("lang", lang)
    await expect(page.locator(".agency")).to_have_text(NAMES[lang])
    title = {"da": "Hvor tilfreds var du?", "en": "How satisfied were you?"}[lang]
    await expect(page).to_have_title(f"{title} · {NAMES[lang]}")
    await expect(page.locator("#resultTitle")).not_to_be_empty()
    await assert_never_the_shipped_agency(page)


@pytest.mark.timeout(90)
@pytest.mark.parametrize("lang", LANGUAGES)
async def test_the_kiosk_prints_borgerservice_on_the_ticket(
    site: Client, new_page: NewPage, lang: str
) -> None:
    front = await token_for(site.app[POOL], "frida", Role.FRONTDESK)
    page = await new_page()
    await page.add_init_script(COUNT_PRINTS)
    await page.goto(str(site.make_url("/kiosk")))
    await page.locator("#lang").select_option(lang)
    await expect(page.locator("html")).to_have_attribute("lang", lang)
    title = {"da": "Udskriv kønummer", "en": "Print queue ticket"}[lang]
    await expect(page).to_have_title(f"{title} · {NAMES[lang]}")
    await page.locator("#login").fill("frida")
    await page.locator("#token").fill(front["Authorization"].split()[1])
    await page.keyboard.press("Enter")
    await page.locator('input[name=caseType][value="family"]').check()
    await page.locator(f'input[name=visitorLanguage][value="{lang}"]').check()
    await page.locator("#print").click()
    ticket = page.locator("#ticket")
    await expect(ticket.locator(".ticketNumber")).to_have_text("A001")
    await expect(ticket).to_have_attribute("lang", lang)
    await expect(ticket.locator(".ticketAgency")).to_have_text(NAMES[lang])
    checklist = {"da": "da/Du-vil-ansoege/Familie", "en": "en-GB/You-want-to-apply/Family"}[lang]
    await expect(ticket.locator("#ticketChecklist")).to_contain_text(
        f"https://{WEBSITE}/{checklist}"
    )
    # A function, not an expression: Playwright evals an expression on every poll, which
    # the pages' CSP refuses once the first check has failed.
    await page.wait_for_function("() => window.printed === 1")
    await assert_never_the_shipped_agency(page)


@pytest.mark.timeout(90)
async def test_the_board_speaks_every_client_language_and_not_the_shipped_agency(
    site: Client, new_page: NewPage
) -> None:
    page = await new_page()
    await page.goto(str(site.make_url("/board")))
    heading = page.get_by_role("heading", level=1)
    await expect(heading).to_have_text(
        "Nu kalder vi / Now calling / يتم الآن استدعاء / Зараз викликаємо / Şimdi çağrılanlar"
    )
    await expect(heading.locator('[lang="en"]')).to_have_text("/ Now calling")
    await expect(heading.locator('[lang="ar"]')).to_have_attribute("dir", "rtl")
    await expect(page.locator("html")).to_have_attribute("lang", "da")
    await expect(page).to_have_title(re.compile(r"^Kaldte numre · Called numbers · "))
    await assert_never_the_shipped_agency(page)
