"""A caseworker accepts a callback and the daemon dials it through Twilio's REST API (Prism
serving Twilio's spec), then follows the call by its signed webhooks: connected, retried
while the window lasts, or closed as not reached with an SMS. A call never rings twice."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Mapping
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from twilio.request_validator import RequestValidator

from channels.phone.dialing import dial_item
from channels.ports import Failure, SendError
from contactd import settings
from contactd.app import create_app
from contactd.clock import Clock, FixedClock
from contactd.http.appkeys import CALLS, INTAKE, POOL
from contactd.leader import outbox
from contactd.metrics import NOT_RECORDED
from contactd.store import contacts as store
from contactd.store.staff import Role
from routing.contact import Channel, Language, NewContact
from tests.conftest import ROOT, WORKDAY, token_for

TOKEN = "test-auth-token"
PUBLIC = "https://contact.example.dk"
HOTLINE = "+4570201010"
CLIENT = "+4520123456"
KARIN_PHONE = "+4531000001"
Client = TestClient[web.Request, web.Application]


def _config(db_url: str, prism_url: str, **env: str) -> settings.Settings:
    return settings.load(
        ROOT / "config" / "contactd.toml",
        environ={
            "CONTACTD_DATABASE_URL": db_url,
            "CONTACTD_CLASSIFIER__ENABLED": "false",
            "CONTACTD_TWILIO_AUTH_TOKEN": TOKEN,
            "CONTACTD_PUBLIC_URL": PUBLIC,
            "CONTACTD_PHONE__ACCOUNT_SID": "AC" + "0123456789abcdef" * 2,
            "CONTACTD_PHONE__NUMBER": HOTLINE,
            "CONTACTD_PHONE__API_URL": prism_url,
            "CONTACTD_PHONE__CALLBACK_ATTEMPTS": "2",
            "CONTACTD_OUTBOX__POLL_SECONDS": "0.1",
            **env,
        },
    )


@pytest.fixture
async def app_client(db_url: str, prism_url: str, clock: Clock) -> AsyncIterator[Client]:
    async with TestClient(TestServer(create_app(_config(db_url, prism_url), clock=clock))) as c:
        yield c


def _pool(client: Client) -> asyncpg.Pool:
    return client.app[POOL]


async def _karin(client: Client, phone: str | None = KARIN_PHONE) -> dict[str, str]:
    supervisor = await token_for(_pool(client), "sofie", Role.SUPERVISOR)
    karin = await token_for(_pool(client), "karin", Role.AGENT)
    profile: dict[str, Any] = {"skills": {"family": 3}, "languages": ["da"]}
    if phone:
        profile["phone"] = phone
    assert (await client.put("/api/agents/karin", json=profile, headers=supervisor)).ok
    await client.post("/api/desk/state", json={"state": "available"}, headers=karin)
    return karin


async def _offered(client: Client, agent: dict[str, str]) -> str:
    for _ in range(100):
        desk = await (await client.get("/api/desk", headers=agent)).json()
        if desk["contacts"] and desk["contacts"][0]["state"] == "offered":
            return str(desk["contacts"][0]["reference"])
        await asyncio.sleep(0.05)
    raise AssertionError("no offer")


async def _sent(pool: asyncpg.Pool, key: str) -> asyncpg.Record:
    """The outbox message whose key starts with `key` (a dial's key ends with which
    acceptance it belongs to), once sent."""
    for _ in range(100):
        row = await pool.fetchrow(
            "SELECT * FROM outbox WHERE idempotency_key LIKE $1 || '%' ORDER BY id DESC", key
        )
        if row is not None and row["sent_at"] is not None:
            return row
        await asyncio.sleep(0.05)
    raise AssertionError(f"{key} was not sent: {row}")


async def twilio(client: Client, path: str, form: dict[str, str]) -> ET.Element:
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC + path, form)
    response = await client.post(path, data=form, headers={"X-Twilio-Signature": signature})
    assert response.status == 200, await response.text()
    return ET.fromstring(await response.text())  # noqa: S314 - our own daemon's TwiML


async def test_an_accepted_callback_is_dialled_retried_and_closed_as_not_reached(
    app_client: Client,
) -> None:
    pool = _pool(app_client)
    karin = await _karin(app_client)
    await app_client.app[INTAKE].submit(
        NewContact(
            channel=Channel.CALLBACK,
            language=Language.DA,
            case_type="family",
            client_address=CLIENT,
            external_id="booking:test-1",
        ),
        actor="test",
    )
    reference = await _offered(app_client, karin)
    accepted = await app_client.post(f"/api/desk/contacts/{reference}/accept", headers=karin)
    assert (await accepted.json())["state"] == "active"
    dial = await _sent(pool, f"dial:{reference}:")
    assert dial["payload"]["to"] == KARIN_PHONE  # the agent's phone rings first
    assert dial["payload"]["provider_id"].startswith("CA")  # Prism took the call request

    # Every URL Twilio is given names the acceptance it belongs to.
    query = f"ref={reference}&acceptance={dial['payload']['acceptance']}&order=agent_first"
    twiml = await twilio(
        app_client, f"/twilio/dial?{query}", {"CallSid": "CA1", "CallStatus": "in-progress"}
    )
    say, dialled = twiml.find("Say"), twiml.find("Dial")
    assert say is not None
    assert say.text is not None
    assert say.text.startswith("Tilbageringning. Reference")
    assert dialled is not None
    assert dialled.get("callerId") == HOTLINE
    number = dialled.find("Number")
    assert number is not None
    assert number.text == CLIENT

    result = f"/twilio/dial-result?{query}"
    await twilio(app_client, result, {"CallSid": "CA1", "DialCallStatus": "no-answer"})
    retry = await pool.fetchrow("SELECT * FROM contacts WHERE reference = $1", reference)
    assert retry is not None
    assert (retry["state"], retry["attempts"], list(retry["passed_by"])) == ("queued", 1, [])
    assert retry["not_before"] is not None  # tried again in 15 minutes
    # Twilio retries or replays the same webhook: the attempt is over, nothing changes.
    await twilio(app_client, result, {"CallSid": "CA1", "DialCallStatus": "no-answer"})
    assert await pool.fetchval("SELECT state FROM contacts") == "queued"

    await pool.execute("UPDATE contacts SET not_before = NULL")  # 15 minutes later
    await _offered(app_client, karin)
    await app_client.post(f"/api/desk/contacts/{reference}/accept", headers=karin)
    redial = await _sent(pool, f"dial:{reference}:")
    assert redial["payload"]["acceptance"] != dial["payload"]["acceptance"]
    second = (
        f"/twilio/dial-result?ref={reference}&acceptance={redial['payload']['acceptance']}"
        "&order=agent_first"
    )
    await twilio(app_client, second, {"CallSid": "CA2", "DialCallStatus": "busy"})
    closed = await pool.fetchrow("SELECT * FROM contacts WHERE reference = $1", reference)
    assert closed is not None
    assert (closed["state"], closed["outcome"], closed["attempts"]) == ("done", "not_reached", 2)
    sms = await _sent(pool, f"sms:not-reached:{reference}")
    assert sms["payload"]["to"] == CLIENT
    assert "forsøgt at ringe dig op 2 gange" in sms["payload"]["body"]
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE kind = 'dial'") == 2


async def test_an_agent_without_a_phone_cannot_accept_a_callback(app_client: Client) -> None:
    karin = await _karin(app_client, phone=None)
    await app_client.app[INTAKE].submit(
        NewContact(channel=Channel.CALLBACK, case_type="family", client_address=CLIENT),
        actor="test",
    )
    reference = await _offered(app_client, karin)
    refused = await app_client.post(f"/api/desk/contacts/{reference}/accept", headers=karin)
    assert (refused.status, (await refused.json())["error"]["code"]) == (409, "no_phone")
    assert await _pool(app_client).fetchval("SELECT state FROM contacts") == "offered"
    assert await _pool(app_client).fetchval("SELECT count(*) FROM outbox") == 0


async def test_a_dial_whose_outcome_is_unknown_is_not_placed_again(pool: asyncpg.Pool) -> None:
    """The daemon died after asking Twilio to call (the lease ran out, no outcome written),
    and its sender cannot ask Twilio what became of it (tests/integration/test_outbox_safety.py
    has one that can): the call may have rung, so it is not placed a second time."""
    await pool.execute(
        """INSERT INTO outbox (kind, payload, idempotency_key, attempts, created_at,
                               next_attempt_at)
           VALUES ('dial', '{"to": "+4520123456"}', 'dial:X:1', 1, $1, $1)""",
        WORKDAY,
    )
    placed: list[Mapping[str, Any]] = []

    async def dial(payload: Mapping[str, Any], key: str) -> str:
        placed.append(payload)
        return "CA-new"

    await outbox.send_due(
        pool, {"dial": dial}, clock=FixedClock(WORKDAY), batch=10, lease_seconds=60,
        max_attempts=5, backoff_seconds=1, max_backoff_seconds=60, concurrency=1,
        recorder=NOT_RECORDED,
    )  # fmt: skip
    row = await pool.fetchrow("SELECT * FROM outbox")
    assert row is not None
    assert placed == []
    assert row["failed_at"] is not None
    assert "outcome of the last try is unknown" in row["last_error"]


async def test_an_accepted_call_is_put_through_and_back_in_line_if_the_agent_misses_it(
    app_client: Client, clock: Clock
) -> None:
    pool = _pool(app_client)
    await app_client.app[INTAKE].submit(
        NewContact(channel=Channel.CALLBACK, case_type="family", client_address=CLIENT),
        actor="test",
    )
    # Booked for later: only the call is offered now.
    await pool.execute("UPDATE contacts SET not_before = $1", clock() + timedelta(hours=1))
    karin = await _karin(app_client)
    sid = "CA" + "0123456789abcdef" * 2
    call = {"CallSid": sid, "From": CLIENT, "To": HOTLINE, "CallStatus": "ringing"}
    await twilio(app_client, "/twilio/voice", call)
    await twilio(app_client, "/twilio/menu?lang=da&then=queue&tries=0", {**call, "Digits": "1"})
    reference = await _offered(app_client, karin)
    accepted = await app_client.post(f"/api/desk/contacts/{reference}/accept", headers=karin)
    assert (await accepted.json())["channel"] == "call"
    # Karin's phone is dialled into the call's conference (Prism takes the participant).
    dialled = await _sent(pool, f"leg:{reference}:")
    assert dialled["kind"] == "connect"
    assert dialled["payload"]["provider_id"].startswith("CA")
    assert dialled["payload"]["to"] == KARIN_PHONE
    waiting = await pool.fetchrow("SELECT * FROM contacts WHERE channel = 'callback'")
    assert waiting is not None
    assert waiting["state"] == "queued"  # not merged before the caller is put through

    # She does not answer: the caller, still in the queue, is offered again.
    leg = f"ref={reference}&leg={dialled['payload']['leg']}"
    missed = {**call, "CallSid": "CA" + "1" * 32, "CallStatus": "no-answer"}
    await twilio(app_client, f"/twilio/leg?{leg}", missed)
    again = await pool.fetchrow("SELECT * FROM contacts WHERE reference = $1", reference)
    assert again is not None
    assert again["state"] == "queued"
    assert len(again["passed_by"]) == 1  # not offered to Karin, who did not answer
    moved = await pool.fetchval("SELECT count(*) FROM outbox WHERE kind = 'redirect'")
    assert moved == 0  # the caller never left the queue

    # Jens takes it, answers, and the caller joins him: the callback they also waited for is
    # merged when the conference is over.
    jens = await token_for(pool, "jens", Role.AGENT)
    profile = {"skills": {"family": 3}, "languages": ["da"], "phone": "+4531000002"}
    supervisor = {
        "Authorization": (await token_for(pool, "sara", Role.SUPERVISOR))["Authorization"]
    }
    assert (await app_client.put("/api/agents/jens", json=profile, headers=supervisor)).ok
    await app_client.post("/api/desk/state", json={"state": "available"}, headers=jens)
    assert await _offered(app_client, jens) == reference
    await app_client.post(f"/api/desk/contacts/{reference}/accept", headers=jens)
    redialled = await _sent(pool, f"leg:{reference}:")
    leg = f"ref={reference}&leg={redialled['payload']['leg']}"
    answered = {**call, "CallSid": "CA" + "2" * 32, "CallStatus": "in-progress"}
    await twilio(app_client, f"/twilio/leg?{leg}", answered)
    join = await _sent(pool, f"join:{reference}:")
    assert join["payload"]["provider_id"].startswith("CA")  # Prism took the redirect
    twiml = await twilio(app_client, f"/twilio/connect?{leg}", call)
    conference = twiml.find("Dial/Conference")
    assert conference is not None
    assert conference.text == redialled["payload"]["room"]
    over = await twilio(
        app_client, f"/twilio/connect-result?{leg}", {**call, "DialCallStatus": "completed"}
    )
    assert over.find("Hangup") is not None
    merged = await pool.fetchrow("SELECT * FROM contacts WHERE channel = 'callback'")
    assert merged is not None
    assert (merged["state"], merged["outcome"]) == ("cancelled", "merged")


async def test_client_first_rings_the_client_and_a_missed_call_is_tried_again(
    db_url: str, prism_url: str, clock: Clock
) -> None:
    config = _config(db_url, prism_url, CONTACTD_PHONE__DIAL_ORDER="client_first")
    async with TestClient(TestServer(create_app(config, clock=clock))) as client:
        pool = _pool(client)
        karin = await _karin(client)
        await client.app[INTAKE].submit(
            NewContact(channel=Channel.CALLBACK, case_type="family", client_address=CLIENT),
            actor="test",
        )
        reference = await _offered(client, karin)
        await client.post(f"/api/desk/contacts/{reference}/accept", headers=karin)
        dial = await _sent(pool, f"dial:{reference}:")
        assert dial["payload"]["to"] == CLIENT
        query = f"ref={reference}&acceptance={dial['payload']['acceptance']}&order=client_first"
        twiml = await twilio(client, f"/twilio/dial?{query}", {"CallSid": "CA1"})
        say, number = twiml.find("Say"), twiml.find("Dial/Number")
        assert say is not None
        assert (say.text or "").startswith("Hej, det er Udlændingestyrelsen")
        assert number is not None
        assert number.text == KARIN_PHONE
        await twilio(
            client, f"/twilio/dial-status?{query}", {"CallSid": "CA1", "CallStatus": "no-answer"}
        )
        retry = await pool.fetchrow("SELECT state, not_before FROM contacts")
        assert retry is not None
        assert retry["state"] == "queued"
        assert retry["not_before"] is not None


async def test_a_dial_twilio_did_not_take_is_not_retried_and_the_callback_goes_back(
    db_url: str, pool: asyncpg.Pool
) -> None:
    """A timeout or a 5xx may come after Twilio placed the call: never again, but the
    callback is not lost either: it goes back to the queue, the try not counted."""
    clock = FixedClock(WORKDAY)
    contact = await pool.fetchval(
        """INSERT INTO contacts (reference, channel, case_type, case_type_source, language,
               queue, due_at, client_address, state, attempts, created_at, state_changed_at,
               queued_at)
           VALUES ('AAAA-CCCC', 'callback', 'family', 'form', 'da', 'family', $2, $1,
                   'active', 1, $2, $2, $2) RETURNING id""",
        CLIENT,
        clock(),
    )
    await pool.execute(
        """INSERT INTO outbox (contact_id, kind, payload, idempotency_key, created_at,
                               next_attempt_at)
           VALUES ($1, 'dial', '{"to": "+4531000001"}', 'dial:AAAA-CCCC:1', $2, $2)""",
        contact,
        clock(),
    )
    tries: list[str] = []

    async def dial(payload: Mapping[str, Any], key: str) -> str:
        tries.append(key)
        raise SendError(Failure.TRANSIENT, "Twilio not reached: TimeoutError")

    for _ in range(2):
        await outbox.send_due(
            pool, {"dial": dial}, clock=clock, batch=10, lease_seconds=60, max_attempts=5,
            backoff_seconds=0.01, max_backoff_seconds=0.01, concurrency=1,
            recorder=NOT_RECORDED,
        )  # fmt: skip
        clock.advance(seconds=1)  # long past any backoff
    assert tries == ["dial:AAAA-CCCC:1"]  # once only
    row = await pool.fetchrow("SELECT state, attempts FROM contacts")
    assert row is not None
    assert (row["state"], row["attempts"]) == ("queued", 0)
    assert await pool.fetchval("SELECT failed_at IS NOT NULL FROM outbox")


async def test_a_dial_whose_acceptance_is_over_is_not_placed(pool: asyncpg.Pool) -> None:
    """The caseworker passed the callback on before the outbox came to its call: nobody
    waits for that call, so it is not placed, and the callback stays where it is now."""
    clock = FixedClock(WORKDAY)
    contact = await pool.fetchval(
        """INSERT INTO contacts (reference, channel, case_type, case_type_source, language,
               queue, due_at, client_address, state, attempts, created_at, state_changed_at,
               queued_at)
           VALUES ('AAAA-DDDD', 'callback', 'family', 'form', 'da', 'family', $2, $1,
                   'active', 1, $2, $2, $2) RETURNING id""",
        CLIENT,
        clock(),
    )
    item = dial_item(await store.get_by_id(pool, contact), KARIN_PHONE, "agent_first")
    await store.insert_outbox(pool, contact, item, now=clock())
    clock.advance(seconds=5)  # transferred: back in the queue
    await pool.execute("UPDATE contacts SET state = 'queued', state_changed_at = $1", clock())
    placed: list[str] = []

    async def dial(payload: Mapping[str, Any], key: str) -> str:
        placed.append(key)
        return "CA" + "1" * 32

    await outbox.send_due(
        pool, {"dial": dial}, clock=clock, batch=10, lease_seconds=60, max_attempts=5,
        backoff_seconds=1, max_backoff_seconds=60, concurrency=1, recorder=NOT_RECORDED,
    )  # fmt: skip
    row = await pool.fetchrow("SELECT failed_at, last_error FROM outbox")
    assert placed == []
    assert row is not None
    assert (row["failed_at"], row["last_error"]) == (clock(), "acceptance over")
    assert await pool.fetchval("SELECT state FROM contacts") == "queued"


async def test_a_webhooks_requeue_leaves_a_later_acceptance_alone(app_client: Client) -> None:
    """A webhook checked the acceptance, and before its requeue lands the callback was
    requeued and accepted again (a new acceptance): the requeue must not touch the new one."""
    pool = _pool(app_client)
    calls = app_client.app[CALLS]
    clock = FixedClock(WORKDAY)
    contact = await pool.fetchval(
        """INSERT INTO contacts (reference, channel, case_type, case_type_source, language,
               queue, due_at, client_address, state, attempts, created_at, state_changed_at,
               queued_at)
           VALUES ('AAAA-EEEE', 'callback', 'family', 'form', 'da', 'family', $2, $1,
                   'active', 1, $2, $2, $2) RETURNING id""",
        CLIENT,
        clock(),
    )
    checked = await store.get_by_id(pool, contact)  # the webhook's view: this acceptance
    clock.advance(seconds=30)  # meanwhile: requeued and accepted again
    await pool.execute("UPDATE contacts SET state_changed_at = $1", clock())

    await calls.requeue_callback(checked, why="agent no-answer", not_before=None)
    await calls.requeue_call(checked, why="agent no-answer")

    row = await pool.fetchrow("SELECT state, attempts, state_changed_at FROM contacts")
    assert row is not None
    assert (row["state"], row["attempts"], row["state_changed_at"]) == ("active", 1, clock())
