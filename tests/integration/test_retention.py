"""The retention job on a real PostgreSQL: contacts closed longer ago than the period lose
their personal data (the contact's address and text, its mail, the messages sent to it, the
satisfaction comment, a provider's error in an event), newer and live ones keep theirs, and
the anonymous figures (the statistics, `contactd report`'s CSV) do not change."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from structlog.testing import capture_logs

from channels.ports import OUTBOX_KINDS
from contactd.app import create_app
from contactd.cli import report_output
from contactd.clock import Clock, FixedClock
from contactd.http.appkeys import POOL
from contactd.leader import outbox, retention
from contactd.metrics import NOT_RECORDED
from contactd.services import report, statistics
from contactd.settings import ConfigError, OutboxConfig, RetentionConfig, Settings, load
from contactd.settings.sections import MAX_AGE_HOURS
from contactd.store import contacts as store
from contactd.store import queries
from contactd.store.staff import Role
from routing.contact import Action, new_reference
from tests.conftest import ROOT, WORKDAY, token_for
from tests.integration.history import insert_contacts

NOW = WORKDAY  # the time of a pass, unless a test says otherwise
PERIOD = timedelta(days=RetentionConfig().days)
CUTOFF = NOW - PERIOD
OLD = NOW - timedelta(days=400)
RECENT = NOW - timedelta(days=10)
LATER = NOW + timedelta(minutes=5)  # after the pass at NOW
PROVIDER_ERROR = "sms failed: The 'To' number +4512345678 is not a valid phone number"


async def _contact(
    pool: asyncpg.Pool, *, closed: datetime | None, channel: str = "email", count: int = 1
) -> list[int]:
    """E-mail contacts with everything personal a contact gathers: the client's address and
    text, mail in and out with a raw copy and an attachment, an SMS sent and a mail given up
    (whose provider's error names the number), a satisfaction answer with a comment, and an
    event whose reason quotes that error."""
    created = (closed or NOW) - timedelta(hours=2)
    ids = await insert_contacts(
        pool,
        channel=channel,
        created=created,
        due=created + timedelta(days=1),
        state="done" if closed else "queued",
        answered=created + timedelta(minutes=30) if closed else None,
        closed=closed,
        outcome="answered" if closed else None,
        first_response=created + timedelta(minutes=30) if closed and channel == "email" else None,
        count=count,
    )
    for id_ in ids:
        await pool.execute(
            "UPDATE contacts SET client_address = 'anna@example.dk', subject = 'Min ansøgning',"
            " body = 'Mit CPR-nummer er 010190-1234', reference = $2 WHERE id = $1",
            id_,
            new_reference(),  # one the API takes
        )
        await pool.execute(
            """
            INSERT INTO messages (contact_id, direction, kind, message_id, external_id, mailbox,
                                  at, subject, body, html, attachments, raw, reply_to)
            VALUES ($1, 'in', 'mail', $2, $2, 'inbox', $3, 'Min ansøgning', 'Hej, mit CPR…',
                    '<p>Hej</p>', '[{"filename": "pas_anna.pdf", "size": 3}]', 'From: anna',
                    'anna.privat@example.dk'),
                   ($1, 'out', 'answer', $4, NULL, NULL, $3, 'Sv: Min ansøgning', 'Kære Anna',
                    NULL, '[]', NULL, NULL)
            """,
            id_, f"<{uuid.uuid4().hex}@example.dk>", created, f"<{uuid.uuid4().hex}@us.dk>",
        )  # fmt: skip
        await pool.execute(
            """
            INSERT INTO outbox (contact_id, kind, payload, idempotency_key, created_at,
                                next_attempt_at, sent_at, failed_at, last_error, attempts)
            VALUES ($1, 'sms', '{"to": "+4512345678", "body": "Hej Anna",
                                 "provider_id": "SM123"}', $2, $3, $3, $3, NULL, NULL, 1),
                   ($1, 'email', '{"to": "anna@example.dk", "subject": "S", "text": "T"}',
                    $4, $3, $3, NULL, $3, '550 <anna@example.dk>: no such user', 10)
            """,
            id_, f"sms:{uuid.uuid4().hex}", created, f"email:{uuid.uuid4().hex}",
        )  # fmt: skip
        await pool.execute(
            "INSERT INTO contact_events (contact_id, at, action, from_state, to_state, actor,"
            " reason) VALUES ($1, $2, 'requeue', 'offered', 'queued', 'outbox', $3),"
            " ($1, $2, 'keep_place', 'queued', 'queued', 'twilio', $4)",
            id_,
            created,
            {"why": PROVIDER_ERROR},
            {"why": "caller asked to be called back", "position": 3},
        )
        if closed is not None:
            await pool.execute(
                "INSERT INTO csat (contact_id, queue, channel, asked_at, via, expires_at, score,"
                " comment, answered_at) VALUES ($1, 'family', $2, $3, 'email', $3, 4,"
                " 'Anna fra Aarhus var glad', $3)",
                id_,
                channel,
                closed + timedelta(minutes=10),
            )
    return ids


async def _rows(pool: asyncpg.Pool, contact_id: int) -> dict[str, Any]:
    """Everything stored about a contact, table by table."""
    tables = {
        "contacts": "SELECT * FROM contacts WHERE id = $1",
        "messages": "SELECT * FROM messages WHERE contact_id = $1 ORDER BY id",
        "outbox": "SELECT * FROM outbox WHERE contact_id = $1 ORDER BY id",
        "csat": "SELECT * FROM csat WHERE contact_id = $1",
        "events": "SELECT * FROM contact_events WHERE contact_id = $1 ORDER BY id",
    }
    return {t: [dict(r) for r in await pool.fetch(q, contact_id)] for t, q in tables.items()}


async def _until(check: Callable[[], Awaitable[object]], seconds: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"never came true within {seconds} s")
        await asyncio.sleep(0.05)


async def _logged(logs: list[MutableMapping[str, Any]], event: str) -> bool:
    return any(e["event"] == event for e in logs)


async def _purge(pool: asyncpg.Pool, *, batch_size: int = 1000, cutoff: datetime = CUTOFF) -> Any:
    """A pass with this cut-off, made when the period before it ends (at NOW by default)."""
    return await retention.purge(pool, cutoff=cutoff, batch_size=batch_size, now=cutoff + PERIOD)


async def test_a_contact_closed_longer_ago_than_the_period_loses_its_personal_data(
    pool: asyncpg.Pool,
) -> None:
    [old] = await _contact(pool, closed=OLD)
    before = await _rows(pool, old)

    purged = await _purge(pool)

    assert (purged.contacts, purged.messages, purged.outbox, purged.comments) == (1, 2, 2, 1)
    assert purged.events == 1
    after = await _rows(pool, old)
    [contact] = after["contacts"]
    assert (contact["client_address"], contact["subject"], contact["body"]) == (None,) * 3
    assert contact["purged_at"] is not None
    kept = {k: v for k, v in before["contacts"][0].items()}
    for column in ("client_address", "subject", "body", "purged_at"):
        kept.pop(column)
    assert {k: contact[k] for k in kept} == kept  # channel, queue, times, state, outcome…
    for message in after["messages"]:
        assert [message[c] for c in ("subject", "body", "html", "raw", "reply_to")] == [None] * 5
        assert message["attachments"] == []
    # Direction, kind, time and Message-ID stay: a reply to the old mail still threads.
    assert [(m["direction"], m["kind"], m["at"], m["message_id"]) for m in after["messages"]] == [
        (m["direction"], m["kind"], m["at"], m["message_id"]) for m in before["messages"]
    ]
    assert [o["payload"] for o in after["outbox"]] == [
        {"purged": True, "provider_id": "SM123"},
        {"purged": True},
    ]
    assert [o["last_error"] for o in after["outbox"]] == [None, None]
    times = ("kind", "created_at", "sent_at", "failed_at", "attempts", "idempotency_key")
    assert [[o[t] for t in times] for o in after["outbox"]] == [
        [o[t] for t in times] for o in before["outbox"]
    ]
    [answer] = after["csat"]
    assert (answer["comment"], answer["score"]) == (None, 4)
    assert answer["answered_at"] == before["csat"][0]["answered_at"]
    # The events keep their actions, times and fixed reasons; the provider's words go.
    assert [e["reason"] for e in after["events"]] == [
        {"why": "sms failed"},
        {"why": "caller asked to be called back", "position": 3},
    ]
    assert [(e["action"], e["at"], e["actor"]) for e in after["events"]] == [
        (e["action"], e["at"], e["actor"]) for e in before["events"]
    ]


async def test_recent_and_live_contacts_are_untouched(pool: asyncpg.Pool) -> None:
    [recent] = await _contact(pool, closed=RECENT)
    # Open for 400 days (an e-mail no one answered): not closed, so not purged.
    [live] = await _contact(pool, closed=None)
    await pool.execute("UPDATE contacts SET created_at = $2 WHERE id = $1", live, OLD)
    before = {id_: await _rows(pool, id_) for id_ in (recent, live)}

    purged = await _purge(pool)

    assert purged == retention.Purged()
    assert {id_: await _rows(pool, id_) for id_ in (recent, live)} == before


async def test_the_anonymous_figures_of_the_old_day_stay_the_same(
    pool: asyncpg.Pool, config: Settings
) -> None:
    day = OLD.astimezone(config.timezone).date()
    start = statistics.local_midnight(day, config.timezone)
    noon = start + timedelta(hours=12)
    await _contact(pool, closed=noon, channel="call", count=3)
    await _contact(pool, closed=noon + timedelta(hours=1), count=2)
    await insert_contacts(
        pool, created=noon, due=noon + timedelta(minutes=5), state="abandoned",
        closed=noon + timedelta(minutes=9), outcome="abandoned", count=2,
    )  # fmt: skip
    end = statistics.local_midnight(day + timedelta(days=1), config.timezone)

    async def figures() -> tuple[object, ...]:
        async with pool.acquire() as conn:
            days = await report.gather(conn, config.queues, config.timezone, day, day, NOW)
        return (
            await statistics.counts_between(pool, start, end),
            await statistics.email_response_between(pool, config.queues, start, end),
            list(report_output.csv_rows(days)),
        )

    before = await figures()
    assert (await _purge(pool)).contacts == 7
    assert await figures() == before
    counts = before[0]
    assert isinstance(counts, dict)
    assert sum(c.answered for c in counts.values()) == 5  # the figures are not empty
    rows = before[2]
    assert isinstance(rows, list)
    assert sum(int(r[report.CSV_COLUMNS.index("csat_answers")]) for r in rows[1:]) == 5


async def test_a_pass_works_through_more_contacts_than_a_batch(pool: asyncpg.Pool) -> None:
    ids = await insert_contacts(pool, created=OLD, due=OLD, closed=OLD, count=25)
    await pool.execute("UPDATE contacts SET client_address = '+4512345678'")

    purged = await _purge(pool, batch_size=10)

    assert purged.contacts == 25
    left = await pool.fetchval(
        "SELECT count(*) FROM contacts WHERE id = ANY($1) AND client_address IS NOT NULL", ids
    )
    assert left == 0


async def test_a_second_pass_changes_nothing(pool: asyncpg.Pool) -> None:
    ids = await _contact(pool, closed=OLD, count=3)
    await _purge(pool, batch_size=2)
    after_first = [await _rows(pool, id_) for id_ in ids]

    assert await _purge(pool, batch_size=2) == retention.Purged()
    assert [await _rows(pool, id_) for id_ in ids] == after_first


async def test_two_instances_purging_at_once_purge_each_contact_once(
    pool: asyncpg.Pool, db_url: str
) -> None:
    ids = await _contact(pool, closed=OLD, count=40)
    other = await asyncpg.create_pool(db_url, min_size=1, max_size=1)
    try:
        first, second = await asyncio.gather(
            _purge(pool, batch_size=3), _purge(other, batch_size=3)
        )
    finally:
        await other.close()
    assert first.contacts + second.contacts == len(ids)
    assert first.messages + second.messages == 2 * len(ids)
    assert first.outbox + second.outbox == 2 * len(ids)
    assert await pool.fetchval("SELECT count(*) FROM contacts WHERE purged_at IS NULL") == 0


async def test_a_contact_with_a_message_still_to_send_waits_for_the_outbox(
    pool: asyncpg.Pool,
) -> None:
    [old] = await _contact(pool, closed=OLD)
    waiting = await pool.fetchval(
        "INSERT INTO outbox (contact_id, kind, payload, idempotency_key, created_at,"
        " next_attempt_at) VALUES ($1, 'sms', $2, 'sms:w', $3, $3) RETURNING id",
        old,
        {"to": "+4512345678", "body": "B"},
        NOW,
    )
    assert (await _purge(pool)).contacts == 0

    await pool.execute("UPDATE outbox SET sent_at = $2 WHERE id = $1", waiting, NOW)
    assert (await _purge(pool)).contacts == 1
    payloads = await pool.fetch("SELECT payload FROM outbox WHERE contact_id = $1", old)
    assert all(set(r["payload"]) <= {"purged", "provider_id"} for r in payloads)


async def test_a_purged_contact_reopened_keeps_no_old_text_and_is_purged_again_later(
    pool: asyncpg.Pool,
) -> None:
    [old] = await _contact(pool, closed=OLD)
    await _purge(pool)
    # The client wrote again: the contact is reopened with the new mail, and finished.
    await store.transition(
        pool, old, Action.REOPEN, now=LATER, actor="imap:inbox", recorder=NOT_RECORDED
    )
    await pool.execute(
        "INSERT INTO messages (contact_id, direction, kind, body, raw, at)"
        " VALUES ($1, 'in', 'mail', 'Hej igen', 'From: anna', $2)",
        old,
        LATER,
    )
    await pool.execute(
        "UPDATE contacts SET state = 'done', closed_at = $2,"
        " client_address = 'anna@example.dk' WHERE id = $1",
        old,
        LATER,
    )
    bodies = await pool.fetch("SELECT body FROM messages WHERE contact_id = $1 ORDER BY id", old)
    assert [r["body"] for r in bodies] == [None, None, "Hej igen"]
    assert await _purge(pool) == retention.Purged()  # closed today: kept for the period

    a_year_on = await _purge(pool, cutoff=NOW + timedelta(days=2))
    assert (a_year_on.contacts, a_year_on.messages) == (1, 1)
    assert await pool.fetchval("SELECT client_address FROM contacts WHERE id = $1", old) is None


async def test_mail_and_comments_reaching_a_purged_contact_are_purged_a_period_later(
    pool: asyncpg.Pool,
) -> None:
    [old] = await _contact(pool, closed=OLD)
    await _purge(pool)
    # A bounce threads on without reopening it; the survey's link is answered late.
    await pool.execute(
        "INSERT INTO messages (contact_id, direction, kind, body, raw, reply_to, at)"
        " VALUES ($1, 'in', 'bounce', 'anna@example.dk: unknown', 'From: MAILER-DAEMON',"
        " 'anna.privat@example.dk', $2)",
        old,
        LATER,
    )
    await pool.execute(
        "UPDATE csat SET comment = 'sent i dag', answered_at = $2 WHERE contact_id = $1",
        old,
        LATER,
    )
    assert await _purge(pool) == retention.Purged()

    later = await _purge(pool, cutoff=NOW + timedelta(days=1))

    assert (later.contacts, later.late_messages, later.late_comments) == (0, 1, 1)
    texts = await pool.fetch(
        "SELECT body, raw, reply_to FROM messages WHERE contact_id = $1 UNION ALL"
        " SELECT comment, NULL, NULL FROM csat WHERE contact_id = $1",
        old,
    )
    assert {tuple(r) for r in texts} == {(None, None, None)}


async def test_the_next_batch_is_found_through_the_partial_index(pool: asyncpg.Pool) -> None:
    # What the job meets after a year: most closed contacts purged already, a few not yet.
    await pool.execute(
        """INSERT INTO contacts (reference, channel, case_type, case_type_source, language, queue,
               due_at, state, outcome, created_at, state_changed_at, queued_at, closed_at,
               purged_at)
           SELECT r, 'call', 'family', 'ivr', 'da', 'family', $2, 'done', 'answered', $2, $2,
                  $2, $2, $3
           FROM unnest($1::text[]) AS r""",
        list({new_reference() for _ in range(3000)}),
        OLD,
        NOW,
    )
    await pool.execute("ANALYZE contacts")
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")
        plan = await conn.fetchval(
            "EXPLAIN (FORMAT JSON) " + queries.get("retention_purge"), CUTOFF, 1000, NOW
        )
    assert "contacts_to_purge_idx" in str(plan)


async def test_the_daemon_purges_and_a_purged_email_contact_still_shows_without_text(
    pool: asyncpg.Pool, config: Settings, clock: Clock
) -> None:
    [old] = await _contact(pool, closed=OLD)
    reference = await pool.fetchval("SELECT reference FROM contacts WHERE id = $1", old)
    headers = await token_for(pool, "sofie", Role.SUPERVISOR)
    async with TestClient(TestServer(create_app(config, clock=clock))) as client:
        # The leader's "retention" loop makes its first pass as soon as it leads.
        await _until(lambda: pool.fetchval("SELECT purged_at FROM contacts WHERE id = $1", old))
        exposition = await (await client.get("/metrics")).text()
        assert "contactd_retention_purged_total 1.0" in exposition.splitlines()

        response = await client.get(f"/api/contacts/{reference}", headers=headers)
        assert response.status == 200
        contact = await response.json()
        assert (contact["client_address"], contact["subject"], contact["text"]) == (None,) * 3
        assert (contact["state"], contact["outcome"]) == ("done", "answered")
        assert {"why": "sms failed"} in [e["reason"] for e in contact["history"]]

        response = await client.get(f"/api/desk/contacts/{reference}/messages", headers=headers)
        assert response.status == 200
        messages = (await response.json())["messages"]
    assert [(m["direction"], m["subject"], m["text"], m["html"]) for m in messages] == [
        ("in", None, None, None),
        ("out", None, None, None),
    ]
    assert [(m["attachments"], m["raw_url"]) for m in messages] == [([], None)] * 2


async def test_a_pass_logs_one_line_of_counts_and_no_personal_data(pool: asyncpg.Pool) -> None:
    await _contact(pool, closed=OLD, count=2)
    config = RetentionConfig(poll_seconds=3600)
    with capture_logs() as logs:
        task = asyncio.create_task(
            retention.run(pool, config, FixedClock(NOW), recorder=NOT_RECORDED)
        )
        try:
            await _until(lambda: _logged(logs, "retention.purged"))
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
    [line] = [e for e in logs if e["event"] == "retention.purged"]
    assert (line["contacts"], line["messages"], line["days"]) == (2, 4, 365)
    text = repr(line)
    for personal in ("anna", "4512345678", "ansøgning", "Aarhus"):
        assert personal not in text


async def test_the_job_switched_off_purges_nothing(pool: asyncpg.Pool) -> None:
    [old] = await _contact(pool, closed=OLD)
    await retention.run(
        pool, RetentionConfig(enabled=False), FixedClock(NOW), recorder=NOT_RECORDED
    )  # returns at once
    assert await pool.fetchval("SELECT purged_at FROM contacts WHERE id = $1", old) is None


@pytest.mark.parametrize("days", ["0", "-1"])
def test_a_period_under_a_day_is_refused(days: str) -> None:
    with pytest.raises(ConfigError, match=r"retention\.days"):
        load(ROOT / "config" / "contactd.toml", environ={"CONTACTD_RETENTION__DAYS": days})


def test_the_period_defaults_to_a_year_without_a_retention_table() -> None:
    assert RetentionConfig().days == 365
    assert RetentionConfig().enabled is True


async def test_a_message_that_can_never_be_sent_is_given_up_so_its_contact_is_purged(
    pool: asyncpg.Pool,
) -> None:
    [old] = await _contact(pool, closed=OLD)
    [recent] = await _contact(pool, closed=OLD)
    # No SMS sender was ever set up: the outbox waited for one, without counting tries.
    for contact_id, created in ((old, OLD), (recent, NOW - timedelta(hours=1))):
        await pool.execute(
            "INSERT INTO outbox (contact_id, kind, payload, idempotency_key, created_at,"
            " next_attempt_at, last_error) VALUES ($1, 'sms', $2, $3, $4, $5, 'no sender')",
            contact_id,
            {"to": "+4512345678", "body": "B"},
            f"sms:never:{contact_id}",
            created,
            NOW - timedelta(minutes=1),
        )
    assert (await _purge(pool)).contacts == 0

    given_up = await outbox.expire(
        pool,
        {str(k): h for k, h in MAX_AGE_HOURS.items()},
        clock=FixedClock(NOW),
        recorder=NOT_RECORDED,
    )
    assert given_up == 1  # the one older than 48 hours; the recent one is still tried
    row = await pool.fetchrow(
        "SELECT failed_at, last_error FROM outbox WHERE idempotency_key = $1", f"sms:never:{old}"
    )
    assert row is not None
    assert (row["failed_at"], row["last_error"]) == (
        NOW,
        "expired: not sent within 48 hours (last error: no sender)",
    )
    assert (await _purge(pool)).contacts == 1
    assert await pool.fetchval("SELECT client_address FROM contacts WHERE id = $1", old) is None
    assert await pool.fetchval("SELECT client_address FROM contacts WHERE id = $1", recent)


def test_every_outbox_kind_has_a_maximum_age() -> None:
    """A kind of message added without a maximum age could hold its contacts back from the
    purge for ever."""
    assert set(MAX_AGE_HOURS) == set(OUTBOX_KINDS)
    assert set(OutboxConfig().max_age_hours) == set(OUTBOX_KINDS)
    assert OutboxConfig(max_age_hours={"sms": 1}).max_age_hours["email"] == MAX_AGE_HOURS["email"]


async def test_the_daemon_gives_up_a_message_it_cannot_send_and_purges_its_contact(
    db_url: str, pool: asyncpg.Pool
) -> None:
    """The whole way, on the daemon's own loops and clock: an SMS written more than
    outbox.max_age_hours.sms ago for a contact closed past the period, on a daemon with no
    Twilio account (no SMS sender), is given up by the outbox, and the next retention pass
    purges the contact."""
    [old] = await _contact(pool, closed=OLD)
    await pool.execute(
        "INSERT INTO outbox (contact_id, kind, payload, idempotency_key, created_at,"
        " next_attempt_at) VALUES ($1, 'sms', $2, 'sms:never', $3, $3)",
        old,
        {"to": "+4512345678", "body": "B"},
        NOW - timedelta(hours=MAX_AGE_HOURS["sms"] + 1),
    )
    config = load(
        ROOT / "config" / "contactd.toml",
        environ={
            "CONTACTD_DATABASE_URL": db_url,
            "CONTACTD_CLASSIFIER__ENABLED": "false",
            "CONTACTD_RETENTION__POLL_SECONDS": "1",
        },
    )
    async with TestClient(TestServer(create_app(config, clock=FixedClock(NOW)))) as client:
        app_pool: asyncpg.Pool = client.app[POOL]
        for _ in range(100):
            address = await app_pool.fetchval(
                "SELECT client_address FROM contacts WHERE id = $1", old
            )
            if address is None:
                break
            await asyncio.sleep(0.05)
        row = await app_pool.fetchrow(
            "SELECT failed_at, last_error FROM outbox WHERE idempotency_key = 'sms:never'"
        )
    assert address is None
    assert row is not None
    assert row["failed_at"] == NOW
    assert row["last_error"] is None  # purged with its contact (it may name the number)
