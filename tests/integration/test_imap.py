"""A real Dovecot mailbox read by the IMAP reader: each message one contact, flagged only
after its contact is committed, so a failure in between loses nothing and duplicates
nothing."""

from __future__ import annotations

import asyncio
import dataclasses
import email
import email.policy
import imaplib
import os
import socket
from collections.abc import Iterator, Mapping
from email.message import EmailMessage
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from channels.email.acknowledge import AckSettings, acknowledgement
from channels.email.imap import MailboxSettings, read_new
from channels.email.message import ParsedMail
from channels.email.smtp import SmtpSettings
from channels.email.smtp import send as smtp_send
from channels.ports import OutboxItem
from contactd import outbox, settings
from contactd.app import create_app
from contactd.appkeys import POOL
from contactd.intake import Intake
from contactd.settings import Settings
from routing.contact import Contact, NewContact
from tests import mailserver
from tests.conftest import ROOT


@pytest.fixture
def imap_port() -> Iterator[int]:
    if not os.path.exists(mailserver.DOVECOT):
        if os.environ.get("CI") == "true":
            pytest.fail("Dovecot is missing; scripts/bootstrap --dev installs it")
        pytest.skip("Dovecot is not installed (apt-get install dovecot-imapd)")
    with mailserver.dovecot() as port:
        yield port


def _append(port: int, raw: bytes) -> None:
    client = imaplib.IMAP4("127.0.0.1", port)
    try:
        client.login(mailserver.USER, mailserver.PASSWORD)
        client.append("INBOX", "", None, raw)
    finally:
        client.logout()


def _unseen(port: int) -> int:
    client = imaplib.IMAP4("127.0.0.1", port)
    try:
        client.login(mailserver.USER, mailserver.PASSWORD)
        client.select("INBOX")
        _, data = client.uid("search", "UNSEEN")
        return len(data[0].split())
    finally:
        client.logout()


def _settings(port: int) -> MailboxSettings:
    return MailboxSettings(
        name="kontakt", host="127.0.0.1", port=port, user=mailserver.USER,
        password=mailserver.PASSWORD, ssl=False, timeout_seconds=5,
    )  # fmt: skip


VISA = (
    b"From: Anna Jensen <anna@example.dk>\r\nTo: kontakt@nyidanmark.example\r\n"
    b"Subject: Visum\r\nMessage-ID: <visa-1@example.dk>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
    b"Jeg s\xc3\xb8ger visum til min s\xc3\xb8ster.\r\n"
)
NO_ID = b"From: ole@example.dk\r\nSubject: Uden id\r\n\r\nHej\r\n"


async def test_each_message_becomes_one_contact_and_is_flagged_after(
    imap_port: int, pool: asyncpg.Pool, config: Settings
) -> None:
    _append(imap_port, VISA)
    _append(imap_port, NO_ID)
    intake = Intake(pool, config)
    assert await read_new(_settings(imap_port), intake) == 2
    assert _unseen(imap_port) == 0
    rows = await pool.fetch("SELECT * FROM contacts ORDER BY id")
    assert [(r["channel"], r["client_address"], r["subject"]) for r in rows] == [
        ("email", "anna@example.dk", "Visum"),
        ("email", "ole@example.dk", "Uden id"),
    ]
    assert rows[0]["external_id"] == "<visa-1@example.dk>"
    assert rows[0]["body"] == "Jeg søger visum til min søster."
    assert rows[1]["external_id"].startswith("imap:kontakt:")

    # Delivered twice (a resent mail, a re-read after a crash): still one contact.
    _append(imap_port, VISA)
    assert await read_new(_settings(imap_port), intake) == 1
    assert await pool.fetchval("SELECT count(*) FROM contacts") == 2


async def test_a_failure_before_the_commit_leaves_the_message_to_read_again(
    imap_port: int, pool: asyncpg.Pool, config: Settings
) -> None:
    _append(imap_port, VISA)
    intake = Intake(pool, config)

    class Failing:
        async def submit(
            self, new: NewContact, *, actor: str, outbox: object = None
        ) -> tuple[Contact, bool]:
            raise ConnectionError("the database went away")

    with pytest.raises(ConnectionError):
        await read_new(_settings(imap_port), Failing())  # type: ignore[arg-type]
    assert _unseen(imap_port) == 1  # not flagged: nothing was committed
    assert await read_new(_settings(imap_port), intake) == 1
    assert _unseen(imap_port) == 0
    assert await pool.fetchval("SELECT count(*) FROM contacts") == 1


async def test_a_wrong_password_is_a_clear_error(
    imap_port: int, config: Settings, pool: asyncpg.Pool
) -> None:
    wrong = MailboxSettings(
        name="kontakt", host="127.0.0.1", port=imap_port, user=mailserver.USER,
        password="wrong", ssl=False, timeout_seconds=5,
    )  # fmt: skip
    with pytest.raises(Exception, match="mailbox kontakt: login refused"):
        await read_new(wrong, Intake(pool, config))


def _daemon_config(db_url: str, imap_port: int, **env: str) -> Settings:
    """The shipped configuration with the test's Dovecot mailbox, read every 0.1 s."""
    return settings.load(
        ROOT / "config" / "contactd.toml",
        environ={
            "CONTACTD_DATABASE_URL": db_url,
            "CONTACTD_CLASSIFIER__ENABLED": "false",
            "CONTACTD_EMAIL__POLL_SECONDS": "0.1",
            "CONTACTD_EMAIL__MAILBOXES": (
                f'{{ kontakt = {{ host = "127.0.0.1", port = {imap_port}, '
                f'user = "{mailserver.USER}", ssl = false }} }}'
            ),
            "CONTACTD_MAILBOX_KONTAKT_PASSWORD": mailserver.PASSWORD,
            **env,
        },
    )


async def test_the_leader_reads_a_configured_mailbox(imap_port: int, db_url: str) -> None:
    config = _daemon_config(db_url, imap_port)
    async with TestClient(TestServer(create_app(config))) as client:
        _append(imap_port, VISA)
        pool: asyncpg.Pool = client.app[POOL]  # type: ignore[index]
        for _ in range(100):
            if await pool.fetchval("SELECT count(*) FROM contacts"):
                break
            await asyncio.sleep(0.05)
        contact = await pool.fetchrow("SELECT * FROM contacts")
    assert (contact["channel"], contact["external_id"]) == ("email", "<visa-1@example.dk>")
    assert _unseen(imap_port) == 0


class Received:
    """An aiosmtpd handler that keeps what it is sent (a real SMTP server, in this process)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)  # type: ignore[arg-type]
        )
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Received, int]]:
    received = Received()

    def authenticate(
        server: object, session: object, envelope: object, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = auth_data.login == b"contactd" and auth_data.password == b"smtp-secret"
        return AuthResult(success=ok)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(
        received, hostname="127.0.0.1", port=port, authenticator=authenticate,
        auth_require_tls=False,
    )  # fmt: skip
    controller.start()
    try:
        yield received, port
    finally:
        controller.stop()


async def test_a_new_mail_is_acknowledged_by_smtp_and_an_auto_reply_is_not(
    imap_port: int, pool: asyncpg.Pool, config: Settings, smtp: tuple[Received, int]
) -> None:
    received, smtp_port = smtp
    _append(imap_port, VISA)
    _append(
        imap_port,
        b"From: anna@example.dk\r\nSubject: Out of office\r\nAuto-Submitted: auto-replied\r\n"
        b"Message-ID: <ooo-1@example.dk>\r\n\r\nJeg er p\xc3\xa5 ferie.\r\n",
    )
    ack = AckSettings(address="kontakt@nyidanmark.example", timezone=config.timezone)

    def acknowledge(contact: Contact, mail: ParsedMail) -> list[OutboxItem]:
        return [acknowledgement(contact, mail, config.case_types[contact.case_type], ack)]

    mailbox = dataclasses.replace(
        _settings(imap_port), own_addresses=frozenset({"kontakt@nyidanmark.example"})
    )
    assert await read_new(mailbox, Intake(pool, config), acknowledge) == 2
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 1  # not to the auto-reply

    server = SmtpSettings(
        host="127.0.0.1", port=smtp_port, starttls=False, user="contactd", password="smtp-secret"
    )

    async def send_email(payload: Mapping[str, Any], key: str) -> str:
        return await smtp_send(server, payload)

    await outbox.send_due(
        pool, {"email": send_email}, batch=10, lease_seconds=60, max_attempts=3,
        backoff_seconds=1, max_backoff_seconds=60, concurrency=1,
    )  # fmt: skip
    [sent] = received.messages
    reference = await pool.fetchval(
        "SELECT reference FROM contacts WHERE external_id = '<visa-1@example.dk>'"
    )
    assert sent["To"] == "anna@example.dk"
    assert sent["Subject"] == f"Vi har modtaget din henvendelse [{reference}]"
    assert (sent["In-Reply-To"], sent["Auto-Submitted"]) == ("<visa-1@example.dk>", "auto-replied")
    assert f"Din reference: {reference}" in sent.get_content()
    row = await pool.fetchrow("SELECT sent_at, payload FROM outbox")
    assert row["sent_at"] is not None
    assert sent["Message-ID"].strip() == row["payload"]["message_id"]


async def test_the_daemon_reads_the_mailbox_and_the_acknowledgement_arrives(
    imap_port: int, db_url: str, smtp: tuple[Received, int]
) -> None:
    received, smtp_port = smtp
    config = _daemon_config(
        db_url,
        imap_port,
        CONTACTD_EMAIL__ADDRESS="kontakt@nyidanmark.example",
        CONTACTD_EMAIL__SMTP=(
            f'{{ host = "127.0.0.1", port = {smtp_port}, starttls = false, user = "contactd" }}'
        ),
        CONTACTD_SMTP_PASSWORD="smtp-secret",
        CONTACTD_OUTBOX__POLL_SECONDS="0.1",
    )
    async with TestClient(TestServer(create_app(config))) as client:
        _append(imap_port, VISA)
        for _ in range(200):
            if received.messages:
                break
            await asyncio.sleep(0.05)
        pool: asyncpg.Pool = client.app[POOL]  # type: ignore[index]
        reference = await pool.fetchval("SELECT reference FROM contacts")
    [ack] = received.messages
    assert ack["Subject"] == f"Vi har modtaget din henvendelse [{reference}]"
    assert ack["From"] == "kontakt@nyidanmark.example"
