"""Client satisfaction on a real PostgreSQL: contacts finished through the desk are asked
once, by SMS (sent to Twilio's spec served by Prism) or by e-mail (received by a real SMTP
server), after the delay and by their queue's share; the link's page and API take one
answer, and refuse double, expired, forged and bad answers without storing anything."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from structlog.testing import capture_logs

from contactd import settings
from contactd.app import create_app
from contactd.clock import FixedClock
from contactd.http import surveys as api_csat
from contactd.http.appkeys import CLOCK, METRICS, POOL
from contactd.metrics import NOT_RECORDED
from contactd.services import surveys as csat
from contactd.services.surveys import build_surveys
from contactd.settings import Settings
from contactd.store.staff import Role
from tests import mailserver
from tests.conftest import ROOT, WORKDAY, token_for

Client = TestClient[web.Request, web.Application]
PUBLIC = "https://kontakt.example.dk"
AGENCY = "kontakt@nyidanmark.example"
LINK = re.compile(re.escape(PUBLIC) + r"/s/([A-Za-z0-9_-]{28})(?![A-Za-z0-9_-])")


def _config(db_url: str, *, share: float = 1.0, **env: str) -> Settings:
    """The shipped configuration, able to ask by SMS and e-mail, every queue asking `share`.
    Twilio and SMTP are unreachable unless a test names real ones: messages wait."""
    loaded = settings.load(
        ROOT / "config" / "contactd.toml",
        environ={
            "CONTACTD_DATABASE_URL": db_url,
            "CONTACTD_CLASSIFIER__ENABLED": "false",
            "CONTACTD_PUBLIC_URL": PUBLIC,
            "CONTACTD_TWILIO_AUTH_TOKEN": "test-token",
            "CONTACTD_PHONE__ACCOUNT_SID": "AC" + "0123456789abcdef" * 2,
            "CONTACTD_PHONE__NUMBER": "+4570201010",
            "CONTACTD_PHONE__API_URL": "http://127.0.0.1:9",
            "CONTACTD_EMAIL__ADDRESS": AGENCY,
            "CONTACTD_EMAIL__SMTP": '{ host = "127.0.0.1", port = 9, starttls = false }',
            "CONTACTD_ROUTING__WRAP_UP_SECONDS": "0",
            **env,
        },
    )
    return with_share(loaded, share)


def with_share(config: Settings, share: float) -> Settings:
    queues = tuple(dataclasses.replace(q, csat_share=share) for q in config.queues)
    return dataclasses.replace(config, queues=queues)


@pytest.fixture
def clock() -> FixedClock:
    """The daemon's clock here stands still at WORKDAY (the service centre is open); a test
    moves it."""
    return FixedClock(WORKDAY)


@pytest.fixture
async def daemon(db_url: str, clock: FixedClock) -> AsyncIterator[Client]:
    async with TestClient(TestServer(create_app(_config(db_url), clock=clock))) as client:
        yield client


def _pool(client: Client) -> asyncpg.Pool:
    return client.app[POOL]


def _surveys(client: Client) -> csat.Surveys:
    return client.app[api_csat.SURVEYS].surveys


async def _done(
    pool: asyncpg.Pool,
    *,
    now: datetime,
    count: int = 1,
    channel: str = "call",
    address: str | None = "+4520123456",
    language: str = "da",
    state: str = "done",
    outcome: str | None = "answered",
    minutes_ago: int = 10,
) -> list[int]:
    """Contacts closed `minutes_ago` before `now`, as the desk leaves them (made here, for
    numbers)."""
    rows = await pool.fetch(
        """INSERT INTO contacts (reference, channel, case_type, case_type_source, language,
                                 queue, due_at, client_address, state, closed_at, outcome,
                                 created_at, state_changed_at, queued_at)
           SELECT upper(substr(md5(random()::text), 1, 9)), $1, 'family', 'staff', $2,
                  'family', $8::timestamptz, $3, $4, $8::timestamptz - make_interval(mins => $5),
                  $6, $8, $8, $8
           FROM generate_series(1, $7)
           RETURNING id""",
        channel, language, address, state, minutes_ago, outcome, count, now,
    )  # fmt: skip
    return [r["id"] for r in rows]


async def _backdate(pool: asyncpg.Pool, minutes: int = 10) -> None:
    """Time passes: the contacts were finished `minutes` earlier."""
    await pool.execute(
        "UPDATE contacts SET closed_at = closed_at - make_interval(mins => $1) "
        "WHERE closed_at IS NOT NULL",
        minutes,
    )


async def _asked(pool: asyncpg.Pool) -> dict[int, asyncpg.Record]:
    rows = await pool.fetch("SELECT * FROM csat ORDER BY contact_id")
    return {r["contact_id"]: r for r in rows}


async def _token(pool: asyncpg.Pool, contact_id: int) -> str:
    payload = await pool.fetchval(
        "SELECT payload FROM outbox WHERE idempotency_key = $1", f"csat:{contact_id}"
    )
    text = payload.get("body") or payload["text"]
    found = LINK.search(text)
    assert found, text
    return found.group(1)


async def _one_survey(client: Client, **contact: Any) -> tuple[int, str]:
    now = client.app[CLOCK].now()
    (contact_id,) = await _done(_pool(client), now=now, **contact)
    await _surveys(client).ask_due()
    return contact_id, await _token(_pool(client), contact_id)


# The desk's part: finishing contacts as caseworkers do.


async def _desk(client: Client) -> tuple[dict[str, str], dict[str, str]]:
    pool = _pool(client)
    supervisor = await token_for(pool, "sofie", Role.SUPERVISOR)
    karin = await token_for(pool, "karin", Role.AGENT)
    profile = {"skills": {"family": 3}, "languages": ["da", "en"], "counter": "3"}
    assert (await client.put("/api/agents/karin", json=profile, headers=supervisor)).status == 200
    await client.post("/api/desk/state", json={"state": "available"}, headers=karin)
    return supervisor, karin


async def _take(client: Client, agent: dict[str, str], reference: str) -> None:
    """Accept the contact once the router has offered it."""
    async with asyncio.timeout(15):
        while True:
            desk = await (await client.get("/api/desk", headers=agent)).json()
            if any(c["reference"] == reference for c in desk["contacts"]):
                break
            await asyncio.sleep(0.05)
    accepted = await client.post(f"/api/desk/contacts/{reference}/accept", headers=agent)
    assert accepted.status == 200, await accepted.text()


async def _serve(
    client: Client, staff: dict[str, str], agent: dict[str, str], **contact: Any
) -> str:
    """A contact registered by staff, taken and finished by `agent`: its reference."""
    created = await client.post(
        "/api/contacts", json={"case_type": "family", **contact}, headers=staff
    )
    reference = str((await created.json())["reference"])
    await _take(client, agent, reference)
    finished = await client.post(
        f"/api/desk/contacts/{reference}/finish", json={"outcome": "answered"}, headers=agent
    )
    assert finished.status == 200, await finished.text()
    return reference


async def _ticket(client: Client, front: dict[str, str], agent: dict[str, str], **body: Any) -> str:
    issued = await client.post("/api/tickets", json={"case_type": "family", **body}, headers=front)
    reference = str((await issued.json())["reference"])
    await _take(client, agent, reference)
    return reference


async def _id(pool: asyncpg.Pool, reference: str) -> int:
    found: int = await pool.fetchval("SELECT id FROM contacts WHERE reference = $1", reference)
    return found


# Asking.


@pytest.mark.timeout(90)
async def test_finished_contacts_are_asked_once_after_the_delay_by_sms_and_by_email(
    db_url: str, clock: FixedClock, prism_url: str, smtp: tuple[mailserver.Smtp, int]
) -> None:
    received, smtp_port = smtp
    config = _config(
        db_url,
        CONTACTD_PHONE__API_URL=prism_url,
        CONTACTD_EMAIL__SMTP=(
            f'{{ host = "127.0.0.1", port = {smtp_port}, starttls = false, user = "contactd" }}'
        ),
        CONTACTD_SMTP_PASSWORD="smtp-secret",
        CONTACTD_OUTBOX__POLL_SECONDS="0.1",
    )
    async with TestClient(TestServer(create_app(config, clock=clock))) as client:
        pool = _pool(client)
        staff, karin = await _desk(client)
        call = await _serve(client, staff, karin, channel="call", client_address="+4520123456")
        mail = await _serve(
            client, staff, karin, channel="email", language="en", client_address="anna@example.dk"
        )
        await pool.execute(
            "INSERT INTO messages (contact_id, direction, kind, message_id, subject, at) "
            "VALUES ($1, 'in', 'mail', '<m1@example.dk>', 'Visa', $2)",
            await _id(pool, mail),
            clock(),
        )
        ticket = await _ticket(client, staff, karin, language="en", phone="+45 20 12 34 57")
        finished = await client.post(
            f"/api/desk/contacts/{ticket}/finish", json={"outcome": "served"}, headers=karin
        )
        assert finished.status == 200

        surveys = _surveys(client)
        await surveys.ask_due()
        assert await _asked(pool) == {}  # finished just now: within delay_minutes
        await _backdate(pool)
        with capture_logs() as logs:
            await surveys.ask_due()
            await surveys.ask_due()  # a second pass (or another leader) asks no one again
        asked = await _asked(pool)
        ids = {name: await _id(pool, ref) for name, ref in [("call", call), ("mail", mail),
                                                            ("ticket", ticket)]}  # fmt: skip
        assert {i: (r["channel"], r["via"], r["queue"]) for i, r in asked.items()} == {
            ids["call"]: ("call", "sms", "family"),
            ids["mail"]: ("email", "email", "family"),
            ids["ticket"]: ("ticket", "sms", "family"),
        }
        expires = WORKDAY + timedelta(days=14)
        assert asked[ids["call"]]["expires_at"] == expires
        # Logs name the contact by reference, never by its number or address.
        assert "+4520123456" not in str(logs)
        assert "anna@" not in str(logs)

        rows = await pool.fetch(
            "SELECT contact_id, kind, payload, idempotency_key FROM outbox "
            "WHERE idempotency_key LIKE 'csat:%' ORDER BY contact_id"
        )
        assert sorted(r["idempotency_key"] for r in rows) == sorted(f"csat:{i}" for i in asked)
        by_contact = {r["contact_id"]: r for r in rows}
        sms = by_contact[ids["call"]]["payload"]
        assert sms["to"] == "+4520123456"
        assert sms["body"].startswith(
            "Udlændingestyrelsen: Hvor tilfreds er du alt i alt med den service, du fik? Svar her: "
        )
        token = LINK.search(sms["body"])
        assert token is not None
        link = csat.verify(await surveys.key(), token.group(1))
        assert link is not None
        assert link.contact_id == ids["call"]
        assert by_contact[ids["ticket"]]["payload"]["body"].startswith(
            "The Danish Immigration Service: How satisfied are you, in general, with the service?"
        )
        assert by_contact[ids["ticket"]]["payload"]["to"] == "+4520123457"

        # The outbox sends them: to Twilio's API (Prism) and to the SMTP server.
        async with asyncio.timeout(20):
            while True:
                unsent = await pool.fetchval(
                    "SELECT count(*) FROM outbox WHERE idempotency_key LIKE 'csat:%' "
                    "AND sent_at IS NULL"
                )
                if unsent == 0:
                    break
                await asyncio.sleep(0.1)
        surveys_mailed = [m for m in received.messages if "satisfied" in str(m["Subject"])]
        assert len(surveys_mailed) == 1
        message = surveys_mailed[0]
        assert message["Subject"] == f"How satisfied were you with our service? [{mail}]"
        assert (message["To"], message["From"]) == ("anna@example.dk", AGENCY)
        assert message["In-Reply-To"] == "<m1@example.dk>"
        assert message["Auto-Submitted"] == "auto-generated"
        body = message.get_content()
        assert "how satisfied you are, in general, with the service you received" in body
        mailed = LINK.search(body)
        assert mailed is not None
        link = csat.verify(await surveys.key(), mailed.group(1))
        assert link is not None
        assert link.contact_id == ids["mail"]
        assert f"The link works until {expires:%d.%m.%Y}" in body
        # Kept with the conversation under the Message-ID it was sent with: a bounce of it
        # names that ID and is known as ours (contactd/services/inbox.py), not taken for a new
        # contact.
        kept = await pool.fetchrow(
            "SELECT direction, kind, message_id FROM messages WHERE contact_id = $1 AND kind = "
            "'survey'",
            ids["mail"],
        )
        assert kept is not None
        assert (kept["direction"], kept["message_id"]) == ("out", message["Message-ID"].strip())


async def test_no_shows_the_unreached_and_contacts_without_a_number_are_not_asked(
    daemon: Client, clock: FixedClock
) -> None:
    pool = _pool(daemon)
    staff, karin = await _desk(daemon)
    no_show = await _ticket(daemon, staff, karin, phone="+4520123458")
    for _ in range(2):
        assert (await daemon.post(f"/api/desk/contacts/{no_show}/recall", headers=karin)).ok
    gone = await daemon.post(f"/api/desk/contacts/{no_show}/no-show", headers=karin)
    assert (await gone.json())["outcome"] == "no_show"
    without_number = await _ticket(daemon, staff, karin)
    finished = await daemon.post(
        f"/api/desk/contacts/{without_number}/finish", json={"outcome": "served"}, headers=karin
    )
    assert finished.status == 200
    await _serve(daemon, staff, karin, channel="call")  # a hidden number is stored as none
    now = clock()
    await _done(pool, now=now, channel="callback", outcome="not_reached")
    await _done(pool, now=now, state="abandoned", outcome="abandoned")
    await _done(pool, now=now, state="cancelled", outcome="merged")
    await _done(pool, now=now, minutes_ago=25 * 60)  # finished more than a day ago
    await _done(pool, now=now, channel="email", address="+4520123456")  # not an e-mail address
    await _backdate(pool)
    await _surveys(daemon).ask_due()
    assert await _asked(pool) == {}
    served = await _serve(daemon, staff, karin, channel="call", client_address="+4520123459")
    await _backdate(pool)
    await _surveys(daemon).ask_due()
    assert list(await _asked(pool)) == [await _id(pool, served)]


async def test_the_queue_share_decides_who_is_asked_the_same_ones_every_time(
    db_url: str, pool: asyncpg.Pool, clock: FixedClock
) -> None:
    ids = await _done(pool, now=clock(), count=200)

    async def asked_with(share: float) -> set[int]:
        """A fresh instance asks with this share; then the survey is forgotten again."""
        surveys = build_surveys(
            pool, _config(db_url, share=share), clock=clock, recorder=NOT_RECORDED
        )
        await surveys.ask_due()
        asked = set(await _asked(pool))
        await pool.execute("DELETE FROM outbox; DELETE FROM csat")
        return asked

    assert await asked_with(0.0) == set()
    assert await asked_with(1.0) == set(ids)
    half = await asked_with(0.5)
    assert 70 <= len(half) <= 130
    assert await asked_with(0.5) == half
    assert half == {i for i in ids if csat.chosen(i, 0.5)}
    assert await asked_with(0.1) < half  # a smaller share asks a subset of a larger one


async def test_without_a_public_url_no_one_is_asked_and_the_log_says_why(
    db_url: str, pool: asyncpg.Pool, clock: FixedClock
) -> None:
    await _done(pool, now=clock())
    config = dataclasses.replace(_config(db_url), public_url=None)
    surveys = build_surveys(pool, config, clock=clock, recorder=NOT_RECORDED)
    with capture_logs() as logs:
        await surveys.run(poll_seconds=0.01)  # returns: nothing to do until a restart
    assert [e["event"] for e in logs] == ["csat.off"]
    assert "CONTACTD_PUBLIC_URL" in logs[0]["why"]
    assert await surveys.ask_due() == 0
    assert await _asked(pool) == {}


async def test_without_twilio_only_email_is_asked_and_the_log_says_why(
    db_url: str, pool: asyncpg.Pool, clock: FixedClock
) -> None:
    (call,) = await _done(pool, now=clock())
    (mail,) = await _done(
        pool, now=clock(), channel="email", address="anna@example.dk", language="en"
    )
    config = dataclasses.replace(_config(db_url), twilio_auth_token=None)
    surveys = build_surveys(pool, config, clock=clock, recorder=NOT_RECORDED)
    with capture_logs() as logs:
        task = asyncio.create_task(surveys.run(poll_seconds=60))
        async with asyncio.timeout(10):
            while True:
                if await _asked(pool):
                    break
                await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert [(e["event"], e["channels"]) for e in logs if e["event"] == "csat.channel_off"] == [
        ("csat.channel_off", "call, callback, ticket")
    ]
    assert list(await _asked(pool)) == [mail]
    assert call not in await _asked(pool)


# Answering.


async def test_an_answer_is_stored_with_the_contact_once_and_counted(daemon: Client) -> None:
    pool = _pool(daemon)
    contact_id, token = await _one_survey(daemon)
    state = await daemon.get(f"/api/surveys/{token}")
    assert state.status == 200
    assert (await state.json())["state"] == "open"
    assert (await state.json())["language"] == "da"
    page = await daemon.get(f"/s/{token}")
    assert page.status == 200
    assert page.headers["Content-Security-Policy"] == "default-src 'self'; frame-ancestors 'none'"
    assert page.headers["Cache-Control"] == "no-store"
    assert 'data-t="csat.question"' in await page.text()  # worded by the pages catalog:
    words = await (await daemon.get("/api/wording/pages?lang=da")).json()
    assert words["messages"]["csat.question"] == (
        "Hvor tilfreds er du alt i alt med den service, du fik?"
    )

    answered = await daemon.post(
        f"/api/surveys/{token}", json={"score": 4, "comment": "  Venlig og hurtig hjælp.  "}
    )
    assert answered.status == 201
    assert ((await answered.json())["state"], (await answered.json())["score"]) == ("answered", 4)
    row = (await _asked(pool))[contact_id]
    assert (row["score"], row["comment"]) == (4, "Venlig og hurtig hjælp.")
    assert row["answered_at"] is not None
    counted = daemon.app[METRICS]
    labels = {"queue": "family", "channel": "call"}
    assert counted.registry.get_sample_value("contactd_csat_answers_total", labels) == 1
    assert counted.registry.get_sample_value("contactd_csat_score_total", labels) == 4

    again = await daemon.post(f"/api/surveys/{token}", json={"score": 1})
    assert again.status == 409
    assert (await again.json())["error"]["code"] == "survey_answered"
    assert (await again.json())["error"]["details"] == [{"language": "da"}]
    assert (await _asked(pool))[contact_id]["score"] == 4
    assert (await daemon.get(f"/api/surveys/{token}")).status == 409
    assert (await daemon.get(f"/s/{token}")).status == 409
    assert counted.registry.get_sample_value("contactd_csat_answers_total", labels) == 1


async def test_two_answers_sent_at_once_store_one(daemon: Client) -> None:
    contact_id, token = await _one_survey(daemon)
    responses = await asyncio.gather(
        *(daemon.post(f"/api/surveys/{token}", json={"score": s}) for s in (2, 5))
    )
    statuses = {r.status: (await r.json()) for r in responses}
    assert sorted(statuses) == [201, 409]
    assert statuses[409]["error"]["code"] == "survey_answered"
    stored = (await _asked(_pool(daemon)))[contact_id]["score"]
    assert stored == statuses[201]["score"]


async def test_an_expired_link_is_refused_and_nothing_is_stored(
    daemon: Client, clock: FixedClock
) -> None:
    contact_id, token = await _one_survey(daemon, language="en")
    clock.advance(days=14, seconds=1)
    state = await daemon.get(f"/api/surveys/{token}")
    assert state.status == 410
    error = (await state.json())["error"]
    assert (error["code"], error["details"]) == ("survey_expired", [{"language": "en"}])
    answered = await daemon.post(f"/api/surveys/{token}", json={"score": 5})
    assert (answered.status, (await answered.json())["error"]["code"]) == (410, "survey_expired")
    assert (await daemon.get(f"/s/{token}")).status == 410
    assert (await _asked(_pool(daemon)))[contact_id]["answered_at"] is None


async def test_forged_altered_and_unknown_links_are_not_found(
    daemon: Client, clock: FixedClock
) -> None:
    pool = _pool(daemon)
    contact_id, token = await _one_survey(daemon)
    key = await _surveys(daemon).key()
    flip = {"A": "B"}.get(token[-1], "A")
    later = clock() + timedelta(days=30)
    forged = [
        token[:-1] + flip,  # the signature altered
        ("B" if token[0] != "B" else "C") + token[1:],  # the contact id altered
        csat.sign(b"k" * 32, contact_id, later),  # signed with another key
        csat.sign(key, 999_999, later),  # signed, but never asked
        token[:20],  # cut short
        token + "A",
        "x" * 28,
    ]
    for bad in forged:
        state = await daemon.get(f"/api/surveys/{bad}")
        assert (state.status, (await state.json())["error"]["code"]) == (404, "survey_not_found")
        answered = await daemon.post(f"/api/surveys/{bad}", json={"score": 5})
        assert answered.status == 404
        page = await daemon.get(f"/s/{bad}")
        assert page.status == 404
        assert page.headers["Content-Type"].startswith("text/html")
    assert (await _asked(pool))[contact_id]["answered_at"] is None


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ('{"score": 4,', 400, "invalid_json"),
        ('{"score": 0}', 422, "invalid_body"),
        ('{"score": 6}', 422, "invalid_body"),
        ('{"score": "x"}', 422, "invalid_body"),
        ('{"score": "4"}', 422, "invalid_body"),
        ('{"score": true}', 422, "invalid_body"),
        ('{"score": 4.5}', 422, "invalid_body"),
        ('{"comment": "fint"}', 422, "invalid_body"),
        ('{"score": 4, "name": "Anna"}', 422, "invalid_body"),
        ('{"score": 4, "comment": "' + "x" * 1001 + '"}', 422, "invalid_body"),
        ('{"score": 4, "comment": "a\\u0000b"}', 422, "invalid_body"),
        ("[4]", 422, "invalid_body"),
    ],
)
async def test_a_bad_answer_is_refused_clearly_and_nothing_is_stored(
    daemon: Client, body: str, status: int, code: str
) -> None:
    contact_id, token = await _one_survey(daemon)
    response = await daemon.post(
        f"/api/surveys/{token}", data=body, headers={"Content-Type": "application/json"}
    )
    assert (response.status, (await response.json())["error"]["code"]) == (status, code)
    assert (await _asked(_pool(daemon)))[contact_id]["answered_at"] is None


async def test_an_answer_not_sent_as_json_is_refused(daemon: Client) -> None:
    _, token = await _one_survey(daemon)
    response = await daemon.post(f"/api/surveys/{token}", data={"score": "4"})
    assert (response.status, (await response.json())["error"]["code"]) == (
        415, "unsupported_media_type",
    )  # fmt: skip


async def test_a_comment_of_1000_characters_is_kept_whole(daemon: Client) -> None:
    contact_id, token = await _one_survey(daemon)
    comment = "æ" * 1000
    response = await daemon.post(f"/api/surveys/{token}", json={"score": 3, "comment": comment})
    assert response.status == 201
    assert (await _asked(_pool(daemon)))[contact_id]["comment"] == comment


async def test_requests_from_one_address_are_limited(daemon: Client) -> None:
    statuses = [
        (await daemon.get(f"/api/surveys/{'x' * 28}")).status
        for _ in range(api_csat.REQUESTS_PER_ADDRESS)
    ]
    assert set(statuses) == {404}
    limited = await daemon.get(f"/api/surveys/{'x' * 28}")
    assert (limited.status, (await limited.json())["error"]["code"]) == (429, "too_many_requests")
    assert limited.headers["Retry-After"] == "60"


def test_the_token_is_short_url_safe_and_signed() -> None:
    key = bytes(range(32))
    expires = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)
    token = csat.sign(key, 123_456_789, expires)
    assert len(token) == 28
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)
    assert csat.verify(key, token) == csat.Link(contact_id=123_456_789, expires_at=expires)
    assert csat.verify(bytes(32), token) is None
    assert csat.verify(key, token.replace(token[5], "A" if token[5] != "A" else "B")) is None
