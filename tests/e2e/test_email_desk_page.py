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
        await page.get_by_label("Brugernavn").fill("karin")
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


def _forged() -> bytes:
    return (
        "Authentication-Results: mx.nyidanmark.example; dmarc=fail header.from=example.dk\r\n"
        "From: Anna Jensen <anna@example.dk>\r\nReply-To: anna@evil.example\r\n"
        f"To: {AGENCY}\r\nSubject: Ny adresse\r\nMessage-ID: <forged-1@example.dk>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nSvar mig på min nye adresse.\r\n"
    ).encode()


@pytest.mark.timeout(120)
async def test_the_page_shows_a_differing_reply_to_and_answers_it_only_when_ticked(
    imap_port: int,
    db_url: str,
    smtp: tuple[mailserver.Smtp, int],
    browser: Browser,
    clock: Clock,
) -> None:
    received, smtp_port = smtp
    boxes = (
        f'{{ kontakt = {{ host = "127.0.0.1", port = {imap_port}, user = "{mailserver.USER}", '
        'ssl = false, authserv_ids = ["mx.nyidanmark.example"] } }'
    )
    config = mailserver.answering_config(
        db_url, imap_port, smtp_port, CONTACTD_EMAIL__MAILBOXES=boxes
    )
    async with TestClient(TestServer(create_app(config, clock=clock))) as client:
        pool: asyncpg.Pool = client.app[POOL]
        supervisor = await token_for(pool, "sofie", Role.SUPERVISOR)
        karin = await token_for(pool, "karin", Role.AGENT)
        profile = {"skills": {"general": 3}, "languages": ["da"]}
        await client.put("/api/agents/karin", json=profile, headers=supervisor)

        page = await browser.new_page(locale="da-DK")
        await off_clock(page, clock)
        await page.goto(str(client.make_url("/desk")))
        await page.get_by_label("Brugernavn").fill("karin")
        await page.get_by_label("Din adgangsnøgle").fill(karin["Authorization"].split()[1])
        await page.keyboard.press("Enter")
        await page.get_by_role("button", name="Klar").click()
        mailserver.append(imap_port, _forged())
        item = page.locator(".contact")
        await expect(item).to_have_attribute("data-state", "offered", timeout=20_000)
        await expect(item.locator(".address")).to_have_text("anna@example.dk")
        await item.get_by_role("button", name="Tag imod").click()

        first = item.locator(".message").first
        await expect(first.locator(".replyTo")).to_contain_text("anna@evil.example")
        await expect(first.locator(".authentication")).to_have_text("Afsendertjek: DMARC fejlede")
        choice = item.get_by_label("Send svaret til Svar-til-adressen anna@evil.example")
        await expect(choice).not_to_be_checked()

        async def sent(count: int) -> None:
            for _ in range(100):
                if len(received.messages) == count:
                    return
                await asyncio.sleep(0.05)
            raise AssertionError(f"never {count} mails")

        await item.get_by_label("Dit svar").fill("Hvilken adresse skal vi bruge?")
        await item.get_by_role("button", name="Send svar").click()
        await expect(item.locator(".message")).to_have_count(3)  # mail, acknowledgement, answer
        await sent(2)
        assert received.messages[-1]["To"] == "anna@example.dk"

        await choice.check()
        await item.get_by_label("Dit svar").fill("Som du bad om.")
        await item.get_by_role("button", name="Send svar").click()
        await expect(item.locator(".message")).to_have_count(4)
        await sent(3)
        assert received.messages[-1]["To"] == "anna@evil.example"
        await page.close()
