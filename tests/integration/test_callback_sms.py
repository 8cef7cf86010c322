"""Every callback gets one confirmation SMS, however it was booked (issue 19): keeping one's
place in the queue, Twilio failing to keep the caller waiting, and the closed line, as a web
booking does; in the caller's language, counted under the same hourly cap; and a number with
a callback waiting already gets that one back, with no second SMS and no second contact.

The webhooks are signed as Twilio signs them (tests/integration/test_phone_voice.py); what a
caller would see is the outbox row the leader sends as an SMS."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import datetime

import asyncpg
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from contactd.app import create_app
from contactd.clock import FixedClock
from contactd.http.appkeys import POOL
from tests.conftest import CPH, WORKDAY
from tests.integration.test_phone_voice import CALLER, _call, _said, _settings, post

Client = TestClient[web.Request, web.Application]
EVENING = datetime(2026, 12, 1, 20, 0, tzinfo=CPH)  # Tuesday, the line closed until 09:00
ABROAD = "+447911123456"


@contextlib.asynccontextmanager
async def _phone(db_url: str, at: datetime, **env: str) -> AsyncIterator[Client]:
    app = create_app(_settings(db_url, **env), clock=FixedClock(at))
    async with TestClient(TestServer(app)) as client:
        yield client


async def _sms(client: Client) -> list[asyncpg.Record]:
    pool: asyncpg.Pool = client.app[POOL]
    return list(
        await pool.fetch(
            "SELECT idempotency_key, payload FROM outbox WHERE kind = 'sms' ORDER BY id"
        )
    )


async def _queued(client: Client, sid: str, lang: str = "da", caller: str = CALLER) -> None:
    await post(client, "/twilio/voice", _call(sid, From=caller))
    await post(
        client, f"/twilio/menu?lang={lang}&then=queue&tries=0", _call(sid, From=caller, Digits="1")
    )


async def _booked_when_closed(client: Client, sid: str, lang: str = "da") -> list[str]:
    """A caller on the closed line presses 1, then chooses family: what they hear."""
    await post(client, "/twilio/voice", _call(sid))
    await post(client, f"/twilio/closed?lang={lang}", _call(sid, Digits="1"))
    _, booked = await post(
        client, f"/twilio/menu?lang={lang}&then=callback&tries=0", _call(sid, Digits="1")
    )
    return _said(booked)


async def _reference(client: Client, sid: str) -> str:
    pool: asyncpg.Pool = client.app[POOL]
    return str(await pool.fetchval("SELECT reference FROM contacts WHERE external_id = $1", sid))


async def test_keeping_ones_place_sends_one_sms_in_danish(db_url: str) -> None:
    sid = "CA" + "1" * 32
    async with _phone(db_url, WORKDAY) as client:
        await _queued(client, sid)
        _, kept = await post(client, "/twilio/keep-place?lang=da", _call(sid, Digits="1"))
        # Pressed again (or the webhook replayed): the same sentence, nothing sent again.
        _, again = await post(client, "/twilio/keep-place?lang=da", _call(sid, Digits="1"))
        reference = await _reference(client, sid)
        sms = await _sms(client)
    assert _said(kept) == _said(again)
    assert [s["idempotency_key"] for s in sms] == [f"sms:booked:{reference}"]
    assert sms[0]["payload"]["to"] == CALLER
    assert sms[0]["payload"]["body"] == (
        "Udlændingestyrelsen ringer dig op i dag, så snart det er din tur. "
        f"Reference: {reference}. Sagsbehandlingstid for Familiesammenføring: 10 måneder. "
        "Tjekliste: https://www.nyidanmark.dk/da/Du-vil-ansoege/Familie"
    )


async def test_keeping_ones_place_sends_one_sms_in_english(db_url: str) -> None:
    sid = "CA" + "2" * 32
    async with _phone(db_url, WORKDAY) as client:
        await _queued(client, sid, lang="en")
        await post(client, "/twilio/keep-place?lang=en", _call(sid, Digits="1"))
        reference = await _reference(client, sid)
        sms = await _sms(client)
    assert [s["payload"]["body"] for s in sms] == [
        "The Danish Immigration Service will call you back today as soon as it is your turn. "
        f"Reference: {reference}. Processing time for Family reunification: 10 months. "
        "Checklist: https://www.nyidanmark.dk/en-GB/You-want-to-apply/Family"
    ]


async def test_a_caller_twilio_could_not_keep_waiting_gets_the_sms_too(db_url: str) -> None:
    sid = "CA" + "3" * 32
    async with _phone(db_url, WORKDAY) as client:
        await _queued(client, sid, lang="en")
        await post(client, "/twilio/left?lang=en", _call(sid, QueueResult="queue-full"))
        sms = await _sms(client)
    assert len(sms) == 1
    assert sms[0]["payload"]["body"].startswith("The Danish Immigration Service will call you")


async def test_a_caller_abroad_keeps_no_place_and_gets_no_sms(db_url: str) -> None:
    sid = "CA" + "4" * 32
    async with _phone(db_url, WORKDAY) as client:
        await _queued(client, sid, caller=ABROAD)
        _, back = await post(
            client, "/twilio/keep-place?lang=da", _call(sid, From=ABROAD, Digits="1")
        )
        assert not isinstance(back, str)
        assert back.find("Redirect") is not None  # back to waiting
        sms = await _sms(client)
    assert sms == []


async def test_a_closed_line_booking_sends_one_sms_with_its_window_in_danish(
    db_url: str,
) -> None:
    sid = "CA" + "5" * 32
    async with _phone(db_url, EVENING) as client:
        said = await _booked_when_closed(client, sid)
        reference = await _reference(client, sid)
        sms = await _sms(client)
    assert said[0].startswith("Sagsbehandlingstiden for Familiesammenføring er højst 10 måneder.")
    assert said[1].startswith("Tak. Vi ringer dig op på +45 20 12 34 56, når vi har åbnet.")
    assert [s["idempotency_key"] for s in sms] == [f"sms:booked:{reference}"]
    # From the line's opening to the callback's due time (4 working hours).
    assert sms[0]["payload"]["body"] == (
        "Udlændingestyrelsen ringer dig op 02.12.2026 mellem kl. 09:00 og 13:00. "
        f"Reference: {reference}. Sagsbehandlingstid for Familiesammenføring: 10 måneder. "
        "Tjekliste: https://www.nyidanmark.dk/da/Du-vil-ansoege/Familie"
    )


async def test_a_closed_line_booking_sends_one_sms_in_english(db_url: str) -> None:
    sid = "CA" + "6" * 32
    async with _phone(db_url, EVENING) as client:
        await _booked_when_closed(client, sid, lang="en")
        reference = await _reference(client, sid)
        sms = await _sms(client)
    assert [s["payload"]["body"] for s in sms] == [
        "The Danish Immigration Service will call you on 02.12.2026 between 09:00 and 13:00. "
        f"Reference: {reference}. Processing time for Family reunification: 10 months. "
        "Checklist: https://www.nyidanmark.dk/en-GB/You-want-to-apply/Family"
    ]


async def test_a_second_closed_line_booking_of_a_number_gets_the_first_back(db_url: str) -> None:
    first, second = "CA" + "7" * 32, "CA" + "8" * 32
    async with _phone(db_url, EVENING) as client:
        await _booked_when_closed(client, first)
        said = await _booked_when_closed(client, second)
        reference = await _reference(client, first)
        pool: asyncpg.Pool = client.app[POOL]
        contacts = await pool.fetchval("SELECT count(*) FROM contacts")
        sms = await _sms(client)
    spelled = " ".join(reference[:4]) + ", " + " ".join(reference[5:])
    assert said[1:] == [
        f"Tak. Vi ringer dig op på +45 20 12 34 56. Dit referencenummer er {spelled}. Farvel."
    ]
    assert contacts == 1
    assert len(sms) == 1


async def test_keeping_ones_place_with_a_callback_waiting_gets_that_one_back(db_url: str) -> None:
    booked, calling = "CA" + "7" * 32, "CA" + "9" * 32
    async with _phone(db_url, EVENING) as client:
        await _booked_when_closed(client, booked)
    async with _phone(db_url, WORKDAY.replace(day=2)) as client:  # the next morning
        await _queued(client, calling)
        _, kept = await post(client, "/twilio/keep-place?lang=da", _call(calling, Digits="1"))
        reference = await _reference(client, booked)
        pool: asyncpg.Pool = client.app[POOL]
        call = await pool.fetchrow("SELECT * FROM contacts WHERE external_id = $1", calling)
        sms = await _sms(client)
    assert not isinstance(kept, str)
    assert kept.find("Leave") is not None
    assert " ".join(reference[:4]) in _said(kept)[0]
    assert call is not None
    assert (call["channel"], call["state"], call["outcome"]) == ("call", "cancelled", "merged")
    assert len(sms) == 1  # the booking's own


async def test_the_hourly_cap_holds_for_callbacks_booked_on_the_phone(db_url: str) -> None:
    async with _phone(db_url, WORKDAY, CONTACTD_PHONE__BOOKING_SMS_PER_HOUR="1") as client:
        for n, caller in enumerate(("+4520123456", "+4520123457")):
            sid = f"CA{n:032d}"
            await _queued(client, sid, caller=caller)
            await post(client, "/twilio/keep-place?lang=da", _call(sid, From=caller, Digits="1"))
        pool: asyncpg.Pool = client.app[POOL]
        callbacks = await pool.fetchval("SELECT count(*) FROM contacts WHERE channel = 'callback'")
        metrics = await (await client.get("/metrics")).text()
        sms = await _sms(client)
    assert callbacks == 2  # both kept their place
    assert len(sms) == 1  # the second was not confirmed: over the cap
    assert "contactd_booking_sms_capped_total 1.0" in metrics
