"""A real Dovecot mailbox read by the IMAP reader: each message one contact, flagged only
after its contact is committed, so a failure in between loses nothing and duplicates
nothing; replies thread, bounces are recorded, and the session survives a server restart."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from channels.email.imap import IncomingMail, MailboxSettings, Received, read_new
from channels.email.smtp import SmtpSettings
from channels.email.smtp import send as smtp_send
from contactd.app import create_app
from contactd.clock import Clock
from contactd.http.appkeys import POOL
from contactd.leader import outbox
from contactd.metrics import NOT_RECORDED
from contactd.services.inbox import Inbox
from contactd.services.intake import Intake
from contactd.settings import Settings
from tests import mailserver


def _inbox(pool: asyncpg.Pool, config: Settings, clock: Clock) -> Inbox:
    return Inbox(
        pool,
        Intake(pool, config, clock=clock, recorder=NOT_RECORDED),
        config.email,
        timezone=config.timezone,
        case_types=config.case_types,
        wording=config.wording,
        clock=clock,
        recorder=NOT_RECORDED,
    )


VISA = (
    b"From: Anna Jensen <anna@example.dk>\r\nTo: kontakt@nyidanmark.example\r\n"
    b"Subject: Visum\r\nMessage-ID: <visa-1@example.dk>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
    b"Jeg s\xc3\xb8ger visum til min s\xc3\xb8ster.\r\n"
)
AGENCY = "kontakt@nyidanmark.example"
NO_ID = b"From: ole@example.dk\r\nSubject: Uden id\r\n\r\nHej\r\n"


async def test_each_message_becomes_one_contact_and_is_flagged_after(
    imap_port: int, pool: asyncpg.Pool, config: Settings, clock: Clock
) -> None:
    mailserver.append(imap_port, VISA)
    mailserver.append(imap_port, NO_ID)
    inbox = _inbox(pool, config, clock)
    assert await read_new(mailserver.mailbox(imap_port), inbox) == 2
    assert mailserver.count(imap_port) == 0
    rows = await pool.fetch("SELECT * FROM contacts ORDER BY subject DESC")
    assert [(r["channel"], r["client_address"], r["subject"]) for r in rows] == [
        ("email", "anna@example.dk", "Visum"),
        ("email", "ole@example.dk", "Uden id"),
    ]
    assert rows[0]["external_id"] == "<visa-1@example.dk>"
    assert rows[0]["body"] == "Jeg søger visum til min søster."
    assert rows[1]["external_id"].startswith("imap:kontakt:")

    # Delivered twice (a resent mail, a re-read after a crash): still one contact.
    mailserver.append(imap_port, VISA)
    assert await read_new(mailserver.mailbox(imap_port), inbox) == 1
    assert await pool.fetchval("SELECT count(*) FROM contacts") == 2
    # The raw message is kept with the contact, for staff and for the record.
    raw = await pool.fetchval(
        "SELECT raw FROM messages WHERE external_id = $1", "<visa-1@example.dk>"
    )
    assert raw.replace(b"\r\n", b"\n") == VISA.replace(b"\r\n", b"\n")


async def test_a_failure_before_the_commit_leaves_the_message_to_read_again(
    imap_port: int, pool: asyncpg.Pool, config: Settings, clock: Clock
) -> None:
    mailserver.append(imap_port, VISA)

    class Failing:
        async def receive(self, incoming: IncomingMail) -> Received:
            raise ConnectionError("the database went away")

    assert await read_new(mailserver.mailbox(imap_port), Failing()) == 0
    assert mailserver.count(imap_port) == 1  # not flagged: nothing was committed
    assert await read_new(mailserver.mailbox(imap_port), _inbox(pool, config, clock)) == 1
    assert mailserver.count(imap_port) == 0
    assert await pool.fetchval("SELECT count(*) FROM contacts") == 1


async def test_a_daemon_stopped_between_commit_and_flag_reads_it_again_without_a_duplicate(
    imap_port: int, pool: asyncpg.Pool, db_url: str, clock: Clock
) -> None:
    """The daemon dies (here: is cancelled, as on SIGTERM; a SIGKILL is the same for the
    server) after the contact and its acknowledgement are committed but before the message
    is flagged. The next reader finds the stored key: one contact, one acknowledgement."""
    config = mailserver.daemon_config(
        db_url, imap_port, CONTACTD_EMAIL__ADDRESS="kontakt@nyidanmark.example"
    )
    real = _inbox(pool, config, clock)

    class DiesAfterCommit:
        async def receive(self, incoming: IncomingMail) -> Received:
            await real.receive(incoming)
            raise asyncio.CancelledError

    mailserver.append(imap_port, VISA)
    with pytest.raises(asyncio.CancelledError):
        await read_new(mailserver.mailbox(imap_port), DiesAfterCommit())
    assert mailserver.count(imap_port) == 1
    assert await read_new(mailserver.mailbox(imap_port), real) == 1
    assert mailserver.count(imap_port) == 0
    assert await pool.fetchval("SELECT count(*) FROM contacts") == 1
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 1
    assert await pool.fetchval("SELECT count(*) FROM messages WHERE direction = 'in'") == 1


async def test_a_wrong_password_is_a_clear_error(
    imap_port: int, config: Settings, pool: asyncpg.Pool, clock: Clock
) -> None:
    wrong = MailboxSettings(
        name="kontakt", host="127.0.0.1", port=imap_port, user=mailserver.USER,
        password="wrong", ssl=False, timeout_seconds=5,
    )  # fmt: skip
    with pytest.raises(Exception, match="mailbox kontakt: login refused"):
        await read_new(wrong, _inbox(pool, config, clock))


async def test_the_leader_reads_a_configured_mailbox(
    imap_port: int, db_url: str, clock: Clock
) -> None:
    config = mailserver.daemon_config(db_url, imap_port)
    async with TestClient(TestServer(create_app(config, clock=clock))) as client:
        mailserver.append(imap_port, VISA)
        pool: asyncpg.Pool = client.app[POOL]
        for _ in range(100):
            if await pool.fetchval("SELECT count(*) FROM contacts"):
                break
            await asyncio.sleep(0.05)
        contact = await pool.fetchrow("SELECT * FROM contacts")
        assert contact is not None
    assert (contact["channel"], contact["external_id"]) == ("email", "<visa-1@example.dk>")
    assert mailserver.count(imap_port) == 0


async def test_a_new_mail_is_acknowledged_by_smtp_and_an_auto_reply_is_not(
    imap_port: int,
    pool: asyncpg.Pool,
    db_url: str,
    smtp: tuple[mailserver.Smtp, int],
    clock: Clock,
) -> None:
    received, smtp_port = smtp
    mailserver.append(imap_port, VISA)
    mailserver.append(
        imap_port,
        b"From: anna@example.dk\r\nSubject: Out of office\r\nAuto-Submitted: auto-replied\r\n"
        b"Message-ID: <ooo-1@example.dk>\r\n\r\nJeg er p\xc3\xa5 ferie.\r\n",
    )
    config = mailserver.daemon_config(
        db_url, imap_port, CONTACTD_EMAIL__ADDRESS="kontakt@nyidanmark.example"
    )
    assert await read_new(mailserver.mailbox(imap_port), _inbox(pool, config, clock)) == 2
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 1  # not to the auto-reply

    server = SmtpSettings(
        host="127.0.0.1", port=smtp_port, starttls=False, user="contactd", password="smtp-secret"
    )

    async def send_email(payload: Mapping[str, Any], key: str) -> str:
        return await smtp_send(server, payload)

    await outbox.send_due(
        pool, {"email": send_email}, clock=clock, batch=10, lease_seconds=60, max_attempts=3,
        backoff_seconds=1, max_backoff_seconds=60, concurrency=1,
        recorder=NOT_RECORDED,
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
    assert row is not None
    assert row["sent_at"] is not None
    assert sent["Message-ID"].strip() == row["payload"]["message_id"]


async def test_the_daemon_reads_the_mailbox_and_the_acknowledgement_arrives(
    imap_port: int, db_url: str, smtp: tuple[mailserver.Smtp, int], clock: Clock
) -> None:
    received, smtp_port = smtp
    config = mailserver.answering_config(db_url, imap_port, smtp_port)
    async with TestClient(TestServer(create_app(config, clock=clock))) as client:
        mailserver.append(imap_port, VISA)
        for _ in range(200):
            if received.messages:
                break
            await asyncio.sleep(0.05)
        pool: asyncpg.Pool = client.app[POOL]
        reference = await pool.fetchval("SELECT reference FROM contacts")
    [ack] = received.messages
    assert ack["Subject"] == f"Vi har modtaget din henvendelse [{reference}]"
    assert ack["From"] == "kontakt@nyidanmark.example"


# A subject and a base64 body that decode to a NUL character, which PostgreSQL's text
# refuses: before issue 17 such a mail stayed unseen, was fetched again on every pass and
# never reached a caseworker.
POISON = (
    b"From: Bo Berg <bo@example.dk>\r\nTo: kontakt@nyidanmark.example\r\n"
    b"Subject: =?utf-8?B?T3Bob2xkAHN0aWxsYWRlbHNl?=\r\nMessage-ID: <poison-1@example.dk>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    b"SGFyIGR1IG1pbgBhbnPDuGduaW5nPw==\r\n"
)


async def test_a_mail_with_characters_postgresql_refuses_reaches_a_caseworker_once(
    imap_port: int, pool: asyncpg.Pool, config: Settings, clock: Clock
) -> None:
    mailserver.append(imap_port, POISON)
    inbox = _inbox(pool, config, clock)
    assert await read_new(mailserver.mailbox(imap_port), inbox) == 1
    assert mailserver.count(imap_port) == 0  # seen: not fetched again on the next pass
    row = await pool.fetchrow(
        "SELECT c.subject, c.client_address, m.body FROM contacts c"
        " JOIN messages m ON m.contact_id = c.id"
    )
    assert row is not None
    assert (row["subject"], row["client_address"], row["body"]) == (
        "Ophold\ufffdstilladelse",
        "bo@example.dk",
        "Har du min\ufffdansøgning?",
    )
    assert await read_new(mailserver.mailbox(imap_port), inbox) == 0
