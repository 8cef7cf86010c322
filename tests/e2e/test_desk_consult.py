"""A consult transfer on the desk in a real browser (Debian's chromium, playwright): Karin,
talking to a caller, writes a colleague's name and asks to talk to him first; the desk says
the caller is on hold while his phone rings, then that she talks to him, and only then lets
her hand the call over, after which the call leaves her desk. Twilio's REST API is Prism in
proxy mode in front of the stateful double of tests/integration/test_outbox_safety.py."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import Browser, expect

from contactd.app import create_app
from contactd.clock import Clock
from contactd.http.appkeys import POOL
from contactd.store.staff import Role
from tests.conftest import token_for
from tests.e2e.conftest import NewPage, watched_pages
from tests.integration import test_outbox_safety as safety
from tests.integration.test_call_transfer import CALL, _agent, _answers
from tests.integration.test_outbox_safety import (
    JENS_PHONE,
    KARIN_PHONE,
    PUBLIC,
    TwilioDouble,
    _config,
    _offered,
    _signed,
    _until,
)

proxied = safety.proxied
twilio = safety.twilio
Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def daemon(
    db_url: str, clock: Clock, proxied: tuple[TwilioDouble, str]
) -> AsyncIterator[Client]:
    async with TestClient(TestServer(create_app(_config(db_url, proxied[1]), clock=clock))) as c:
        yield c


@pytest.fixture
async def new_page(browser: Browser, clock: Clock) -> AsyncIterator[NewPage]:
    async with watched_pages(browser, locale="da-DK", clock=clock) as new:
        yield new


@pytest.mark.timeout(120)
async def test_a_caseworker_consults_a_colleague_then_hands_the_call_over(
    daemon: Client, new_page: NewPage, twilio: TwilioDouble
) -> None:
    pool: asyncpg.Pool = daemon.app[POOL]
    karin = await _agent(daemon, "karin", KARIN_PHONE, {"family": 3})
    await _agent(daemon, "jens", JENS_PHONE, {"work": 3})
    await _signed(daemon, f"{PUBLIC}/twilio/voice", CALL)
    await _signed(
        daemon, f"{PUBLIC}/twilio/menu?lang=da&then=queue&tries=0", {**CALL, "Digits": "1"}
    )
    reference = await _offered(daemon, karin)
    assert reference is not None
    page = await new_page()
    await page.goto(str(daemon.make_url("/desk")))
    await page.locator("#login").fill("karin")
    await page.locator("#token").fill(karin["Authorization"].split()[1])
    await page.keyboard.press("Enter")
    item = page.locator(".contact").first
    await item.get_by_role("button", name="Tag imod").click()
    await _answers(daemon, twilio, 0)  # her phone rings into the call's conference: she answers

    await item.locator(".colleague").fill("jens")
    await item.get_by_role("button", name="Tal med kollegaen først").click()
    status = item.locator(".consulting")
    await expect(status).to_contain_text("Borgeren venter i røret. Vi ringer til jens")
    await expect(item.get_by_role("button", name="Overdrag opkaldet")).to_be_disabled()
    await _until(lambda: len(twilio.dialled_in) == 2, "Jens's phone is dialled in")
    await _answers(daemon, twilio, 1)
    await expect(status).to_contain_text("Borgeren venter i røret. Du taler med jens.")
    await item.get_by_role("button", name="Overdrag opkaldet").click()
    await expect(page.locator(".contact")).to_have_count(0)
    holder = await pool.fetchval(
        "SELECT s.login FROM contacts c JOIN staff s ON s.id = c.agent_id WHERE reference = $1",
        reference,
    )
    assert holder == "jens"
    boss = await token_for(pool, "sofie", Role.SUPERVISOR)
    timeline = await (await daemon.get(f"/api/contacts/{reference}/timeline", headers=boss)).json()
    steps = [(e["action"], e["actor"]) for e in timeline["history"]]
    assert steps[-5:] == [  # both legs: Karin's consultation, then the call taken by Jens
        ("consult", "staff:karin"),
        ("consult_answered", "twilio"),
        ("requeue", "staff:karin"),
        ("offer", "staff:karin"),
        ("accept", "staff:karin"),
    ]
