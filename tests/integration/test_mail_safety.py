"""Mail that cannot jam the inbox (issue 17), against a real Dovecot and PostgreSQL: a mail the
database still refuses is tried a few times, counted in the database across restarts, then
moved to the quarantine folder with a contact in triage that says where it is; one sender's
flood makes a few contacts and the rest is kept on the newest; a contact takes a bounded
number of mails and the rest waits in the quarantine folder; downloads are streamed, and the
HTML of a conversation is cleaned off the event loop."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import hashlib
import tracemalloc
from collections.abc import Callable
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from channels.email.imap import IncomingMail, read_new
from channels.email.message import attachment, parse
from contactd.clock import Clock, FixedClock
from contactd.http.appkeys import POOL
from contactd.metrics import Metrics, Recorder
from contactd.services.inbox import Inbox
from contactd.services.intake import Intake
from contactd.settings import Settings
from contactd.store.staff import Role
from tests import mailserver
from tests.conftest import WORKDAY, token_for

AGENCY = "kontakt@nyidanmark.example"
Client = TestClient[web.Request, web.Application]


def _mail(
    number: int, *, sender: str = "anna@example.dk", subject: str = "Visum", extra: str = ""
) -> bytes:
    return (
        f"From: {sender}\r\nTo: {AGENCY}\r\nSubject: {subject}\r\n"
        f"Message-ID: <m{number}@example.dk>\r\n{extra}"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nJeg søger visum til min søster.\r\n"
    ).encode()


def _inbox(pool: asyncpg.Pool, config: Settings, clock: Clock, recorder: Recorder) -> Inbox:
    """The inbox as the daemon builds it; a new one per pass plays a restart."""
    return Inbox(
        pool,
        Intake(pool, config, clock=clock, recorder=recorder),
        config.email,
        timezone=config.timezone,
        case_types=config.case_types,
        wording=config.wording,
        clock=clock,
        recorder=recorder,
    )


def _config(db_url: str, imap_port: int, **email: str) -> Settings:
    return mailserver.daemon_config(
        db_url, imap_port, **{f"CONTACTD_EMAIL__{k.upper()}": v for k, v in email.items()}
    )


def _sample(metrics: Metrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


# A storage failure no parsing can prevent: the database refuses the message as it refused a
# NUL before issue 17 (SQLSTATE 22021, character_not_in_repertoire). A trigger of the test's
# own database plays it, for this one mail only.
REFUSE = """
CREATE FUNCTION refuse_stuck() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.message_id = '<stuck-1@example.dk>' THEN
        RAISE EXCEPTION 'refused' USING ERRCODE = '{code}';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER refuse_stuck BEFORE INSERT ON messages
    FOR EACH ROW EXECUTE FUNCTION refuse_stuck();
"""
STUCK = (
    b"From: Bo Berg <bo@example.dk>\r\nTo: kontakt@nyidanmark.example\r\n"
    b"Subject: Opholdstilladelse\r\nMessage-ID: <stuck-1@example.dk>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\nHar du min ans\xc3\xb8gning?\r\n"
)


async def test_a_mail_that_cannot_be_stored_is_quarantined_after_three_tries_with_a_notice(
    imap_port: int, pool: asyncpg.Pool, config: Settings, clock: Clock
) -> None:
    await pool.execute(REFUSE.replace("{code}", "22021"))
    mailserver.append(imap_port, STUCK)
    mailserver.append(imap_port, _mail(1))
    metrics = Metrics(config.queues)
    # Two passes, each by a freshly started inbox: the good mail is stored, the stuck one stays.
    assert await read_new(mailserver.mailbox(imap_port), _inbox(pool, config, clock, metrics)) == 1
    assert await read_new(mailserver.mailbox(imap_port), _inbox(pool, config, clock, metrics)) == 0
    assert mailserver.count(imap_port) == 1
    assert _sample(metrics, "contactd_mail_quarantined_total", mailbox="kontakt",
                   reason="not_stored") == 0  # fmt: skip

    # The third try: moved to the quarantine folder (made for it), unread there, out of the inbox.
    assert await read_new(mailserver.mailbox(imap_port), _inbox(pool, config, clock, metrics)) == 1
    assert mailserver.count(imap_port, "ALL") == 1  # the good mail, read
    assert mailserver.count(imap_port, "UNSEEN", folder="Quarantine") == 1
    # A contact in triage tells staff where it is, answerable to its sender.
    notice = await pool.fetchrow("SELECT * FROM contacts WHERE client_address = 'bo@example.dk'")
    assert notice is not None
    assert (notice["channel"], notice["case_type"], notice["queue"], notice["state"]) == (
        "email", "general", "general", "queued",
    )  # fmt: skip
    assert "Quarantine" in notice["body"]
    assert "kontakt" in notice["body"]
    assert "<stuck-1@example.dk>" in notice["body"]
    assert _sample(metrics, "contactd_mail_quarantined_total", mailbox="kontakt",
                   reason="not_stored") == 1  # fmt: skip
    # Nothing is read again: the next pass finds nothing to do.
    assert await read_new(mailserver.mailbox(imap_port), _inbox(pool, config, clock, metrics)) == 0
    assert await pool.fetchval("SELECT count(*) FROM contacts") == 2


async def test_a_database_that_is_only_busy_does_not_count_towards_quarantine(
    imap_port: int, pool: asyncpg.Pool, config: Settings, clock: Clock
) -> None:
    # 57014: query_canceled, what a statement timeout raises. Tried again every pass.
    await pool.execute(REFUSE.replace("{code}", "57014"))
    mailserver.append(imap_port, STUCK)
    for _ in range(4):
        inbox = _inbox(pool, config, clock, Metrics(config.queues))
        assert await read_new(mailserver.mailbox(imap_port), inbox) == 0
    assert mailserver.count(imap_port) == 1
    assert await pool.fetchval("SELECT count(*) FROM contacts") == 0


async def test_mail_over_a_senders_hourly_cap_is_kept_on_their_newest_contact(
    imap_port: int, pool: asyncpg.Pool, db_url: str
) -> None:
    config = _config(db_url, imap_port, address=AGENCY, contacts_per_sender_per_hour="3")
    clock = FixedClock(WORKDAY)
    metrics = Metrics(config.queues)
    for number in range(5):
        mailserver.append(imap_port, _mail(number, subject=f"Spørgsmål {number}"))
    mailserver.append(imap_port, _mail(9, sender="other@example.dk"))
    assert await read_new(mailserver.mailbox(imap_port), _inbox(pool, config, clock, metrics)) == 6
    assert mailserver.count(imap_port) == 0

    rows = await pool.fetch(
        "SELECT c.client_address, count(m.id) AS mails FROM contacts c"
        " JOIN messages m ON m.contact_id = c.id AND m.direction = 'in'"
        " GROUP BY c.id ORDER BY 1, 2"
    )
    # Three contacts of Anna's, the newest holding her two mails over the cap (the mails are
    # taken in together, so which is newest may vary); nothing lost.
    assert [(r["client_address"], r["mails"]) for r in rows] == [
        ("anna@example.dk", 1), ("anna@example.dk", 1), ("anna@example.dk", 3),
        ("other@example.dk", 1),
    ]  # fmt: skip
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 4  # no acknowledgement over it
    assert _sample(metrics, "contactd_mail_capped_total", mailbox="kontakt") == 2

    clock.advance(hours=1, seconds=1)  # an hour later Anna may write a new inquiry again
    mailserver.append(imap_port, _mail(20, subject="Noget nyt"))
    assert await read_new(mailserver.mailbox(imap_port), _inbox(pool, config, clock, metrics)) == 1
    assert await pool.fetchval("SELECT count(*) FROM contacts") == 5


async def test_mail_over_a_contacts_cap_waits_in_the_quarantine_folder_and_the_contact_says_so(
    imap_port: int, pool: asyncpg.Pool, db_url: str, clock: Clock
) -> None:
    config = _config(db_url, imap_port, mails_per_contact="3")
    metrics = Metrics(config.queues)
    mailserver.append(imap_port, _mail(1))
    assert await read_new(mailserver.mailbox(imap_port), _inbox(pool, config, clock, metrics)) == 1
    for number in (2, 3, 4, 5):
        mailserver.append(imap_port, _mail(number, extra="In-Reply-To: <m1@example.dk>\r\n"))
    assert await read_new(mailserver.mailbox(imap_port), _inbox(pool, config, clock, metrics)) == 4

    assert await pool.fetchval("SELECT count(*) FROM contacts") == 1
    assert await pool.fetchval("SELECT count(*) FROM messages WHERE direction = 'in'") == 3
    assert mailserver.count(imap_port, "UNSEEN") == 0
    assert mailserver.count(imap_port, "ALL") == 3  # read, on the contact
    assert mailserver.count(imap_port, "UNSEEN", folder="Quarantine") == 2
    events = await pool.fetch("SELECT action, reason FROM contact_events ORDER BY id")
    assert [e["action"] for e in events] == [
        "created", "message", "message", "quarantined", "quarantined",
    ]  # fmt: skip
    assert events[-1]["reason"] == {"why": "mails_per_contact", "folder": "Quarantine"}
    assert _sample(metrics, "contactd_mail_quarantined_total", mailbox="kontakt",
                   reason="mails_per_contact") == 2  # fmt: skip


async def _stored(client: Client, config: Settings, clock: Clock, raw: bytes) -> str:
    """A mail taken in by the daemon's own inbox code, as the IMAP reader hands it over (no
    mailbox needed to store it); its contact's reference."""
    mail = parse(raw)
    assert mail.message_id is not None
    incoming = IncomingMail(
        mailbox="kontakt", key=mail.message_id, raw=raw, mail=mail, size=len(raw), complete=True
    )
    inbox = _inbox(_pool(client), config, clock, Metrics(config.queues))
    return (await inbox.receive(incoming)).reference


def _pool(client: Client) -> asyncpg.Pool:
    return client.app[POOL]


async def _download(client: Client, url: str, headers: dict[str, str]) -> tuple[int, str, int]:
    """Status, sha256 and the peak of memory allocated while the download ran."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        response = await client.get(url, headers=headers)
        digest = hashlib.sha256()
        async for chunk in response.content.iter_chunked(1 << 16):
            digest.update(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return response.status, digest.hexdigest(), peak


@pytest.mark.timeout(120)
async def test_attachments_and_raw_copies_are_streamed_not_held_in_memory(
    client: Client, config: Settings, clock: Clock
) -> None:
    raw = mailserver.big_message(12_000_000)  # about 16 MB on the wire
    found = attachment(raw, 0)
    assert found is not None
    scan_sha256 = hashlib.sha256(found[1]).hexdigest()
    del found
    reference = await _stored(client, config, clock, raw)
    supervisor = await token_for(_pool(client), "sofie", Role.SUPERVISOR)
    shown = await client.get(f"/api/desk/contacts/{reference}/messages", headers=supervisor)
    [message] = (await shown.json())["messages"]
    [scan] = message["attachments"]
    assert set(scan) == {"filename", "content_type", "size", "index", "url"}  # no internals

    status, digest, peak = await _download(client, scan["url"], supervisor)
    assert (status, digest) == (200, scan_sha256)
    assert peak < 6_000_000, f"{peak / 1e6:.1f} MB held for a 12 MB attachment"

    status, digest, peak = await _download(client, message["raw_url"], supervisor)
    assert (status, digest) == (200, hashlib.sha256(raw).hexdigest())
    assert peak < 6_000_000, f"{peak / 1e6:.1f} MB held for a 16 MB message"


class _Recording(concurrent.futures.ThreadPoolExecutor):
    """The loop's default executor (the one asyncio.to_thread uses), noting what it ran: a
    real executor, only watched."""

    def __init__(self) -> None:
        super().__init__(max_workers=2)
        self.ran: list[str] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        # to_thread submits functools.partial(context.run, function, *arguments)
        inner = fn.args[0] if isinstance(fn, functools.partial) and fn.args else fn
        self.ran.append(getattr(inner, "__name__", repr(inner)))
        return super().submit(fn, *args, **kwargs)


async def test_the_html_of_a_conversation_is_cleaned_off_the_event_loop(
    client: Client, config: Settings, clock: Clock
) -> None:
    raw = (
        b"From: anna@example.dk\r\nTo: kontakt@nyidanmark.example\r\nSubject: Hej\r\n"
        b"Message-ID: <html-1@example.dk>\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b"<p onclick='x()'>Hej <b>du</b></p><script>alert(1)</script>\r\n"
    )
    reference = await _stored(client, config, clock, raw)
    supervisor = await token_for(_pool(client), "sofie", Role.SUPERVISOR)
    executor = _Recording()
    # This test's own loop (pytest-asyncio makes one per test and shuts its executor down).
    asyncio.get_running_loop().set_default_executor(executor)
    shown = await client.get(f"/api/desk/contacts/{reference}/messages", headers=supervisor)
    [message] = (await shown.json())["messages"]
    assert "<b>du</b>" in message["html"]
    assert "script" not in message["html"]
    assert "onclick" not in message["html"]
    assert "clean_messages" in executor.ran


@pytest.mark.timeout(120)
async def test_a_download_cut_short_is_seen_to_be_cut_not_whole(
    client: Client, config: Settings, clock: Clock
) -> None:
    raw = mailserver.big_message(12_000_000)
    reference = await _stored(client, config, clock, raw)
    supervisor = await token_for(_pool(client), "sofie", Role.SUPERVISOR)
    shown = await client.get(f"/api/desk/contacts/{reference}/messages", headers=supervisor)
    [message] = (await shown.json())["messages"]
    for url in (message["attachments"][0]["url"], message["raw_url"]):
        await _pool(client).execute("UPDATE messages SET raw = $1", raw)
        response = await client.get(url, headers=supervisor)
        assert response.status == 200
        await response.content.readexactly(1 << 16)  # the download has begun ...
        # ... when the retention job purges the mail (the copy is far bigger than any buffer
        # between the two ends, so most of it is still to be read from the database).
        await _pool(client).execute("UPDATE messages SET raw = NULL")
        with pytest.raises(aiohttp.ClientPayloadError):
            async for _ in response.content.iter_chunked(1 << 16):
                pass
