"""The outbox sends SMS through Twilio's REST API: to Stoplight Prism serving Twilio's
official spec (which refuses any request the spec does not allow), and, for the answers
Prism cannot give (Twilio's 5xx, 4xx and timeouts), to a small test server in its place."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from channels.phone.rest import TwilioRest
from channels.ports import Failure, OutboxItem, SendError
from contactd import settings
from contactd.app import create_app
from contactd.clock import Clock
from contactd.http.appkeys import INTAKE, POOL
from routing.contact import Channel, Contact, NewContact
from tests.conftest import ROOT

ACCOUNT = "AC" + "0123456789abcdef" * 2
NUMBER = "+4570201010"
CLIENT = "+4520123456"


def _config(db_url: str, api_url: str, **env: str) -> settings.Settings:
    return settings.load(
        ROOT / "config" / "contactd.toml",
        environ={
            "CONTACTD_DATABASE_URL": db_url,
            "CONTACTD_CLASSIFIER__ENABLED": "false",
            "CONTACTD_TWILIO_AUTH_TOKEN": "test-token",
            "CONTACTD_PHONE__ACCOUNT_SID": ACCOUNT,
            "CONTACTD_PHONE__NUMBER": NUMBER,
            "CONTACTD_PHONE__API_URL": api_url,
            "CONTACTD_OUTBOX__BACKOFF_SECONDS": "0.05",
            "CONTACTD_OUTBOX__POLL_SECONDS": "0.1",
            **env,
        },
    )


def _sms(contact: Contact) -> list[OutboxItem]:
    return [
        OutboxItem(
            kind="sms",
            key=f"test:{contact.reference}",
            payload={"to": CLIENT, "body": f"Reference {contact.reference}"},
        )
    ]


async def _new_contact_with_sms(
    client: TestClient[web.Request, web.Application], external_id: str
) -> None:
    await client.app[INTAKE].submit(
        NewContact(channel=Channel.CALLBACK, case_type="visa", external_id=external_id),
        actor="test",
        outbox=_sms,
    )


async def _outbox_when(
    pool: asyncpg.Pool, done: Callable[[asyncpg.Record], bool]
) -> asyncpg.Record:
    for _ in range(200):
        row = await pool.fetchrow("SELECT * FROM outbox ORDER BY id LIMIT 1")
        if row is not None and done(row):
            return row
        await asyncio.sleep(0.05)
    raise AssertionError(f"the outbox never got there: {row}")


async def test_an_sms_reaches_twilios_api_as_its_spec_requires(
    db_url: str, prism_url: str, clock: Clock
) -> None:
    async with TestClient(
        TestServer(create_app(_config(db_url, prism_url), clock=clock))
    ) as client:
        await _new_contact_with_sms(client, "booking-1")
        await _new_contact_with_sms(client, "booking-1")  # the same booking again: one SMS
        pool: asyncpg.Pool = client.app[POOL]
        row = await _outbox_when(pool, lambda r: r["sent_at"] is not None)
        assert (row["kind"], row["attempts"], row["last_error"]) == ("sms", 1, None)
        payload = json.loads(row["payload"]) if isinstance(row["payload"], str) else row["payload"]
        assert payload["provider_id"].startswith("SM")
        assert await pool.fetchval("SELECT count(*) FROM outbox") == 1


async def test_a_request_twilios_spec_refuses_is_a_permanent_failure(prism_url: str) -> None:
    rest = TwilioRest(account_sid=ACCOUNT, auth_token="t", api_url=prism_url, timeout=5)
    try:
        sid = await rest.send_sms(to=CLIENT, from_=NUMBER, body="Hej", status_callback=None)
        assert sid.startswith("SM")
        with pytest.raises(SendError) as refused:  # the spec requires To
            await rest.send_sms(to=None, from_=NUMBER, body="Hej", status_callback=None)  # type: ignore[arg-type]
    finally:
        await rest.close()
    assert refused.value.failure is Failure.PERMANENT
    assert "422" in str(refused.value)


class FakeTwilio:
    """Answers Messages.json with the statuses it is given, in order, then 201."""

    def __init__(self, answers: list[int | str]) -> None:
        self.answers = answers
        self.requests = 0

    async def messages(self, request: web.Request) -> web.Response:
        self.requests += 1
        answer = self.answers.pop(0) if self.answers else 201
        if answer == "hang":
            await asyncio.sleep(5)
        if answer == 201 or answer == "hang":
            return web.json_response({"sid": "SM" + "b" * 32, "status": "queued"}, status=201)
        body = {"code": 21211, "message": "Invalid 'To' Phone Number", "status": answer}
        return web.json_response(body, status=int(answer))


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeTwilio, str]]:
    twilio = FakeTwilio([])
    app = web.Application()
    app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", twilio.messages)
    async with TestServer(app) as server:
        yield twilio, str(server.make_url("")).rstrip("/")


@pytest.mark.parametrize(
    ("answers", "attempts"),
    [
        ([500, 503], 3),  # Twilio's bad moment: retried with backoff
        (["hang"], 2),  # no answer within the timeout: retried
    ],
)
async def test_transient_failures_are_retried_until_the_sms_is_sent(
    db_url: str,
    fake: tuple[FakeTwilio, str],
    answers: list[int | str],
    attempts: int,
    clock: Clock,
) -> None:
    twilio, url = fake
    twilio.answers = list(answers)
    config = _config(db_url, url, CONTACTD_PHONE__API_TIMEOUT_SECONDS="0.5")
    async with TestClient(TestServer(create_app(config, clock=clock))) as client:
        await _new_contact_with_sms(client, "booking-2")
        pool: asyncpg.Pool = client.app[POOL]
        row = await _outbox_when(pool, lambda r: r["sent_at"] is not None)
    assert row["attempts"] == attempts
    assert twilio.requests == attempts


async def test_a_number_twilio_refuses_fails_at_once_and_a_wrong_token_waits(
    db_url: str, fake: tuple[FakeTwilio, str], clock: Clock
) -> None:
    twilio, url = fake
    twilio.answers = [400, 401]
    async with TestClient(TestServer(create_app(_config(db_url, url), clock=clock))) as client:
        pool: asyncpg.Pool = client.app[POOL]
        await _new_contact_with_sms(client, "booking-3")
        refused = await _outbox_when(pool, lambda r: r["failed_at"] is not None)
        assert (refused["attempts"], refused["sent_at"]) == (1, None)
        assert "code 21211" in refused["last_error"]

        await _new_contact_with_sms(client, "booking-4")
        for _ in range(100):
            waiting = await pool.fetchrow("SELECT * FROM outbox ORDER BY id DESC LIMIT 1")
            assert waiting is not None
            if waiting["last_error"]:
                break
            await asyncio.sleep(0.05)
        assert waiting is not None
        assert waiting["failed_at"] is None  # kept until the token is fixed
        assert waiting["attempts"] == 0  # and the wait is not counted as a try
        assert "credentials" in waiting["last_error"]
        delay = await pool.fetchval(
            "SELECT extract(epoch FROM next_attempt_at - $2) FROM outbox WHERE id = $1",
            waiting["id"],
            clock(),
        )
        assert delay > 600  # the slow retry of max_backoff_seconds (900 s, less jitter)
