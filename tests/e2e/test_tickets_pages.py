"""The service centre's pages in a real browser (Debian's chromium, driven by playwright):
the kiosk prints a ticket, a caseworker calls it to a counter, the waiting-room board and
the public status show it live, with the phone line and e-mail beside the service centre."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import Browser, Page, Route, expect

from contactd.app import create_app
from contactd.clock import FixedClock
from contactd.http.appkeys import POOL
from contactd.settings import Settings
from contactd.store.staff import Role
from tests.conftest import token_for
from tests.e2e.conftest import NewPage, watched_pages
from tests.integration.history import insert_contacts

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
# The service centre (config/contactd.toml, calendars.service_centre) is open 08-14 on a
# Wednesday and closed at weekends: on this Saturday it opens again on Monday 17 March (the
# pages, on the same clock, name that day; the next day they would call "tomorrow").
WEDNESDAY = datetime(2025, 3, 12, 10, 0, tzinfo=COPENHAGEN)
SATURDAY = datetime(2025, 3, 15, 10, 0, tzinfo=COPENHAGEN)
# The kiosk prints with window.print(): count the calls instead of opening a dialog.
COUNT_PRINTS = "window.printed = 0; window.print = () => { window.printed += 1; };"


@pytest.fixture
def clock() -> FixedClock:
    """The daemon's clock, and its pages': a Wednesday at 10:00, when the service centre is
    open (a test on another day parametrizes `clock`)."""
    return FixedClock(WEDNESDAY)


@pytest.fixture
async def centre(
    config: Settings, clock: FixedClock
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    """The daemon on its clock."""
    async with TestClient(TestServer(create_app(config, clock=clock))) as c:
        yield c


def _pool(client: TestClient[web.Request, web.Application]) -> asyncpg.Pool:
    return client.app[POOL]


def _token(headers: dict[str, str]) -> str:
    return headers["Authorization"].split()[1]


@pytest.fixture
async def new_page(browser: Browser, clock: FixedClock) -> AsyncIterator[NewPage]:
    async with watched_pages(browser, locale="da-DK", clock=clock) as new:
        yield new


async def _kiosk(
    new_page: NewPage, client: TestClient[web.Request, web.Application], token: str
) -> Page:
    page = await new_page()
    await page.add_init_script(COUNT_PRINTS)
    await page.goto(str(client.make_url("/kiosk")))
    await page.get_by_label("Brugernavn").fill("frida")
    await page.get_by_label("Din adgangsnøgle").fill(token)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("radio", name="Familiesammenføring")).to_be_visible()
    return page


async def _offered(
    client: TestClient[web.Request, web.Application], headers: dict[str, str]
) -> list[dict[str, Any]]:
    """The contacts offered to this caseworker, as soon as the router has offered one."""
    async with asyncio.timeout(15):
        while True:
            desk = await (await client.get("/api/desk", headers=headers)).json()
            offered = [c for c in desk["contacts"] if c["state"] == "offered"]
            if offered:
                return offered
            await asyncio.sleep(0.1)


async def _issue(
    client: TestClient[web.Request, web.Application], headers: dict[str, str]
) -> dict[str, Any]:
    body = {"case_type": "family", "request_id": uuid.uuid4().hex}
    response = await client.post("/api/tickets", json=body, headers=headers)
    assert response.status == 201
    return dict(await response.json())


@pytest.mark.timeout(120)
async def test_a_kiosk_ticket_called_to_counter_3_shows_live_on_the_board_and_the_status(
    centre: TestClient[web.Request, web.Application], new_page: NewPage
) -> None:
    pool = _pool(centre)
    supervisor = await token_for(pool, "sofie", Role.SUPERVISOR)
    front = await token_for(pool, "frida", Role.FRONTDESK)
    karin = await token_for(pool, "karin", Role.AGENT)

    status = await new_page()
    await status.goto(str(centre.make_url("/status")))
    family = status.locator('.queueCard[data-queue="family"]')
    await expect(family.locator(".name")).to_have_text("Familiesammenføring")
    await expect(family.locator(".openState")).to_have_text("Åben")
    await expect(family.locator(".waiting")).to_have_text("0")
    await expect(family.locator(".serving")).to_have_text("–")

    board = await new_page()
    await board.goto(str(centre.make_url("/board")))
    await expect(board.get_by_text("Ingen numre er kaldt op endnu.")).to_be_visible()

    kiosk = await _kiosk(new_page, centre, _token(front))
    await expect(kiosk.locator('#queueList li[data-queue="family"]')).to_contain_text("åben")
    await kiosk.get_by_role("radio", name="Familiesammenføring").check()
    await kiosk.get_by_role("button", name="Udskriv nummer").click()
    ticket = kiosk.get_by_role("article", name="Kønummer")
    await expect(ticket.locator(".ticketNumber")).to_have_text("A001")
    await expect(ticket.locator(".ticketQueue")).to_have_text("Familiesammenføring")
    await expect(ticket).to_contain_text("Forventet ventetid: ca. 0 min")
    await expect(ticket).to_contain_text("Du er den næste i køen")
    await expect(ticket).to_contain_text("Udskrevet 12. marts 2025 kl. 10.00")
    await expect(ticket).to_contain_text("Følg køen på")
    await expect(ticket.locator("#ticketUrl")).to_have_text(str(centre.make_url("/status")))
    # A function, not an expression: Playwright evals an expression on every poll, which
    # the pages' CSP refuses once the first check has failed.
    await kiosk.wait_for_function("() => window.printed === 1")  # printed on the next frame
    await expect(family.locator(".waiting")).to_have_text("1", timeout=10_000)

    # The next visitor speaks English: their ticket is in English.
    await kiosk.get_by_role("button", name="Næste besøgende").click()
    await kiosk.get_by_role("radio", name="Familiesammenføring").check()
    await kiosk.get_by_role("radio", name="English").check()
    await kiosk.get_by_role("button", name="Udskriv nummer").click()
    await expect(ticket.locator(".ticketNumber")).to_have_text("A002")
    await expect(ticket.locator(".ticketQueue")).to_have_text("Family reunification")
    await expect(ticket).to_contain_text("Estimated wait: approx. 10 min")
    await expect(ticket).to_contain_text("1 ahead of you")
    await kiosk.wait_for_function("() => window.printed === 2")  # printed on the next frame
    await expect(family.locator(".waiting")).to_have_text("2", timeout=10_000)
    await expect(family.locator(".wait")).to_have_text("ca. 20 min")

    # A caseworker at counter 3 takes the first ticket: it is called to counter 3.
    profile = {"skills": {"family": 4}, "languages": ["da", "en"], "counter": "3"}
    assert (await centre.put("/api/agents/karin", json=profile, headers=supervisor)).status == 200
    available = await centre.post("/api/desk/state", json={"state": "available"}, headers=karin)
    assert available.status == 200
    offer = (await _offered(centre, karin))[0]
    accepted = await centre.post(f"/api/desk/contacts/{offer['reference']}/accept", headers=karin)
    assert accepted.status == 200

    newest = board.locator(".call.newest")
    await expect(newest.locator(".number")).to_have_text("A001", timeout=10_000)
    await expect(newest.locator(".counterNumber")).to_have_text("3")
    # In every client language, the agency's first first.
    await expect(newest.locator(".counterLabel")).to_have_text(
        "Skranke / Counter / الشباك / Вікно / Gişe"
    )
    await expect(newest).to_have_class("call newest flash")
    await expect(board.locator("#announce")).to_have_text(
        "A001: skranke 3 / counter 3 / الشباك 3 / вікно 3 / gişe 3"
    )
    await expect(family.locator(".serving")).to_have_text("A001", timeout=10_000)
    await expect(family.locator(".waiting")).to_have_text("1")

    await status.locator("#lang").select_option("en")
    await expect(family.locator(".name")).to_have_text("Family reunification")
    await expect(family.get_by_text("Now serving")).to_be_visible()
    await expect(family.locator(".openState")).to_have_text("Open")


async def test_a_double_click_on_the_kiosk_prints_one_ticket(
    centre: TestClient[web.Request, web.Application], new_page: NewPage
) -> None:
    pool = _pool(centre)
    front = await token_for(pool, "frida", Role.FRONTDESK)
    kiosk = await _kiosk(new_page, centre, _token(front))
    await kiosk.get_by_role("radio", name="Visum").check()
    await kiosk.get_by_role("button", name="Udskriv nummer").dblclick()
    await expect(kiosk.locator(".ticketNumber")).to_have_text("E001")
    assert await pool.fetchval("SELECT count(*) FROM tickets") == 1
    await kiosk.wait_for_function("() => window.printed === 1")  # printed on the next frame
    await kiosk.wait_for_timeout(300)  # and not a second time
    assert await kiosk.evaluate("window.printed") == 1

    # The next visitor gets the next number: a new press, a new request id.
    await kiosk.get_by_role("button", name="Næste besøgende").click()
    await expect(kiosk.get_by_role("radio", name="Visum")).not_to_be_checked()
    await kiosk.get_by_role("radio", name="Visum").check()
    await kiosk.get_by_role("button", name="Udskriv nummer").click()
    await expect(kiosk.locator(".ticketNumber")).to_have_text("E002")


async def test_pressing_again_after_a_lost_answer_gives_the_same_ticket(
    centre: TestClient[web.Request, web.Application], new_page: NewPage
) -> None:
    pool = _pool(centre)
    front = await token_for(pool, "frida", Role.FRONTDESK)
    kiosk = await _kiosk(new_page, centre, _token(front))

    async def lose_the_answer(route: Route) -> None:
        await route.fetch()  # the daemon issues the ticket...
        await route.abort()  # ...but its answer never reaches the kiosk

    await kiosk.route("**/api/tickets", lose_the_answer)
    await kiosk.get_by_role("radio", name="Visum").check()
    await kiosk.get_by_role("button", name="Udskriv nummer").click()
    await expect(kiosk.locator("#error")).to_contain_text("Ingen forbindelse til serveren")
    await kiosk.unroute("**/api/tickets")

    await kiosk.get_by_role("button", name="Udskriv nummer").click()
    await expect(kiosk.locator(".ticketNumber")).to_have_text("E001")
    await expect(kiosk.locator("#issuedNote")).to_have_text(
        "Nummeret var allerede oprettet ved det samme tryk; her er det igen."
    )
    assert await pool.fetchval("SELECT count(*) FROM tickets") == 1


async def test_the_kiosk_shows_what_is_wrong_next_to_the_field(
    centre: TestClient[web.Request, web.Application], new_page: NewPage
) -> None:
    pool = _pool(centre)
    front = await token_for(pool, "frida", Role.FRONTDESK)
    kiosk = await _kiosk(new_page, centre, _token(front))
    print_button = kiosk.get_by_role("button", name="Udskriv nummer")

    await print_button.click()
    await expect(kiosk.locator("#caseTypeError")).to_have_text("Vælg hvad det drejer sig om.")

    await kiosk.get_by_role("radio", name="Arbejde", exact=True).check()
    await expect(kiosk.locator("#caseTypeError")).to_be_hidden()
    phone = kiosk.get_by_label("Mobilnummer til sms (valgfrit)")
    await phone.fill("12")
    await print_button.click()
    await expect(kiosk.locator("#phoneError")).to_contain_text(
        "Det nummer kan vi ikke sende sms til"
    )
    await expect(phone).to_have_attribute("aria-invalid", "true")
    await expect(phone).to_be_focused()

    await phone.fill("20 12 34 56")
    await print_button.click()
    await expect(kiosk.locator(".ticketNumber")).to_have_text("B001")
    assert await pool.fetchval("SELECT count(*) FROM tickets") == 1


@pytest.mark.parametrize("clock", [FixedClock(SATURDAY)], ids=["saturday"])
async def test_a_closed_kiosk_says_when_the_service_centre_opens(
    centre: TestClient[web.Request, web.Application], new_page: NewPage
) -> None:
    saturday = centre  # on a Saturday, when the service centre is closed
    pool = _pool(saturday)
    front = await token_for(pool, "frida", Role.FRONTDESK)
    kiosk = await _kiosk(new_page, saturday, _token(front))
    await expect(kiosk.locator("#closedBanner")).to_contain_text("Servicecentret er lukket.")
    await expect(kiosk.locator("#closedBanner")).to_contain_text("17. marts kl. 08.00")

    await kiosk.get_by_role("radio", name="Familiesammenføring").check()
    await kiosk.get_by_role("button", name="Udskriv nummer").click()
    error = kiosk.locator("#error")
    await expect(error).to_contain_text("Servicecentret er lukket for denne sagstype. Det åbner ")
    await expect(error).to_contain_text("17. marts kl. 08.00")
    await expect(kiosk.locator("#issued")).to_be_hidden()
    assert await kiosk.evaluate("window.printed") == 0
    assert await pool.fetchval("SELECT count(*) FROM tickets") == 0

    status = await new_page()
    await status.goto(str(saturday.make_url("/status?lang=en")))
    family = status.locator('.queueCard[data-queue="family"]')
    await expect(family.locator(".openState")).to_contain_text("Closed – opens ")
    await expect(family.locator(".openState")).to_contain_text("17 March at 08:00")


async def test_the_board_says_it_reconnects_and_shows_the_calls_when_it_is_back(
    centre: TestClient[web.Request, web.Application], new_page: NewPage
) -> None:
    board = await new_page()
    await board.route("**/api/board/events", lambda route: route.abort())
    await board.goto(str(centre.make_url("/board")))
    reconnecting = board.locator("#connection")
    await expect(reconnecting).to_be_visible()
    await expect(reconnecting).to_have_text(
        "Forbinder igen… / Reconnecting… / جارٍ إعادة الاتصال… / Відновлення з'єднання… / "
        "Yeniden bağlanılıyor…"
    )

    await board.unroute("**/api/board/events")
    await expect(reconnecting).to_be_hidden(timeout=15_000)
    await expect(board.get_by_text("Ingen numre er kaldt op endnu.")).to_be_visible()


@pytest.mark.timeout(90)
async def test_a_caseworker_saves_a_counter_calls_a_visitor_three_times_then_a_no_show(
    centre: TestClient[web.Request, web.Application], new_page: NewPage
) -> None:
    pool = _pool(centre)
    supervisor = await token_for(pool, "sofie", Role.SUPERVISOR)
    front = await token_for(pool, "frida", Role.FRONTDESK)
    karin = await token_for(pool, "karin", Role.AGENT)
    profile = {"skills": {"family": 4}, "languages": ["da"]}
    assert (await centre.put("/api/agents/karin", json=profile, headers=supervisor)).status == 200
    issued = await _issue(centre, front)

    desk = await new_page()
    await desk.goto(str(centre.make_url("/desk")))
    await desk.get_by_label("Brugernavn").fill("karin")
    await desk.get_by_label("Din adgangsnøgle").fill(_token(karin))
    await desk.keyboard.press("Enter")
    await desk.get_by_role("button", name="Klar").click()
    item = desk.locator(f'.contact[data-reference="{issued["reference"]}"]')
    # No counter yet: a numbered ticket is not offered (it could not be called)...
    await desk.wait_for_timeout(1000)
    await expect(item).to_have_count(0)
    counter = desk.get_by_label("Skranke", exact=True)
    await counter.fill("3")
    await desk.get_by_role("button", name="Gem skranke").click()
    await expect(desk.locator("#counterStatus")).to_have_text("Skranke 3 er gemt.")
    # ...and once the caseworker sits at one, it is.
    await expect(item).to_have_attribute("data-state", "offered", timeout=10_000)

    await item.get_by_role("button", name="Kald op").click()
    await expect(item).to_have_attribute("data-state", "active")
    await item.get_by_role("button", name="Udeblevet").click()
    await expect(desk.locator("#error")).to_have_text(
        "Kald nummeret op flere gange, før du melder den besøgende udeblevet."
    )
    await item.get_by_role("button", name="Kald igen").click()
    await expect(item.locator(".calls")).to_have_text("Kaldt op 2 gange.")
    await item.get_by_role("button", name="Kald igen").click()
    await expect(item.locator(".calls")).to_have_text("Kaldt op 3 gange.")
    await item.get_by_role("button", name="Udeblevet").click()
    await expect(desk.locator(".contact")).to_have_count(0)
    done = await (await centre.get(f"/api/contacts/{issued['reference']}", headers=front)).json()
    assert (done["state"], done["outcome"]) == ("done", "no_show")

    await desk.reload()  # the counter comes back from GET /api/desk
    await expect(desk.get_by_label("Skranke", exact=True)).to_have_value("3")


# Wednesday 12 March 2025 (WEDNESDAY), in Danish and in Arabic: the family queue's phone wait,
# its e-mail goal and the median answer of the last 7 days, as the status page words them.
BESIDE = {
    "da": {"phone": "Telefonen", "open": "Åben", "wait": "ca. 15 min", "email": "E-mail",
           "goal": "svar senest den 5. arbejdsdag", "recent": "0,5 arbejdsdage",
           "none": "ingen e-mails besvaret", "name": "Familiesammenføring"},
    "ar": {"phone": "الخط الهاتفي", "open": "مفتوحة", "wait": "حوالي 15 د",
           "email": "البريد الإلكتروني", "goal": "الرد في موعد أقصاه يوم العمل رقم 5",
           "recent": "0.5 يوم عمل", "none": "لا توجد رسائل تم الرد عليها",
           "name": "لمّ شمل الأسرة"},
}  # fmt: skip


async def _hotline_and_inbox_in_use(client: TestClient[web.Request, web.Application]) -> None:
    """Three family calls wait for Karin, who is on a break; a call took 5 minutes today; a
    family e-mail was answered yesterday after 4 of the office's 8 open hours."""
    pool = _pool(client)
    supervisor = await token_for(pool, "sofie", Role.SUPERVISOR)
    karin = await token_for(pool, "karin", Role.AGENT)
    profile = {"skills": {"family": 4}, "languages": ["da"]}
    assert (await client.put("/api/agents/karin", json=profile, headers=supervisor)).status == 200
    away = await client.post("/api/desk/state", json={"state": "away"}, headers=karin)
    assert away.status == 200
    now = WEDNESDAY
    await insert_contacts(
        pool, created=now - timedelta(hours=1), due=now, answered=now - timedelta(minutes=50),
        closed=now - timedelta(minutes=45), outcome="answered",
    )  # fmt: skip
    await insert_contacts(
        pool, created=now - timedelta(minutes=3), due=now, state="queued", count=3
    )
    received, answered = now.replace(day=11, hour=8), now.replace(day=11, hour=12)
    await insert_contacts(
        pool, channel="email", created=received, due=now, first_response=answered,
        closed=answered, outcome="answered",
    )  # fmt: skip
    await pool.execute("SELECT pg_notify('contactd_contacts', '')")


@pytest.mark.parametrize("lang", ["da", "ar"])
async def test_the_status_shows_the_phone_line_and_e_mail_beside_the_service_centre(
    centre: TestClient[web.Request, web.Application], new_page: NewPage, lang: str
) -> None:
    await _hotline_and_inbox_in_use(centre)
    words = BESIDE[lang]
    status = await new_page()
    await status.goto(str(centre.make_url(f"/status?lang={lang}")))
    await expect(status.locator("html")).to_have_attribute("dir", "rtl" if lang == "ar" else "ltr")

    phone = status.get_by_role("region", name=words["phone"])
    await expect(phone.locator(".openState")).to_have_text(words["open"])
    family = phone.locator('tr[data-queue="family"]')
    await expect(family.get_by_role("rowheader")).to_have_text(words["name"])
    await expect(family.locator(".waiting")).to_have_text("3", timeout=10_000)
    await expect(family.locator(".wait")).to_have_text(words["wait"])

    email = status.get_by_role("region", name=words["email"])
    family = email.locator('tr[data-queue="family"]')
    await expect(family.locator(".goal")).to_have_text(words["goal"])
    await expect(family.locator(".recent")).to_have_text(words["recent"])
    await expect(email.locator('tr[data-queue="visa"] .recent')).to_have_text(words["none"])
    # Right to left in Arabic: the first column, the topic, stands at the right.
    cells = await email.locator("thead th").evaluate_all(
        "(all) => all.map((th) => th.getBoundingClientRect().left)"
    )
    assert cells == sorted(cells, reverse=(lang == "ar"))


@pytest.mark.parametrize("clock", [FixedClock(SATURDAY)], ids=["saturday"])
async def test_the_status_says_when_the_phone_line_opens_while_it_is_closed(
    centre: TestClient[web.Request, web.Application], new_page: NewPage
) -> None:
    status = await new_page()
    await status.goto(str(centre.make_url("/status?lang=en")))
    phone = status.get_by_role("region", name="The phone line")
    # calendars.phone opens at 09:00 on weekdays: on Monday 17 March.
    await expect(phone.locator(".openState")).to_have_text(
        "Closed – opens Monday 17 March at 09:00"
    )
    await expect(phone.get_by_role("table")).to_be_hidden()
