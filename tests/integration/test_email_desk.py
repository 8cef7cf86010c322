"""A caseworker answers an e-mail from the desk: the daemon reads the mail from a real Dovecot,
offers it, shows it safely (cleaned HTML, attachments as downloads), sends the answer through
a real SMTP server threaded onto the client's mail, and threads the client's reply back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from email.message import EmailMessage
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from contactd.app import create_app
from contactd.clock import Clock
from contactd.http.appkeys import POOL
from contactd.store.staff import Role
from tests import mailserver
from tests.conftest import token_for

Client = TestClient[web.Request, web.Application]
AGENCY = "kontakt@nyidanmark.example"
PROFILE = {"skills": {"general": 3}, "languages": ["da", "en"]}


def _client_mail() -> bytes:
    message = EmailMessage()
    message["From"] = "Anna Jensen <anna@example.dk>"
    message["To"] = AGENCY
    message["Subject"] = "Visum til min søster"
    message["Message-ID"] = "<anna-1@example.dk>"
    message.set_content("Hej, hvad skal jeg sende?")
    message.add_alternative(
        "<p onclick='steal()'>Hej, <b>hvad</b> skal jeg sende?</p>"
        "<script>alert(1)</script><img src='https://tracker.example/p.gif'>"
        "<a href='javascript:alert(1)'>x</a><a href='https://nyidanmark.dk'>y</a>",
        subtype="html",
    )
    message.add_attachment(
        b"%PDF-1.4 pas", maintype="application", subtype="pdf", filename="pas æ.pdf"
    )
    return message.as_bytes()


@pytest.fixture
async def daemon(
    imap_port: int, db_url: str, smtp: tuple[mailserver.Smtp, int], clock: Clock
) -> AsyncIterator[Client]:
    _, smtp_port = smtp
    config = mailserver.answering_config(db_url, imap_port, smtp_port)
    async with TestClient(TestServer(create_app(config, clock=clock))) as client:
        yield client


async def _eventually(check: Any, what: str) -> Any:
    for _ in range(200):
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


async def test_a_caseworker_reads_an_email_safely_answers_it_and_the_reply_threads_back(
    daemon: Client, imap_port: int, smtp: tuple[mailserver.Smtp, int]
) -> None:
    received, _ = smtp
    pool: asyncpg.Pool = daemon.app[POOL]
    supervisor = await token_for(pool, "sofie", Role.SUPERVISOR)
    karin = await token_for(pool, "karin", Role.AGENT)
    jens = await token_for(pool, "jens", Role.AGENT)
    for login in ("karin", "jens"):
        await daemon.put(f"/api/agents/{login}", json=PROFILE, headers=supervisor)
    await daemon.post("/api/desk/state", json={"state": "available"}, headers=karin)

    mailserver.append(imap_port, _client_mail())

    async def offered() -> list[Any]:
        desk = await (await daemon.get("/api/desk", headers=karin)).json()
        return desk["contacts"]  # type: ignore[no-any-return]

    [contact] = await _eventually(offered, "the e-mail offered to karin")
    ref = contact["reference"]
    assert (await daemon.post(f"/api/desk/contacts/{ref}/accept", headers=karin)).status == 200
    await _eventually(lambda: _async(len(received.messages) == 1), "the acknowledgement")

    shown = await (await daemon.get(f"/api/desk/contacts/{ref}/messages", headers=karin)).json()
    first, ack = shown["messages"]
    assert (first["direction"], first["kind"], ack["kind"]) == ("in", "mail", "acknowledgement")
    assert first["text"] == "Hej, hvad skal jeg sende?"
    html = first["html"]
    assert "<b>hvad</b>" in html
    assert 'href="https://nyidanmark.dk"' in html
    for hostile in ("script", "onclick", "<img", "tracker.example", "javascript:"):
        assert hostile not in html
    [scan] = first["attachments"]
    assert (scan["filename"], scan["content_type"]) == ("pas æ.pdf", "application/pdf")
    download = await daemon.get(scan["url"], headers=karin)
    assert await download.read() == b"%PDF-1.4 pas"
    assert download.headers["Content-Type"] == "application/octet-stream"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    raw = await daemon.get(first["raw_url"], headers=karin)
    assert b"Message-ID: <anna-1@example.dk>" in await raw.read()
    assert (await daemon.get(scan["url"])).status == 401  # staff only
    # Another caseworker does not read karin's client's mail; a supervisor does.
    assert (await daemon.get(scan["url"], headers=jens)).status == 403
    assert (await daemon.get(f"/api/desk/contacts/{ref}/messages", headers=jens)).status == 403
    assert (await daemon.get(scan["url"], headers=supervisor)).status == 200

    # Only the caseworker holding it may answer.
    refused = await daemon.post(
        f"/api/desk/contacts/{ref}/answer", json={"text": "Hej"}, headers=jens
    )
    assert refused.status == 409
    answered = await daemon.post(
        f"/api/desk/contacts/{ref}/answer",
        json={"text": "Kære Anna\n\nSend pas og vielsesattest.\n\nKarin"},
        headers=karin,
    )
    assert answered.status == 200, await answered.text()
    assert (await answered.json())["first_response_at"] is not None

    await _eventually(lambda: _async(len(received.messages) == 2), "the answer")
    sent = received.messages[1]
    assert sent["To"] == "anna@example.dk"
    assert sent["From"] == AGENCY
    assert sent["Subject"] == f"Re: Visum til min søster [{ref}]"
    assert sent["In-Reply-To"] == "<anna-1@example.dk>"
    assert sent["References"].split() == ["<anna-1@example.dk>", ack_id(received)]
    assert sent["Auto-Submitted"] is None  # a person's answer, not an automatic one
    assert "Send pas og vielsesattest." in sent.get_content()
    assert f"Din reference: {ref}" in sent.get_content()

    # Anna answers the answer: the same contact, shown to karin, no new acknowledgement.
    reply = (
        f"From: anna@example.dk\r\nTo: {AGENCY}\r\nSubject: Re: {sent['Subject']}\r\n"
        f"Message-ID: <anna-2@example.dk>\r\nIn-Reply-To: {sent['Message-ID']}\r\n\r\n"
        "Tak, jeg sender dem.\r\n"
    ).encode()
    mailserver.append(imap_port, reply)

    async def conversation() -> list[Any] | None:
        data = await (await daemon.get(f"/api/desk/contacts/{ref}/messages", headers=karin)).json()
        return data["messages"] if len(data["messages"]) == 4 else None

    messages = await _eventually(conversation, "the reply on the contact")
    assert [m["kind"] for m in messages] == ["mail", "acknowledgement", "answer", "mail"]
    assert messages[3]["text"] == "Tak, jeg sender dem."
    assert await pool.fetchval("SELECT count(*) FROM contacts") == 1
    await asyncio.sleep(0.3)  # the outbox loop polls every 0.1 s
    assert len(received.messages) == 2


async def test_answering_what_cannot_be_answered_by_mail_is_refused_clearly(
    daemon: Client,
) -> None:
    pool: asyncpg.Pool = daemon.app[POOL]
    front = await token_for(pool, "frida", Role.FRONTDESK)
    created = await daemon.post(
        "/api/contacts", json={"channel": "ticket", "case_type": "family"}, headers=front
    )
    ref = (await created.json())["reference"]
    answer = await daemon.post(
        f"/api/desk/contacts/{ref}/answer", json={"text": "x"}, headers=front
    )
    assert answer.status == 409
    assert (await answer.json())["error"]["code"] == "not_email"
    empty = await daemon.post(f"/api/desk/contacts/{ref}/answer", json={"text": ""}, headers=front)
    assert empty.status == 422
    missing = await daemon.get("/api/desk/contacts/XXXX-XXXX/messages", headers=front)
    assert missing.status == 404


def ack_id(received: mailserver.Smtp) -> str:
    return str(received.messages[0]["Message-ID"]).strip()


async def _async(value: bool) -> bool:
    return value


def _forged_mail() -> bytes:
    """Anna's address in From, someone else's in Reply-To: DMARC covers From only. The
    receiving server (mx.nyidanmark.example) wrote the top Authentication-Results; the one
    below it came with the mail and claims what the sender likes."""
    return (
        "Authentication-Results: mx.nyidanmark.example; dkim=none;"
        " spf=softfail smtp.mailfrom=example.dk;\r\n"
        " dmarc=fail (p=NONE) header.from=example.dk\r\n"
        "Authentication-Results: mx.nyidanmark.example.evil; dmarc=pass\r\n"
        f"From: Anna Jensen <anna@example.dk>\r\nReply-To: Anna <anna@evil.example>\r\n"
        f"To: {AGENCY}\r\nSubject: Mit pas\r\nMessage-ID: <forged-1@example.dk>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nSend svaret til min nye adresse.\r\n"
    ).encode()


async def test_a_forged_reply_to_gets_the_answer_only_when_the_caseworker_chooses_it(
    imap_port: int, db_url: str, smtp: tuple[mailserver.Smtp, int], clock: Clock
) -> None:
    received, smtp_port = smtp
    boxes = (
        f'{{ kontakt = {{ host = "127.0.0.1", port = {imap_port}, user = "{mailserver.USER}", '
        'ssl = false, authserv_ids = ["mx.nyidanmark.example"] } }'
    )
    config = mailserver.answering_config(
        db_url, imap_port, smtp_port, CONTACTD_EMAIL__MAILBOXES=boxes
    )
    async with TestClient(TestServer(create_app(config, clock=clock))) as daemon:
        pool: asyncpg.Pool = daemon.app[POOL]
        supervisor = await token_for(pool, "sofie", Role.SUPERVISOR)
        karin = await token_for(pool, "karin", Role.AGENT)
        await daemon.put("/api/agents/karin", json=PROFILE, headers=supervisor)
        await daemon.post("/api/desk/state", json={"state": "available"}, headers=karin)
        mailserver.append(imap_port, _forged_mail())

        async def offered() -> list[Any]:
            desk = await (await daemon.get("/api/desk", headers=karin)).json()
            return desk["contacts"]  # type: ignore[no-any-return]

        [contact] = await _eventually(offered, "the e-mail offered to karin")
        assert contact["client_address"] == "anna@example.dk"  # From, not Reply-To
        ref = contact["reference"]
        await daemon.post(f"/api/desk/contacts/{ref}/accept", headers=karin)
        await _eventually(lambda: _async(len(received.messages) == 1), "the acknowledgement")
        assert received.messages[0]["To"] == "anna@example.dk"

        shown = await (await daemon.get(f"/api/desk/contacts/{ref}/messages", headers=karin)).json()
        mail = shown["messages"][0]
        # The caseworker sees the other address, and that the domain's DMARC check failed.
        assert mail["reply_to"] == "anna@evil.example"
        assert mail["authentication"] == {"dmarc": "fail"}

        url = f"/api/desk/contacts/{ref}/answer"
        plain = await daemon.post(url, json={"text": "Hvilken adresse?"}, headers=karin)
        assert plain.status == 200, await plain.text()
        await _eventually(lambda: _async(len(received.messages) == 2), "the answer")
        assert received.messages[1]["To"] == "anna@example.dk"

        chosen = await daemon.post(
            url, json={"text": "Som du bad om.", "to": "reply_to"}, headers=karin
        )
        assert chosen.status == 200, await chosen.text()
        await _eventually(lambda: _async(len(received.messages) == 3), "the chosen answer")
        assert received.messages[2]["To"] == "anna@evil.example"
        bad = await daemon.post(url, json={"text": "x", "to": "cc"}, headers=karin)
        assert bad.status == 422


async def test_choosing_reply_to_when_the_mail_had_none_is_refused_clearly(
    daemon: Client, imap_port: int
) -> None:
    pool: asyncpg.Pool = daemon.app[POOL]
    supervisor = await token_for(pool, "sofie", Role.SUPERVISOR)
    karin = await token_for(pool, "karin", Role.AGENT)
    await daemon.put("/api/agents/karin", json=PROFILE, headers=supervisor)
    await daemon.post("/api/desk/state", json={"state": "available"}, headers=karin)
    mailserver.append(imap_port, _client_mail())

    async def offered() -> list[Any]:
        desk = await (await daemon.get("/api/desk", headers=karin)).json()
        return desk["contacts"]  # type: ignore[no-any-return]

    [contact] = await _eventually(offered, "the e-mail offered to karin")
    ref = contact["reference"]
    await daemon.post(f"/api/desk/contacts/{ref}/accept", headers=karin)
    shown = await (await daemon.get(f"/api/desk/contacts/{ref}/messages", headers=karin)).json()
    # No Reply-To, and no receiving server configured to believe: nothing to show.
    assert (shown["messages"][0]["reply_to"], shown["messages"][0]["authentication"]) == (
        None, None,
    )  # fmt: skip
    refused = await daemon.post(
        f"/api/desk/contacts/{ref}/answer", json={"text": "x", "to": "reply_to"}, headers=karin
    )
    assert refused.status == 409
    assert (await refused.json())["error"]["code"] == "no_reply_to"
