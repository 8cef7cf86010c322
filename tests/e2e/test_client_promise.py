"""What a client is told of their case type on the public side, in a real browser (Debian's
chromium via playwright), in the language they read (issue 20): the ticket the kiosk prints
for a visitor who reads Arabic (right to left) or Danish, and the booking page read in
Ukrainian, each with the processing goal and the checklist of the case type; axe-core finds
no WCAG 2.1 A or AA violation on either."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import Page, expect

from contactd.app import create_app
from contactd.clock import FixedClock
from contactd.http.appkeys import POOL
from contactd.settings import Settings
from contactd.store.staff import Role
from tests.conftest import WORKDAY, token_for
from tests.e2e.conftest import NewPage
from tests.e2e.test_accessibility import assert_accessible, new_page

__all__ = ["new_page"]  # the fixture, used by name

Client = TestClient[web.Request, web.Application]
# config/case_types.toml, family: the checklist for every language without its own, and the
# Danish one.
FAMILY_CHECKLIST = "https://www.nyidanmark.dk/en-GB/You-want-to-apply/Family"
FAMILY_CHECKLIST_DA = "https://www.nyidanmark.dk/da/Du-vil-ansoege/Familie"
# The kiosk prints with window.print(): count the calls instead of opening a dialog.
COUNT_PRINTS = "window.printed = 0; window.print = () => { window.printed += 1; };"


@pytest.fixture
def clock() -> FixedClock:
    """Tuesday 10:00 (WORKDAY), standing still: the service centre and the line are open."""
    return FixedClock(WORKDAY)


@pytest.fixture
async def site(config: Settings, clock: FixedClock) -> AsyncIterator[Client]:
    async with TestClient(TestServer(create_app(config, clock=clock))) as client:
        yield client


def _pool(client: Client) -> asyncpg.Pool:
    return client.app[POOL]


async def _kiosk(new_page: NewPage, site: Client) -> Page:
    """The kiosk, signed in by the front desk, in Danish."""
    front = await token_for(_pool(site), "frida", Role.FRONTDESK)
    page = await new_page()
    await page.add_init_script(COUNT_PRINTS)
    await page.goto(str(site.make_url("/kiosk")))
    await page.get_by_label("Brugernavn").fill("frida")
    await page.get_by_label("Din adgangsnøgle").fill(front["Authorization"].split()[1])
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("radio", name="Familiesammenføring")).to_be_visible()
    return page


@pytest.mark.timeout(120)
async def test_the_kiosk_prints_the_goal_and_checklist_in_the_language_the_visitor_reads(
    site: Client, new_page: NewPage
) -> None:
    kiosk = await _kiosk(new_page, site)
    # Every client language may be chosen for the visitor, each by its own name.
    languages = kiosk.locator("#visitorLanguages label")
    await expect(languages).to_have_text(["Dansk", "English", "العربية", "Українська", "Türkçe"])
    await kiosk.get_by_role("radio", name="Familiesammenføring").check()
    await kiosk.get_by_role("radio", name="العربية").check()
    await kiosk.get_by_role("button", name="Udskriv nummer").click()

    ticket = kiosk.locator("#ticket")
    await expect(ticket.locator(".ticketNumber")).to_have_text("A001")
    await expect(ticket).to_have_attribute("lang", "ar")
    await expect(ticket).to_have_attribute("dir", "rtl")
    await expect(kiosk.locator("#ticketGoal")).to_have_text(
        "مدة المعالجة لـ لمّ شمل الأسرة: 10 أشهر."
    )
    await expect(kiosk.locator("#ticketChecklist")).to_have_text(
        f"قائمة المتطلبات لطلبك: {FAMILY_CHECKLIST}"
    )
    # The address reads left to right inside the Arabic line.
    await expect(kiosk.locator("#ticketChecklist .ticketUrl")).to_have_attribute("dir", "ltr")
    # A function, not an expression: Playwright evals an expression on every poll, which
    # the pages' CSP refuses once the first check has failed.
    await kiosk.wait_for_function("() => window.printed === 1")
    await assert_accessible(kiosk, "an Arabic ticket")
    # Served in English at the counter (the staff's languages), printed in Arabic.
    stored = await _pool(site).fetchrow("SELECT language, client_language FROM contacts")
    assert stored is not None
    assert (stored["language"], stored["client_language"]) == ("en", "ar")

    await kiosk.get_by_role("button", name="Næste besøgende").click()
    await expect(kiosk.get_by_role("radio", name="Dansk")).to_be_checked()  # the form's reset
    await kiosk.get_by_role("radio", name="Familiesammenføring").check()
    await kiosk.get_by_role("button", name="Udskriv nummer").click()
    await expect(ticket.locator(".ticketNumber")).to_have_text("A002")
    await expect(ticket).to_have_attribute("lang", "da")
    await expect(ticket).to_have_attribute("dir", "ltr")
    await expect(kiosk.locator("#ticketGoal")).to_have_text(
        "Sagsbehandlingstid for Familiesammenføring: 10 måneder."
    )
    await expect(kiosk.locator("#ticketChecklist")).to_have_text(
        f"Tjekliste til din ansøgning: {FAMILY_CHECKLIST_DA}"
    )
    await kiosk.wait_for_function("() => window.printed === 2")
    await assert_accessible(kiosk, "a Danish ticket")


@pytest.mark.timeout(120)
async def test_the_printed_ticket_with_its_goal_and_checklist_fits_on_one_slip(
    site: Client, new_page: NewPage
) -> None:
    """The receipt printer's page (80 × 120 mm, tickets.css): the longest of the shipped
    case types' checklists (EU/EEA residence), in Ukrainian, still prints on one."""
    kiosk = await _kiosk(new_page, site)
    await kiosk.get_by_role("radio", name="EU/EØS-ophold").check()
    await kiosk.get_by_role("radio", name="Українська").check()
    await kiosk.get_by_role("button", name="Udskriv nummer").click()
    await expect(kiosk.locator("#ticketChecklist")).to_contain_text("EU-EEA-citizen")
    pdf = await kiosk.pdf(prefer_css_page_size=True)  # as the browser prints it
    # The PDF's page objects (not its /Pages tree).
    assert len(re.findall(rb"/Type\s*/Page(?![a-z])", pdf)) == 1


@pytest.mark.timeout(90)
async def test_the_booking_page_read_in_ukrainian_tells_the_goal_and_links_the_checklist(
    site: Client, new_page: NewPage
) -> None:
    page = await new_page()
    await page.goto(str(site.make_url("/callback?lang=uk")))
    await expect(page.locator("html")).to_have_attribute("lang", "uk")
    await expect(page.locator("#window option")).not_to_have_count(0)
    await page.locator("#number").fill("20 12 34 56")
    await page.locator("#caseType").select_option("family")
    await page.locator("#submit").click()
    await expect(page.locator("#done")).to_be_visible()
    await expect(page.locator("#doneGoal")).to_have_text(
        "Строк розгляду для «Возз’єднання сім’ї»: 10 місяців."
    )
    link = page.get_by_role("link", name=FAMILY_CHECKLIST)
    await expect(link).to_have_attribute("href", FAMILY_CHECKLIST)
    await expect(page.locator("#doneChecklist")).to_have_text(
        f"Перелік документів для вашої заяви: {FAMILY_CHECKLIST}"
    )
    await assert_accessible(page, "booked in Ukrainian")
    contact = await _pool(site).fetchrow("SELECT case_type, client_language FROM contacts")
    assert contact is not None
    assert (contact["case_type"], contact["client_language"]) == ("family", "uk")

    # Switched to Danish after booking: the goal stays in the language it was booked in, and
    # says so to a screen reader.
    await page.locator("#lang").select_option("da")
    await expect(page.get_by_role("heading", name="Tak, dit opkald er bestilt")).to_be_visible()
    await expect(page.locator("#doneGoal")).to_have_attribute("lang", "uk")
    await assert_accessible(page, "booked in Ukrainian, read in Danish")
