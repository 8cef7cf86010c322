"""The hotline's IVR as Twilio drives it: form posts signed with twilio's RequestValidator
and a test auth token, answered with TwiML, against the real daemon app and PostgreSQL.
(Twilio itself cannot run here; these requests are what its documentation says it sends.)"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from datetime import datetime

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from twilio.request_validator import RequestValidator

from contactd import settings
from contactd.app import create_app
from contactd.clock import FixedClock
from contactd.http.appkeys import POOL
from contactd.settings import Settings
from tests.conftest import CPH, ROOT, WORKDAY

TOKEN = "test-auth-token-0123456789abcdef"
PUBLIC = "https://contact.example.dk"
CHRISTMAS_DAY = datetime(2026, 12, 25, 10, 0, tzinfo=CPH)  # a Friday and a holiday
CALLER = "+4520123456"

Client = TestClient[web.Request, web.Application]


def _settings(db_url: str, **env: str) -> Settings:
    return settings.load(
        ROOT / "config" / "contactd.toml",
        environ={
            "CONTACTD_DATABASE_URL": db_url,
            "CONTACTD_CLASSIFIER__ENABLED": "false",
            "CONTACTD_TWILIO_AUTH_TOKEN": TOKEN,
            "CONTACTD_PUBLIC_URL": PUBLIC,
            **env,
        },
    )


@pytest.fixture
def line_clock() -> FixedClock:
    """The daemon's clock, standing at WORKDAY, when the line is open."""
    return FixedClock(WORKDAY)


@pytest.fixture
async def phone(db_url: str, line_clock: FixedClock) -> AsyncIterator[Client]:
    app = create_app(_settings(db_url), clock=line_clock)
    async with TestClient(TestServer(app)) as c:
        yield c


async def post(
    client: Client, path: str, form: dict[str, str], *, token: str = TOKEN
) -> tuple[int, ET.Element | str]:
    """POST as Twilio does: the form, signed over the public URL."""
    signature = RequestValidator(token).compute_signature(PUBLIC + path, form)
    response = await client.post(path, data=form, headers={"X-Twilio-Signature": signature})
    text = await response.text()
    if response.content_type == "text/xml":
        return response.status, ET.fromstring(text)  # noqa: S314 - our own daemon's TwiML
    return response.status, text


def _call(sid: str = "CA" + "1" * 32, **extra: str) -> dict[str, str]:
    return {
        "CallSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": CALLER,
        "To": "+4570201010",
        "CallStatus": "ringing",
        "Direction": "inbound",
        **extra,
    }


def _said(twiml: ET.Element | str) -> list[str]:
    assert isinstance(twiml, ET.Element), twiml
    return [say.text or "" for say in twiml.iter("Say")]


async def _contacts(client: Client) -> list[asyncpg.Record]:
    pool: asyncpg.Pool = client.app[POOL]
    return list(await pool.fetch("SELECT * FROM contacts ORDER BY id"))


async def _queued_call(client: Client, sid: str, digit: str = "1", **fields: str) -> ET.Element:
    await post(client, "/twilio/voice", _call(sid, **fields))
    status, twiml = await post(
        client, "/twilio/menu?lang=da&then=queue&tries=0", _call(sid, Digits=digit, **fields)
    )
    assert status == 200
    assert isinstance(twiml, ET.Element)
    return twiml


async def test_unsigned_forged_and_tampered_requests_are_refused(phone: Client) -> None:
    form = _call()
    unsigned = await phone.post("/twilio/voice", data=form)
    assert unsigned.status == 403
    assert (await unsigned.json())["error"]["code"] == "bad_signature"
    assert (await post(phone, "/twilio/voice", form, token="another-token"))[0] == 403
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC + "/twilio/voice", form)
    tampered = await phone.post(
        "/twilio/voice",
        data={**form, "From": "+4599999999"},
        headers={"X-Twilio-Signature": signature},
    )
    assert tampered.status == 403
    other_url = RequestValidator(TOKEN).compute_signature(PUBLIC + "/twilio/status", form)
    replayed_elsewhere = await phone.post(
        "/twilio/voice", data=form, headers={"X-Twilio-Signature": other_url}
    )
    assert replayed_elsewhere.status == 403
    assert await _contacts(phone) == []


async def test_without_an_auth_token_the_webhooks_say_so(db_url: str) -> None:
    config = _settings(db_url, CONTACTD_TWILIO_AUTH_TOKEN="")
    async with TestClient(TestServer(create_app(config, clock=FixedClock(WORKDAY)))) as client:
        status, body = await post(client, "/twilio/voice", _call())
    assert status == 503
    assert "CONTACTD_TWILIO_AUTH_TOKEN is not set" in str(body)


async def test_a_caller_picks_a_case_type_and_waits_in_its_queue(phone: Client) -> None:
    status, menu = await post(phone, "/twilio/voice", _call())
    assert status == 200
    said = _said(menu)
    assert said[0] == "Velkommen til Udlændingestyrelsen."
    assert "Tryk 1 for Familiesammenføring." in said
    assert "Tryk 8 for Klage." in said  # every case type keeps its key
    # Then the other languages, each in itself, all on 9
    # (tests/integration/test_phone_languages.py).
    assert said[-4:] == [
        "For English, press 9.",
        "للعربية، اضغط 9.",
        "Для обслуговування українською мовою натисніть 9.",
        "Türkçe için 9 tuşuna basın.",
    ]
    assert isinstance(menu, ET.Element)
    gather = menu.find("Gather")
    assert gather is not None
    assert gather.get("action") == "/twilio/menu?lang=da&then=queue&tries=0"

    queued = await _queued_call(phone, "CA" + "1" * 32)
    # The promise of the case type, before the wait.
    assert _said(queued) == [
        "Sagsbehandlingstiden for Familiesammenføring er højst 10 måneder. "
        "Du finder tjeklisten til din ansøgning på nyidanmark.dk.",
        "Tak. Du er nu i kø til Familiesammenføring.",
    ]
    enqueue = queued.find("Enqueue")
    assert enqueue is not None
    assert (enqueue.text, enqueue.get("waitUrl"), enqueue.get("action")) == (
        "family",
        "/twilio/wait?lang=da",
        "/twilio/left?lang=da",
    )
    [contact] = await _contacts(phone)
    assert (
        contact["channel"],
        contact["case_type"],
        contact["case_type_source"],
        contact["queue"],
        contact["client_address"],
        contact["state"],
        contact["language"],
        contact["client_language"],
    ) == ("call", "family", "ivr", "family", CALLER, "queued", "da", None)

    # Twilio retries a webhook it got no answer to: the same contact, not a second one.
    again = await _queued_call(phone, "CA" + "1" * 32)
    assert again.find("Enqueue") is not None
    assert len(await _contacts(phone)) == 1


async def test_english_and_wrong_keys(phone: Client) -> None:
    _, languages = await post(phone, "/twilio/menu?lang=da&then=queue&tries=0", _call(Digits="9"))
    assert _said(languages)[0] == "For English, press 1."  # the language menu
    _, english = await post(
        phone, "/twilio/menu?lang=da&then=queue&tries=0&pick=language", _call(Digits="1")
    )
    assert "Press 4 for Visa." in " ".join(_said(english))
    assert "For English, press 9." not in _said(english)  # the others are offered, not itself
    _, wrong = await post(phone, "/twilio/menu?lang=en&then=queue&tries=0", _call(Digits="*"))
    assert _said(wrong)[0] == "We did not receive a valid choice."
    assert isinstance(wrong, ET.Element)
    gather = wrong.find("Gather")
    assert gather is not None
    assert gather.get("action") == "/twilio/menu?lang=en&then=queue&tries=1"
    # No key at all, the second time: general questions rather than a lost caller.
    _, general = await post(phone, "/twilio/menu?lang=en&then=queue&tries=1", _call())
    assert isinstance(general, ET.Element)
    assert general.find("Enqueue") is not None
    [contact] = await _contacts(phone)
    assert (contact["case_type"], contact["language"]) == ("general", "en")


async def test_a_waiting_caller_hears_the_place_and_may_keep_it_as_a_callback(
    phone: Client,
) -> None:
    for n in range(3):  # three callers ahead, and no agent signed in
        await _queued_call(phone, f"CA{n:032d}")
    me = "CA" + "9" * 32
    await _queued_call(phone, me)
    _, waiting = await post(phone, "/twilio/wait?lang=da", _call(me, QueuePosition="4"))
    said = _said(waiting)
    assert said[0] == "Du er nummer 4 i køen. Den forventede ventetid er cirka 12 minutter."
    assert said[1] == (
        "Tryk 1 og læg på, så ringer vi dig op på +45 20 12 34 56, og du beholder din plads i køen."
    )

    _, kept = await post(phone, "/twilio/keep-place?lang=da", _call(me, Digits="1"))
    assert isinstance(kept, ET.Element)
    assert kept.find("Leave") is not None
    contacts = await _contacts(phone)
    callback = contacts[-1]
    reference = callback["reference"]
    spelled = ", ".join(" ".join(p) for p in reference.split("-"))
    assert _said(kept) == [
        f"Tak. Vi ringer dig op på +45 20 12 34 56. Dit referencenummer er {spelled}. Farvel."
    ]
    assert (callback["channel"], callback["state"], callback["client_address"]) == (
        "callback",
        "queued",
        CALLER,
    )
    assert callback["queued_at"] == contacts[-1]["created_at"]  # the place is kept
    _, left = await post(phone, "/twilio/left?lang=da", _call(me, QueueResult="leave"))
    assert isinstance(left, ET.Element)
    assert left.find("Hangup") is not None
    assert (await _contacts(phone))[-1]["state"] == "queued"  # not abandoned: a callback
    # The menu choice replayed after that: no second contact for the same call.
    _, replay = await post(phone, "/twilio/menu?lang=da&then=queue&tries=0", _call(me, Digits="1"))
    assert isinstance(replay, ET.Element)
    assert [child.tag for child in replay] == ["Hangup"]
    assert len(await _contacts(phone)) == 4


async def test_a_caller_who_hangs_up_while_waiting_is_abandoned(phone: Client) -> None:
    await _queued_call(phone, "CA" + "1" * 32)
    await _queued_call(phone, "CA" + "2" * 32)
    await post(phone, "/twilio/left?lang=da", _call("CA" + "1" * 32, QueueResult="hangup"))
    await post(phone, "/twilio/status", _call("CA" + "2" * 32, CallStatus="completed"))
    status, _ = await post(phone, "/twilio/status", _call("CA" + "7" * 32))
    assert status == 200  # an unknown call: acknowledged, nothing changes
    assert [c["state"] for c in await _contacts(phone)] == ["abandoned", "abandoned"]

    # A replayed incoming-call webhook of an ended call only hangs up.
    _, replay = await post(phone, "/twilio/voice", _call("CA" + "1" * 32))
    assert isinstance(replay, ET.Element)
    assert [child.tag for child in replay] == ["Hangup"]


async def test_on_a_holiday_the_line_is_closed_and_offers_a_call_when_it_opens(
    phone: Client, line_clock: FixedClock
) -> None:
    line_clock.at = CHRISTMAS_DAY
    _, closed = await post(phone, "/twilio/voice", _call())
    said = _said(closed)
    assert "Telefonen er lukket nu. Vi åbner igen mandag klokken 9.00." in said
    assert "Tryk 1, hvis vi skal ringe dig op, når vi har åbnet." in said
    _, languages = await post(phone, "/twilio/closed?lang=da", _call(Digits="9"))
    assert _said(languages)[0] == "For English, press 1."  # the language menu
    _, english = await post(phone, "/twilio/closed?lang=da&pick=language", _call(Digits="1"))
    assert "The line is closed now. We open again on Monday at 09:00." in _said(english)
    _, menu = await post(phone, "/twilio/closed?lang=da", _call(Digits="1"))
    assert isinstance(menu, ET.Element)
    gather = menu.find("Gather")
    assert gather is not None
    assert gather.get("action") == "/twilio/menu?lang=da&then=callback&tries=0"
    _, booked = await post(phone, "/twilio/menu?lang=da&then=callback&tries=0", _call(Digits="4"))
    [callback] = await _contacts(phone)
    assert (callback["channel"], callback["case_type"], callback["client_address"]) == (
        "callback",
        "visa",
        CALLER,
    )
    assert _said(booked)[0] == (
        "Sagsbehandlingstiden for Visum er højst 15 dage. "
        "Du finder tjeklisten til din ansøgning på nyidanmark.dk."
    )
    assert _said(booked)[1].startswith("Tak. Vi ringer dig op på +45 20 12 34 56, når vi har")
    monday_9 = datetime(2026, 12, 28, 9, 0, tzinfo=CPH)
    assert callback["not_before"] == monday_9  # not dialled before the line opens

    hidden = _call("CA" + "5" * 32, From="anonymous", Digits="4")
    _, refused = await post(phone, "/twilio/menu?lang=da&then=callback&tries=0", hidden)
    assert _said(refused)[-1].startswith("Vi kan ikke ringe dig op, fordi dit nummer er skjult.")
    premium = _call("CA" + "6" * 32, From="+4590123456", Digits="4")
    _, refused = await post(phone, "/twilio/menu?lang=da&then=callback&tries=0", premium)
    assert _said(refused)[-1].startswith(
        "Vi kan ikke ringe dig op, fordi vi ikke ringer til overtakserede numre."
    )
    abroad = _call("CA" + "7" * 32, From="+447911123456", Digits="4")
    _, refused = await post(phone, "/twilio/menu?lang=da&then=callback&tries=0", abroad)
    assert _said(refused)[-1].startswith(
        "Vi kan ikke ringe dig op, fordi vi kun ringer op til danske numre."
    )
    assert len(await _contacts(phone)) == 1


async def test_a_caller_from_abroad_waits_but_is_not_offered_a_callback(phone: Client) -> None:
    for n in range(3):  # three callers ahead, and no agent signed in
        await _queued_call(phone, f"CA{n:032d}")
    me = "CA" + "8" * 32
    await _queued_call(phone, me, "1", From="+447911123456")
    _, waiting = await post(
        phone, "/twilio/wait?lang=da", _call(me, From="+447911123456", QueuePosition="4")
    )
    assert _said(waiting) == [
        "Du er nummer 4 i køen. Den forventede ventetid er cirka 12 minutter."
    ]
    # Pressing 1 anyway (a key pressed at random) keeps the caller waiting, not called back.
    _, kept = await post(
        phone, "/twilio/keep-place?lang=da", _call(me, From="+447911123456", Digits="1")
    )
    assert isinstance(kept, ET.Element)
    assert kept.find("Redirect") is not None
    assert [c["channel"] for c in await _contacts(phone)] == ["call"] * 4


@pytest.mark.parametrize(
    "form",
    [
        {"AccountSid": "AC" + "0" * 32},  # no CallSid
        {"CallSid": ""},
    ],
)
async def test_a_signed_request_without_the_call_gets_safe_twiml(
    phone: Client, form: dict[str, str]
) -> None:
    status, twiml = await post(phone, "/twilio/voice", form)
    assert status == 200
    assert _said(twiml) == ["Vi beklager, der opstod en fejl. Prøv igen senere. Farvel."]
    assert await _contacts(phone) == []


async def test_when_twilio_cannot_keep_a_caller_waiting_the_call_becomes_a_callback(
    phone: Client,
) -> None:
    await _queued_call(phone, "CA" + "1" * 32)
    _, twiml = await post(
        phone, "/twilio/left?lang=en", _call("CA" + "1" * 32, QueueResult="queue-full")
    )
    assert _said(twiml)[0].startswith("Thank you. We will call you on +45 20 12 34 56.")
    [contact] = await _contacts(phone)
    assert (contact["channel"], contact["state"]) == ("callback", "queued")
