"""SIGKILL the daemon while it reads a full mailbox: after a restart every message is exactly
one contact with exactly one acknowledgement, and nothing is left unread (a real Dovecot,
a real PostgreSQL, `contactd run` as a process)."""

from __future__ import annotations

import asyncio
import imaplib
from pathlib import Path

import asyncpg
import pytest

from tests import mailserver
from tests.e2e.daemon import Daemon

MESSAGES = 400


def _fill(port: int) -> None:
    client = imaplib.IMAP4("127.0.0.1", port)
    client.login(mailserver.USER, mailserver.PASSWORD)
    try:
        for number in range(MESSAGES):
            raw = (
                f"From: client{number % 50}@example.dk\r\nSubject: Spørgsmål {number}\r\n"
                f"Message-ID: <crash-{number}@example.dk>\r\n"
                "Content-Type: text/plain; charset=utf-8\r\n\r\n"
                f"Hvornår får jeg svar på min ansøgning nummer {number}?\r\n"
            ).encode()
            client.append("INBOX", "", None, raw)
    finally:
        client.logout()


async def _count(db_url: str, sql: str) -> int:
    conn = await asyncpg.connect(db_url)
    try:
        value: int = await conn.fetchval(sql)
        return value
    finally:
        await conn.close()


@pytest.mark.timeout(120)
async def test_a_daemon_killed_mid_mailbox_loses_and_duplicates_nothing(
    imap_port: int, db_url: str, tmp_path: Path
) -> None:
    await asyncio.to_thread(_fill, imap_port)
    env = {
        "CONTACTD_DATABASE_URL": db_url,
        "CONTACTD_EMAIL__ADDRESS": "kontakt@nyidanmark.example",
        "CONTACTD_EMAIL__POLL_SECONDS": "0.1",
        "CONTACTD_EMAIL__MAILBOXES": (
            f'{{ kontakt = {{ host = "127.0.0.1", port = {imap_port}, '
            f'user = "{mailserver.USER}", ssl = false }} }}'
        ),
        "CONTACTD_MAILBOX_KONTAKT_PASSWORD": mailserver.PASSWORD,
    }
    first = Daemon(["run", "--port", "0"], tmp_path / "first.log", env)
    try:
        first.wait_ready()
        # Killed at its first commits: the reader stores 50 messages at once and flags
        # them only when all 50 are stored, so some are stored and none flagged yet.
        for _ in range(2000):
            if await _count(db_url, "SELECT count(*) FROM contacts") > 0:
                break
            await asyncio.sleep(0.005)
        first.kill()  # SIGKILL: no cleanup of any kind
    finally:
        first.close()
    stored_at_kill = await _count(db_url, "SELECT count(*) FROM contacts")
    unread_at_kill = mailserver.count(imap_port)
    assert 0 < stored_at_kill < MESSAGES, "the kill came before or after the reading"
    # Contacts committed whose messages were never flagged: the case this test is about.
    assert stored_at_kill + unread_at_kill > MESSAGES

    second = Daemon(["run", "--port", "0"], tmp_path / "second.log", env)
    try:
        second.wait_ready()
        for _ in range(600):
            if mailserver.count(imap_port) == 0:
                break
            await asyncio.sleep(0.1)
    finally:
        second.close()
    assert mailserver.count(imap_port) == 0
    assert await _count(db_url, "SELECT count(*) FROM contacts") == MESSAGES
    assert await _count(db_url, "SELECT count(DISTINCT external_id) FROM contacts") == MESSAGES
    assert await _count(db_url, "SELECT count(*) FROM messages WHERE direction = 'in'") == MESSAGES
    acknowledgements = "SELECT count(*) FROM outbox WHERE idempotency_key LIKE 'email:ack:%'"
    # The limit is 5 per address a day: 50 addresses writing 8 times each get 5 each.
    assert await _count(db_url, acknowledgements) == 50 * 5
