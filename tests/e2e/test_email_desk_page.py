"""An e-mail on the desk page in a real browser (Debian's chromium): read from a real Dovecot,
shown as text with its HTML in a sandboxed frame and its attachment to download, answered
from the page, and the answer delivered by a real SMTP server."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import Browser, expect

from contactd.app import create_app
from contactd.clock import Clock
from contactd.http.appkeys import POOL
from contactd.store.staff import Role
from tests import mailserver
from tests.conftest import token_for
from tests.e2e.conftest import off_clock

AGENCY = "kontakt@nyidanmark.example"


def _mail() -> bytes:
    message = EmailMessage()
    message["From"] = "Anna Jensen <anna@example.dk>"
    message["To"] = AGENCY
    message["Subject"] = "Visum til min søster"
    message["Message-ID"] = "<anna-1@example.dk>"
    message.set_content("Hej, hvad skal jeg sende?")
    message.add_alternative(
        "<p>Hej, <b>hvad</b> skal jeg sende?</p><script>parent.document.title='hacked'</script>",
        subtype="html",
    )
    message.add_attachment(
        b"%PDF-1.4 pas", maintype="application", subtype="pdf", filename="pas.pdf"
    )
    return message.as_bytes()


@pytest.mark.timeout(120)
async def test_a_caseworker_reads_and_answers_an_email_on_the_desk_page(
    imap_port: int,
    db_url: str,
    smtp: tuple[mailserver.Smtp, int],
    browser: Browser,
    clock: Clock,
) -> None:
    received, smtp_port = smtp
    config = mailserver.answering_config(db_url, imap_port, smtp_port)
    async with TestClient(TestServer(create_app(config, clock=clock))) as client:
        pool: asyncpg.Pool = client.app[POOL]
        supervisor = await token_for(pool, "sofie", Role.SUPERVISOR)
        karin = await token_for(pool, "karin", Role.AGENT)
        profile = {"skills": {"general": 3}, "languages": ["da"]}
        await client.put("/api/agents/karin", json=profile, headers=supervisor)

        page = await browser.new_page(locale="da-DK", accept_downloads=True)
        await off_clock(page, clock)
        await page.goto(str(client.make_url("/desk")))
        await page.get_by_label("Din adgangsnøgle").fill(karin["Authorization"].split()[1])
        await page.keyboard.press("Enter")
        await page.get_by_role("button", name="Klar").click()
        title = await page.title()

        mailserver.append(imap_port, _mail())
        item = page.locator(".contact")
        await expect(item).to_have_attribute("data-state", "offered", timeout=20_000)
        await item.get_by_role("button", name="Tag imod").click()
        await expect(item).to_have_attribute("data-state", "active")

        first = item.locator(".message").first
        await expect(first.locator(".messageText")).to_have_text("Hej, hvad skal jeg sende?")
        await first.get_by_role("button", name="Vis formateret").click()
        frame = first.frame_locator("iframe.html")
        await expect(frame.locator("b")).to_have_text("hvad")
        assert await page.title() == title  # nothing from the mail ran

        async with page.expect_download() as waiting:
            await first.get_by_role("button", name="pas.pdf").click()
        download = await waiting.value
        assert download.suggested_filename == "pas.pdf"
        assert (await download.path()).read_bytes() == b"%PDF-1.4 pas"

        await item.get_by_label("Dit svar").fill("Kære Anna\n\nSend pas og vielsesattest.")
        await item.get_by_role("button", name="Send svar").click()
        await expect(item.locator(".answerStatus")).to_have_text("Svaret er sendt.")
        await expect(item.locator(".message")).to_have_count(3)  # mail, acknowledgement, answer

        for _ in range(100):
            if len(received.messages) == 2:
                break
            await asyncio.sleep(0.05)
        answer = received.messages[-1]
        assert answer["In-Reply-To"] == "<anna-1@example.dk>"
        assert "Send pas og vielsesattest." in answer.get_content()
        await page.close()
