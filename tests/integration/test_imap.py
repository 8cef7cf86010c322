"""A real Dovecot mailbox read by the IMAP reader: each message one contact, flagged only
after its contact is committed, so a failure in between loses nothing and duplicates
nothing."""

from __future__ import annotations

import asyncio
import imaplib
import os
from collections.abc import Iterator

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from channels.email.imap import MailboxSettings, read_new
from contactd import settings
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


async def test_the_leader_reads_a_configured_mailbox(imap_port: int, db_url: str) -> None:
    config = settings.load(
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
        },
    )
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
