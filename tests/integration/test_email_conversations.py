"""E-mail conversations against a real Dovecot: replies thread onto their contact (and reopen
a finished one), bounces of our mail are recorded, acknowledgements are limited per
address, read mail moves to the processed folder, big messages are kept whole or, beyond the
limit, pointed to; and the daemon's session waits with IDLE and survives a server restart."""

from __future__ import annotations

import asyncio
import imaplib
from collections.abc import Awaitable, Callable
from datetime import timedelta

import asyncpg
from aiohttp.test_utils import TestClient, TestServer

from channels.email.imap import read_new
from contactd.app import create_app
from contactd.clock import Clock
from contactd.http.appkeys import POOL
from contactd.metrics import NOT_RECORDED
from contactd.services.inbox import Inbox
from contactd.services.intake import Intake
from contactd.settings import Settings
from contactd.store.staff import Role
from routing.contact import Action
from tests import mailserver
from tests.conftest import token_for

AGENCY = "kontakt@nyidanmark.example"


def _mail(
    number: int, *, sender: str = "anna@example.dk", subject: str = "Visum", extra: str = ""
) -> bytes:
    return (
        f"From: {sender}\r\nTo: {AGENCY}\r\nSubject: {subject}\r\n"
        f"Message-ID: <m{number}@example.dk>\r\n{extra}"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nJeg søger visum til min søster.\r\n"
    ).encode()


async def _read(
    port: int, pool: asyncpg.Pool, config: Settings, clock: Clock, **mailbox: object
) -> int:
    intake = Intake(pool, config, clock=clock, recorder=NOT_RECORDED)
    return await read_new(
        mailserver.mailbox(port, **mailbox),
        Inbox(
            pool,
            intake,
            config.email,
            timezone=config.timezone,
            case_types=config.case_types,
            wording=config.wording,
            clock=clock,
            recorder=NOT_RECORDED,
        ),
    )


async def _until(check: Callable[[], Awaitable[object]], seconds: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"never came true within {seconds} s")
        await asyncio.sleep(0.05)


async def test_a_reply_to_the_acknowledgement_threads_onto_the_contact_without_a_new_one(
    imap_port: int, pool: asyncpg.Pool, db_url: str, clock: Clock
) -> None:
    config = mailserver.daemon_config(db_url, imap_port, CONTACTD_EMAIL__ADDRESS=AGENCY)
    mailserver.append(imap_port, _mail(1))
    await _read(imap_port, pool, config, clock)
    ack_id = await pool.fetchval("SELECT payload ->> 'message_id' FROM outbox")

    # The client answers the acknowledgement (their mail program sets In-Reply-To).
    mailserver.append(imap_port, _mail(2, extra=f"In-Reply-To: {ack_id}\r\n"))
    # ... and writes again, losing the headers but keeping the reference in the subject.
    reference = await pool.fetchval("SELECT reference FROM contacts")
    mailserver.append(imap_port, _mail(3, subject=f"Vedr. {reference.lower()} - bilag"))
    assert await _read(imap_port, pool, config, clock) == 2

    assert await pool.fetchval("SELECT count(*) FROM contacts") == 1
    messages = await pool.fetch("SELECT direction, kind FROM messages ORDER BY id")
    assert [(m["direction"], m["kind"]) for m in messages] == [
        ("in", "mail"), ("out", "acknowledgement"), ("in", "mail"), ("in", "mail"),
    ]  # fmt: skip
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 1  # a reply is not acknowledged
    events = await pool.fetch("SELECT action FROM contact_events ORDER BY id")
    assert [e["action"] for e in events] == ["created", "message", "message"]


async def test_the_reference_in_a_subject_threads_only_mail_from_the_same_address(
    imap_port: int, pool: asyncpg.Pool, config: Settings, clock: Clock
) -> None:
    mailserver.append(imap_port, _mail(1))
    await _read(imap_port, pool, config, clock)
    reference = await pool.fetchval("SELECT reference FROM contacts")
    # Someone else quoting the reference gets a contact of their own.
    mailserver.append(imap_port, _mail(2, sender="other@example.dk", subject=reference))
    await _read(imap_port, pool, config, clock)
    assert await pool.fetchval("SELECT count(*) FROM contacts") == 2


async def test_a_reply_to_a_finished_contact_reopens_it_with_a_new_promise(
    imap_port: int, pool: asyncpg.Pool, config: Settings, clock: Clock
) -> None:
    mailserver.append(imap_port, _mail(1))
    await _read(imap_port, pool, config, clock)
    contact_id = await pool.fetchval("SELECT id FROM contacts")
    await pool.execute(
        "UPDATE contacts SET state = 'done', closed_at = $2, outcome = 'answered', "
        "due_at = $3 WHERE id = $1",
        contact_id,
        clock(),
        clock() - timedelta(days=1),
    )

    mailserver.append(imap_port, _mail(2, extra="In-Reply-To: <m1@example.dk>\r\n"))
    assert await _read(imap_port, pool, config, clock) == 1

    row = await pool.fetchrow("SELECT * FROM contacts WHERE id = $1", contact_id)
    assert row is not None
    assert (row["state"], row["closed_at"]) == ("queued", None)
    assert row["due_at"] > row["queued_at"]  # promised anew from the reply
    last = await pool.fetchrow("SELECT * FROM contact_events ORDER BY id DESC LIMIT 1")
    assert last is not None
    assert (last["action"], last["from_state"], last["to_state"]) == (
        Action.REOPEN, "done", "queued",
    )  # fmt: skip
    # An out-of-office answer to a finished contact is kept with it but does not reopen it.
    await pool.execute(
        "UPDATE contacts SET state = 'done', closed_at = $2 WHERE id = $1", contact_id, clock()
    )
    mailserver.append(
        imap_port,
        _mail(7, extra="In-Reply-To: <m1@example.dk>\r\nAuto-Submitted: auto-replied\r\n"),
    )
    assert await _read(imap_port, pool, config, clock) == 1
    assert await pool.fetchval("SELECT state FROM contacts WHERE id = $1", contact_id) == "done"
    assert (
        await pool.fetchval("SELECT count(*) FROM messages WHERE contact_id = $1", contact_id) == 3
    )
    # Read again (a crash before the flag): nothing changes a second time.
    mailserver.append(imap_port, _mail(2, extra="In-Reply-To: <m1@example.dk>\r\n"))
    await _read(imap_port, pool, config, clock)
    assert await pool.fetchval("SELECT count(*) FROM contact_events") == 3


async def test_a_bounce_of_our_acknowledgement_is_recorded_on_its_contact(
    imap_port: int, pool: asyncpg.Pool, db_url: str, clock: Clock
) -> None:
    config = mailserver.daemon_config(db_url, imap_port, CONTACTD_EMAIL__ADDRESS=AGENCY)
    mailserver.append(imap_port, _mail(1, sender="nobody@example.dk"))
    await _read(imap_port, pool, config, clock)
    ack_id = await pool.fetchval("SELECT payload ->> 'message_id' FROM outbox")
    report = (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.dk>\r\nReturn-Path: <>\r\n"
        f"To: {AGENCY}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <bounce-1@mx.example.dk>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.dk\r\n\r\nFinal-Recipient: rfc822; nobody@example.dk\r\n"
        "Action: failed\r\nStatus: 5.1.1\r\n\r\n"
        "--b\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: {AGENCY}\r\nTo: nobody@example.dk\r\nMessage-ID: {ack_id}\r\n\r\n--b--\r\n"
    ).encode()
    mailserver.append(imap_port, report)
    assert await _read(imap_port, pool, config, clock) == 1

    assert await pool.fetchval("SELECT count(*) FROM contacts") == 1  # no contact of its own
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 1  # and never answered
    kinds = await pool.fetch("SELECT kind FROM messages WHERE direction = 'in' ORDER BY id")
    assert [k["kind"] for k in kinds] == ["mail", "bounce"]
    last = await pool.fetchval("SELECT action FROM contact_events ORDER BY id DESC LIMIT 1")
    assert last == "bounced"


async def test_acknowledgements_to_one_address_stop_at_the_limit_but_every_mail_is_a_contact(
    imap_port: int, pool: asyncpg.Pool, db_url: str, clock: Clock
) -> None:
    config = mailserver.daemon_config(
        db_url,
        imap_port,
        CONTACTD_EMAIL__ADDRESS=AGENCY,
        CONTACTD_EMAIL__ACKNOWLEDGEMENTS_PER_ADDRESS="3",
    )
    for number in range(5):
        mailserver.append(imap_port, _mail(number, subject=f"Spørgsmål {number}"))
    mailserver.append(imap_port, _mail(9, sender="other@example.dk"))
    assert await _read(imap_port, pool, config, clock) == 6

    assert await pool.fetchval("SELECT count(*) FROM contacts") == 6
    sent = await pool.fetch("SELECT payload ->> 'to' AS to, count(*) FROM outbox GROUP BY 1")
    assert {r["to"]: r["count"] for r in sent} == {"anna@example.dk": 3, "other@example.dk": 1}


async def test_read_mail_moves_to_the_processed_folder_after_its_contact_is_stored(
    imap_port: int, pool: asyncpg.Pool, config: Settings, clock: Clock
) -> None:
    mailserver.append(imap_port, _mail(1))
    mailserver.append(imap_port, _mail(2))
    assert await _read(imap_port, pool, config, clock, processed_folder="Behandlet") == 2
    assert mailserver.count(imap_port, "ALL") == 0
    assert mailserver.count(imap_port, "SEEN", folder="Behandlet") == 2


async def test_a_30_mb_message_is_kept_whole_and_its_attachment_listed(
    imap_port: int, pool: asyncpg.Pool, config: Settings, clock: Clock
) -> None:
    mailserver.append(imap_port, mailserver.big_message(30_000_000))
    assert await _read(imap_port, pool, config, clock) == 1
    row = await pool.fetchrow("SELECT body, attachments, octet_length(raw) AS size FROM messages")
    assert row is not None
    assert row["body"] == "Her er mine papirer."
    [scan] = row["attachments"]
    assert (scan["filename"], scan["content_type"]) == ("pas.pdf", "application/pdf")
    assert scan["size"] >= 30_000_000
    assert row["size"] > 30_000_000


async def test_a_message_over_the_limit_becomes_a_contact_that_points_to_the_mailbox(
    imap_port: int, pool: asyncpg.Pool, config: Settings, clock: Clock
) -> None:
    mailserver.append(imap_port, mailserver.big_message(3_000_000))
    mailserver.append(imap_port, _mail(1))
    assert await _read(imap_port, pool, config, clock, max_message_bytes=1_000_000) == 2
    rows = await pool.fetch(
        "SELECT c.subject, c.body, m.body AS shown, m.attachments FROM contacts c "
        "JOIN messages m ON m.contact_id = c.id ORDER BY c.subject"
    )
    # Sorted by its subject; staff read the notice with the message on the desk.
    assert (rows[0]["subject"], rows[0]["body"], rows[0]["attachments"]) == (
        "Pas og papirer", None, [],
    )  # fmt: skip
    assert "more than the 1.0 MB contactd fetches" in rows[0]["shown"]
    assert "Read it in the mailbox kontakt" in rows[0]["shown"]
    assert rows[1]["body"] == "Jeg søger visum til min søster."


async def test_the_daemon_waits_with_idle_and_reconnects_after_a_server_restart(
    imap_server: mailserver.Dovecot, db_url: str, clock: Clock
) -> None:
    # Polling is set to an hour: only IDLE can bring the mail in within seconds.
    config = mailserver.daemon_config(db_url, imap_server.port, CONTACTD_EMAIL__POLL_SECONDS="3600")
    async with TestClient(TestServer(create_app(config, clock=clock))) as client:
        pool: asyncpg.Pool = client.app[POOL]

        async def state() -> str | None:
            value: str | None = await pool.fetchval(
                "SELECT state FROM channel_status WHERE name = 'mailbox:kontakt'"
            )
            return value

        async def contacts() -> int:
            value: int = await pool.fetchval("SELECT count(*) FROM contacts")
            return value

        await _until(lambda: _is(state, "idle"))
        await asyncio.sleep(0.5)  # the session is in IDLE now
        mailserver.append(imap_server.port, _mail(1))
        await _until(lambda: _is(contacts, 1))

        supervisor = await token_for(pool, "sofie", Role.SUPERVISOR)
        with imap_server.stopped():
            # The lost connection is seen at once, not at the end of the IDLE.
            await _until(lambda: _is(state, "unavailable"))
            shown = await (await client.get("/api/channels", headers=supervisor)).json()
            [mailbox] = shown["channels"]
            assert (mailbox["name"], mailbox["state"]) == ("mailbox:kontakt", "unavailable")
            assert "retrying in" in mailbox["detail"]
        # Back on the same port: the reader logs in again after its backoff (1 s, 2 s, ...).
        await _until(lambda: _is(state, "idle"), seconds=40)
        mailserver.append(imap_server.port, _mail(2))
        await _until(lambda: _is(contacts, 2))


async def _is(read: Callable[[], Awaitable[object]], wanted: object) -> bool:
    return await read() == wanted


async def test_a_missing_folder_and_a_wrong_password_show_on_the_channel_status_only(
    imap_port: int, db_url: str, clock: Clock
) -> None:
    boxes = (
        f'{{ kontakt = {{ host = "127.0.0.1", port = {imap_port}, user = "{mailserver.USER}", '
        f'ssl = false, folder = "Arkiv" }}, andet = {{ host = "127.0.0.1", port = {imap_port}, '
        f'user = "{mailserver.USER}", ssl = false }} }}'
    )
    config = mailserver.daemon_config(
        db_url, imap_port, CONTACTD_EMAIL__MAILBOXES=boxes, CONTACTD_MAILBOX_ANDET_PASSWORD="wrong"
    )
    async with TestClient(TestServer(create_app(config, clock=clock))) as client:
        pool: asyncpg.Pool = client.app[POOL]

        async def statuses() -> dict[str, tuple[str, str]]:
            rows = await pool.fetch("SELECT name, state, detail FROM channel_status")
            return {r["name"]: (r["state"], r["detail"]) for r in rows}

        await _until(lambda: _is(lambda: _len(statuses), 2))
        assert await statuses() == {
            "mailbox:kontakt": ("refused", "mailbox kontakt: no folder 'Arkiv'"),
            "mailbox:andet": ("refused", "mailbox andet: login refused"),
        }
        # The rest of the daemon works on.
        assert (await client.get("/ready")).status == 200
        front = await token_for(pool, "frida", Role.FRONTDESK)
        created = await client.post(
            "/api/contacts", json={"channel": "ticket", "case_type": "family"}, headers=front
        )
        assert created.status == 201


async def _len(read: Callable[[], Awaitable[dict[str, tuple[str, str]]]]) -> int:
    return len(await read())


async def test_without_idle_the_daemon_polls(
    imap_without_idle: mailserver.Dovecot, db_url: str, clock: Clock
) -> None:
    port = imap_without_idle.port
    config = mailserver.daemon_config(db_url, port, CONTACTD_EMAIL__POLL_SECONDS="0.2")
    async with TestClient(TestServer(create_app(config, clock=clock))) as client:
        pool: asyncpg.Pool = client.app[POOL]

        async def state() -> str | None:
            value: str | None = await pool.fetchval("SELECT state FROM channel_status")
            return value

        async def contacts() -> int:
            value: int = await pool.fetchval("SELECT count(*) FROM contacts")
            return value

        await _until(lambda: _is(state, "polling"))
        mailserver.append(port, _mail(1))
        await _until(lambda: _is(contacts, 1))


async def test_several_mailboxes_are_read_each_with_its_own_processed_folder(
    imap_port: int, db_url: str, clock: Clock
) -> None:
    client = imaplib.IMAP4("127.0.0.1", imap_port)
    client.login(mailserver.USER, mailserver.PASSWORD)
    client.create("Familie")
    client.logout()
    boxes = (
        f'{{ kontakt = {{ host = "127.0.0.1", port = {imap_port}, user = "{mailserver.USER}", '
        f'ssl = false, processed_folder = "Behandlet" }}, familie = {{ host = "127.0.0.1", '
        f'port = {imap_port}, user = "{mailserver.USER}", ssl = false, folder = "Familie", '
        f'processed_folder = "Behandlet-familie" }} }}'
    )
    config = mailserver.daemon_config(
        db_url, imap_port, CONTACTD_EMAIL__MAILBOXES=boxes,
        CONTACTD_MAILBOX_FAMILIE_PASSWORD=mailserver.PASSWORD,
    )  # fmt: skip
    async with TestClient(TestServer(create_app(config, clock=clock))) as app:
        pool: asyncpg.Pool = app.app[POOL]
        mailserver.append(imap_port, _mail(1))
        mailserver.append(imap_port, _mail(2, subject="Familiesammenføring"), folder="Familie")

        async def contacts() -> int:
            value: int = await pool.fetchval("SELECT count(*) FROM contacts")
            return value

        await _until(lambda: _is(contacts, 2))
        read_from = await pool.fetch("SELECT mailbox FROM messages ORDER BY mailbox")
        assert [r["mailbox"] for r in read_from] == ["familie", "kontakt"]

        async def moved() -> bool:  # each mail is moved just after its contact is committed
            counts = [
                await asyncio.to_thread(mailserver.count, imap_port, "ALL", folder=folder)
                for folder in ("Behandlet", "Behandlet-familie")
            ]
            return counts == [1, 1]

        await _until(moved)
    assert mailserver.count(imap_port, "ALL", folder="Behandlet") == 1
    assert mailserver.count(imap_port, "ALL", folder="Behandlet-familie") == 1
    assert mailserver.count(imap_port, "ALL") == 0
    assert mailserver.count(imap_port, "ALL", folder="Familie") == 0


async def test_a_reply_to_naming_the_client_does_not_join_their_conversation(
    imap_port: int, pool: asyncpg.Pool, config: Settings, clock: Clock
) -> None:
    mailserver.append(imap_port, _mail(1))
    await _read(imap_port, pool, config, clock)
    reference = await pool.fetchval("SELECT reference FROM contacts")
    # Someone else, with Anna's address in Reply-To and her reference in the subject: the
    # address that counts is From, so this is a contact of its own, not a reply on hers.
    mailserver.append(
        imap_port,
        _mail(2, sender="mallory@example.net", subject=f"Re: {reference}",
              extra="Reply-To: anna@example.dk\r\n"),
    )  # fmt: skip
    assert await _read(imap_port, pool, config, clock) == 1
    rows = await pool.fetch(
        "SELECT c.client_address, count(m.id) AS mails FROM contacts c"
        " JOIN messages m ON m.contact_id = c.id GROUP BY c.id ORDER BY c.id"
    )
    assert [(r["client_address"], r["mails"]) for r in rows] == [
        ("anna@example.dk", 1), ("mallory@example.net", 1),
    ]  # fmt: skip


async def test_a_mail_in_arabic_is_acknowledged_in_arabic_and_served_in_danish(
    imap_port: int, pool: asyncpg.Pool, db_url: str, clock: Clock
) -> None:
    """The client writes in Arabic (issue 20): the language is recorded with the contact,
    which a caseworker serves in Danish (routing), and the acknowledgement is in Arabic."""
    config = mailserver.daemon_config(db_url, imap_port, CONTACTD_EMAIL__ADDRESS=AGENCY)
    body = "مرحبا، أريد أن أسأل عن طلب لم الشمل الخاص بي. شكرا".encode()
    mailserver.append(
        imap_port,
        f"From: amal@example.dk\r\nTo: {AGENCY}\r\nSubject: =?utf-8?b?2LfZhNio?=\r\n"
        "Message-ID: <ar1@example.dk>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n".encode()
        + body
        + b"\r\n",
    )
    await _read(imap_port, pool, config, clock)
    contact = await pool.fetchrow("SELECT reference, language, client_language FROM contacts")
    ack = await pool.fetchrow("SELECT payload FROM outbox WHERE kind = 'email'")
    assert contact is not None
    assert ack is not None
    assert (contact["language"], contact["client_language"]) == ("da", "ar")
    assert ack["payload"]["subject"] == f"لقد استلمنا استفسارك [{contact['reference']}]"
