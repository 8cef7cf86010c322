"""The phone line in the languages the agency serves (issue 20): it speaks Danish and, after
its menu of every case type (keys 1-8 and 0), offers English, Arabic, Ukrainian and Turkish,
each said in that language with a voice of Twilio's for it, all on key 9. Key 9 opens a short
menu of the languages, each in itself on its own key; a caller who picks theirs hears the
menu, the processing goal of their case type and the queue in it, and is texted in it. The
contact is routed in English and keeps the caller's language beside it. An agency that offers
one other language (the citizen service of config/examples) switches to it on 9 at once.

The webhooks are signed as Twilio signs them (tests/integration/test_phone_voice.py), against
the daemon with the shipped configuration and a real PostgreSQL; what is asserted is what the
caller hears (each <Say>: its words, language and voice), the row stored and the SMS in the
outbox."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from contactd import settings
from contactd.app import create_app
from contactd.clock import FixedClock
from contactd.http.appkeys import POOL
from tests.conftest import ROOT, WORKDAY
from tests.integration.test_phone_voice import (
    CALLER,
    CHRISTMAS_DAY,
    PUBLIC,
    TOKEN,
    _call,
    _settings,
    post,
)

Client = TestClient[web.Request, web.Application]
ARABIC_CALL = "CA" + "a" * 32
EXAMPLE = ROOT / "config" / "examples" / "citizen-service" / "contactd.toml"
DANISH = ("da-DK", "Polly.Naja")
ARABIC = ("arb", "Polly.Zeina")
UKRAINIAN = ("uk-UA", "Google.uk-UA-Standard-A")
OFFERS = [  # after the Danish menu and closed message, all on 9: (words, language tag, voice)
    ("For English, press 9.", "en-GB", "Polly.Amy"),
    ("للعربية، اضغط 9.", *ARABIC),
    ("Для обслуговування українською мовою натисніть 9.", *UKRAINIAN),
    ("Türkçe için 9 tuşuna basın.", "tr-TR", "Polly.Filiz"),
]
LANGUAGE_MENU = [  # what key 9 opens: each language in itself, on its own key
    ("For English, press 1.", "en-GB", "Polly.Amy"),
    ("للعربية، اضغط 2.", *ARABIC),
    ("Для обслуговування українською мовою натисніть 3.", *UKRAINIAN),
    ("Türkçe için 4 tuşuna basın.", "tr-TR", "Polly.Filiz"),
]
MENU = "/twilio/menu?lang=da&then=queue&tries=0"


@pytest.fixture
def line_clock() -> FixedClock:
    return FixedClock(WORKDAY)


@pytest.fixture
async def phone(db_url: str, line_clock: FixedClock) -> AsyncIterator[Client]:
    """The daemon on the shipped configuration, its clock at `line_clock`."""
    async with TestClient(TestServer(create_app(_settings(db_url), clock=line_clock))) as c:
        yield c


@pytest.fixture
async def citizen_service(db_url: str, line_clock: FixedClock) -> AsyncIterator[Client]:
    """The daemon on the example agency's configuration: Danish, and English only."""
    config = settings.load(
        EXAMPLE,
        environ={
            "CONTACTD_DATABASE_URL": db_url,
            "CONTACTD_TWILIO_AUTH_TOKEN": TOKEN,
            "CONTACTD_PUBLIC_URL": PUBLIC,
        },
    )
    async with TestClient(TestServer(create_app(config, clock=line_clock))) as c:
        yield c


def _heard(twiml: ET.Element | str) -> list[tuple[str, str | None, str | None]]:
    """Every sentence the caller hears: its words, its language tag and its voice."""
    assert isinstance(twiml, ET.Element), twiml
    return [(s.text or "", s.get("language"), s.get("voice")) for s in twiml.iter("Say")]


def _action(twiml: ET.Element | str) -> str | None:
    assert isinstance(twiml, ET.Element), twiml
    gather = twiml.find("Gather")
    return gather.get("action") if gather is not None else None


async def _row(client: Client, sid: str) -> asyncpg.Record:
    pool: asyncpg.Pool = client.app[POOL]
    row = await pool.fetchrow("SELECT * FROM contacts WHERE external_id = $1", sid)
    assert row is not None
    return row


async def test_the_menu_names_every_case_type_then_each_language_in_itself_on_9(
    phone: Client,
) -> None:
    _, menu = await post(phone, "/twilio/voice", _call())
    heard = _heard(menu)
    assert heard[0] == ("Velkommen til Udlændingestyrelsen.", *DANISH)
    assert heard[1:10] == [
        (f"Tryk {key} for {name}.", *DANISH)
        for key, name in [
            ("1", "Familiesammenføring"), ("2", "Arbejde"), ("3", "Studie"), ("4", "Visum"),
            ("5", "Asyl"), ("6", "Forlængelse"), ("7", "Permanent ophold"), ("8", "Klage"),
            ("0", "Generelt"),
        ]
    ]  # fmt: skip
    assert heard[10:] == OFFERS
    assert isinstance(menu, ET.Element)
    gather = menu.find("Gather")
    assert gather is not None
    assert [s.text for s in gather.iter("Say")][-4:] == [words for words, _, _ in OFFERS]


async def test_key_9_opens_the_language_menu_each_in_its_own_voice_on_its_own_key(
    phone: Client,
) -> None:
    _, languages = await post(phone, MENU, _call(Digits="9"))
    assert _heard(languages) == LANGUAGE_MENU
    picked = f"{MENU}&pick=language"
    assert _action(languages) == picked
    assert isinstance(languages, ET.Element)
    redirect = languages.find("Redirect")  # no key: asked without Digits, a wrong key
    assert redirect is not None
    assert redirect.text == picked


async def test_an_arabic_caller_picks_arabic_and_hears_the_menu_goal_and_queue_in_arabic(
    phone: Client,
) -> None:
    await post(phone, MENU, _call(ARABIC_CALL, Digits="9"))
    _, arabic = await post(phone, f"{MENU}&pick=language", _call(ARABIC_CALL, Digits="2"))
    heard = _heard(arabic)
    assert heard[0] == ("مرحبًا بك في دائرة الهجرة الدنماركية.", *ARABIC)
    assert ("اضغط 1 لـ لمّ شمل الأسرة.", *ARABIC) in heard
    assert ("اضغط 8 لـ التظلم والشكوى.", *ARABIC) in heard
    # The other languages still offered on 9, each in itself; Arabic no more.
    assert heard[-3:] == [offer for offer in OFFERS if offer[1] != "arb"]
    assert _action(arabic) == "/twilio/menu?lang=ar&then=queue&tries=0"

    _, queued = await post(
        phone, "/twilio/menu?lang=ar&then=queue&tries=0", _call(ARABIC_CALL, Digits="1")
    )
    assert _heard(queued) == [
        (
            "الحد الأقصى لمدة معالجة طلبات لمّ شمل الأسرة هو 10 أشهر. "
            "يمكنك الاطلاع على قائمة المتطلبات الخاصة بطلبك على الموقع nyidanmark.dk.",
            *ARABIC,
        ),
        ("شكرًا لك. أنت الآن في قائمة الانتظار لـ لمّ شمل الأسرة.", *ARABIC),
    ]
    assert isinstance(queued, ET.Element)
    enqueue = queued.find("Enqueue")
    assert enqueue is not None
    assert (enqueue.get("waitUrl"), enqueue.get("action")) == (
        "/twilio/wait?lang=ar",
        "/twilio/left?lang=ar",
    )
    contact = await _row(phone, ARABIC_CALL)
    # Routed to the caseworkers in English; the caller's own language kept beside it.
    assert (contact["case_type"], contact["language"], contact["client_language"]) == (
        "family",
        "en",
        "ar",
    )


async def test_no_key_or_a_wrong_key_in_the_language_menu_is_a_wrong_key_of_the_menu(
    phone: Client,
) -> None:
    _, again = await post(phone, f"{MENU}&pick=language", _call())  # no key within 6 s
    heard = _heard(again)
    assert heard[0] == ("Vi modtog ikke et gyldigt valg.", *DANISH)
    assert heard[1] == ("Tryk 1 for Familiesammenføring.", *DANISH)  # no welcome again
    assert _action(again) == "/twilio/menu?lang=da&then=queue&tries=1"
    # The second time, 7 there (Permanent ophold in the case-type menu, no language in this
    # one): general questions, as after two wrong keys of the menu.
    _, general = await post(
        phone, "/twilio/menu?lang=da&then=queue&tries=1&pick=language", _call(Digits="7")
    )
    assert _heard(general) == [("Tak. Du er nu i kø til Generel vejledning.", *DANISH)]
    contact = await _row(phone, "CA" + "1" * 32)
    assert (contact["case_type"], contact["language"]) == ("general", "da")


async def test_a_caller_switches_across_languages(phone: Client) -> None:
    # From Arabic, 9 offers the others (not Arabic), on their keys.
    _, languages = await post(phone, "/twilio/menu?lang=ar&then=queue&tries=1", _call(Digits="9"))
    assert _heard(languages) == [LANGUAGE_MENU[0], LANGUAGE_MENU[2], LANGUAGE_MENU[3]]
    assert _action(languages) == "/twilio/menu?lang=ar&then=queue&tries=1&pick=language"
    _, english = await post(phone, str(_action(languages)), _call(Digits="1"))
    assert _heard(english)[0] == (
        "Welcome to the Danish Immigration Service.",
        "en-GB",
        "Polly.Amy",
    )
    assert _action(english) == "/twilio/menu?lang=en&then=queue&tries=0"  # tries start again
    _, turkish = await post(
        phone, "/twilio/menu?lang=en&then=queue&tries=0&pick=language", _call(Digits="4")
    )
    assert ("Aile birleşimi için 1 tuşuna basın.", "tr-TR", "Polly.Filiz") in _heard(turkish)
    assert ("İtiraz ve şikâyet için 8 tuşuna basın.", "tr-TR", "Polly.Filiz") in _heard(turkish)
    # A language the line does not speak, in the URL: the line's own.
    _, danish = await post(phone, "/twilio/menu?lang=xx&then=queue&tries=0", _call(Digits="*"))
    assert _heard(danish)[0] == ("Vi modtog ikke et gyldigt valg.", *DANISH)


async def test_the_closed_message_offers_the_languages_on_9_and_switches_to_one(
    phone: Client, line_clock: FixedClock
) -> None:
    line_clock.at = CHRISTMAS_DAY
    _, closed = await post(phone, "/twilio/voice", _call())
    heard = _heard(closed)
    assert heard[-5:-1] == OFFERS  # in the offer's <Gather>, before the goodbye
    assert heard[-1] == ("Tak for opkaldet. Farvel.", *DANISH)

    _, languages = await post(phone, "/twilio/closed?lang=da", _call(Digits="9"))
    assert _heard(languages) == LANGUAGE_MENU
    assert _action(languages) == "/twilio/closed?lang=da&pick=language"
    # 1 here is English, not the closed line's offer: a menu of its own.
    _, english = await post(phone, "/twilio/closed?lang=da&pick=language", _call(Digits="1"))
    assert _heard(english)[1] == (
        "The line is closed now. We open again on Monday at 09:00.",
        "en-GB",
        "Polly.Amy",
    )
    _, ukrainian = await post(phone, "/twilio/closed?lang=da&pick=language", _call(Digits="3"))
    assert _action(ukrainian) == "/twilio/closed?lang=uk"
    heard = _heard(ukrainian)
    # Welcome, closed, offer and goodbye in Ukrainian; the others offered in themselves.
    assert [(language, voice) for _, language, voice in heard[:3]] == [UKRAINIAN] * 3
    assert heard[2][0] == "Натисніть 1, якщо хочете, щоб ми передзвонили вам, коли відкриємося."
    assert heard[-4:-1] == [OFFERS[0], OFFERS[1], OFFERS[3]]
    assert heard[-1][1:] == UKRAINIAN

    # No key in the language menu: the closed message again, in the caller's language.
    _, again = await post(phone, "/twilio/closed?lang=da&pick=language", _call())
    heard = _heard(again)
    assert heard[:2] == [
        ("Vi modtog ikke et gyldigt valg.", *DANISH),
        ("Telefonen er lukket nu. Vi åbner igen mandag klokken 9.00.", *DANISH),
    ]
    assert _action(again) == "/twilio/closed?lang=da"


async def test_with_one_other_language_9_switches_to_it_at_once(
    citizen_service: Client, line_clock: FixedClock
) -> None:
    _, menu = await post(citizen_service, "/twilio/voice", _call())
    heard = _heard(menu)
    assert heard[-1] == ("For English, press 9.", "en-GB", "Polly.Brian")
    _, english = await post(citizen_service, MENU, _call(Digits="9"))
    heard = _heard(english)
    assert heard[0] == (
        "Welcome to Citizen Service at Egeby Municipality.",
        "en-GB",
        "Polly.Brian",
    )
    assert ("Press 1 for Passport.", "en-GB", "Polly.Brian") in heard
    assert all(language == "en-GB" for _, language, _ in heard)  # nothing more on offer
    assert _action(english) == "/twilio/menu?lang=en&then=queue&tries=0"

    line_clock.at = CHRISTMAS_DAY
    _, closed = await post(citizen_service, "/twilio/closed?lang=da", _call(Digits="9"))
    assert _heard(closed)[1] == (
        "The line is closed now. We open again on Monday at 08:00.",
        "en-GB",
        "Polly.Brian",
    )
    assert _action(closed) == "/twilio/closed?lang=en"


async def test_an_arabic_caller_waits_and_keeps_their_place_with_an_sms_in_arabic(
    phone: Client,
) -> None:
    for n in range(3):  # three callers ahead, and no agent signed in: a 12-minute wait
        await post(
            phone, "/twilio/menu?lang=da&then=queue&tries=0", _call(f"CA{n:032d}", Digits="1")
        )
    await post(phone, "/twilio/menu?lang=ar&then=queue&tries=0", _call(ARABIC_CALL, Digits="1"))

    _, waiting = await post(phone, "/twilio/wait?lang=ar", _call(ARABIC_CALL, QueuePosition="4"))
    assert _heard(waiting) == [
        (
            "أنت رقم 4 في قائمة الانتظار. وقت الانتظار المتوقع حوالي 12 دقيقة.",
            "arb",
            "Polly.Zeina",
        ),
        (
            "اضغط 1 وأغلق الخط، وسنتصل بك على الرقم +45 20 12 34 56؛ "
            "وستحتفظ بمكانك في قائمة الانتظار.",
            "arb",
            "Polly.Zeina",
        ),
    ]
    assert _action(waiting) == "/twilio/keep-place?lang=ar"

    _, kept = await post(phone, "/twilio/keep-place?lang=ar", _call(ARABIC_CALL, Digits="1"))
    callback = await _row(phone, ARABIC_CALL)
    reference = callback["reference"]
    spelled = ", ".join(" ".join(part) for part in reference.split("-"))
    assert _heard(kept) == [
        (
            f"شكرًا لك. سنتصل بك على الرقم +45 20 12 34 56. رقمك المرجعي هو {spelled}. مع السلامة.",
            "arb",
            "Polly.Zeina",
        )
    ]
    assert (callback["channel"], callback["language"], callback["client_language"]) == (
        "callback",
        "en",
        "ar",
    )
    pool: asyncpg.Pool = phone.app[POOL]
    sms = await pool.fetchrow(
        "SELECT payload FROM outbox WHERE kind = 'sms' AND idempotency_key = $1",
        f"sms:booked:{reference}",
    )
    assert sms is not None
    assert sms["payload"]["to"] == CALLER
    assert sms["payload"]["body"] == (
        "ستعاود دائرة الهجرة الدنماركية الاتصال بك اليوم حالما يحين دورك. "
        f"الرقم المرجعي: {reference}. مدة المعالجة لـ لمّ شمل الأسرة: 10 أشهر. "
        "قائمة المتطلبات: https://www.nyidanmark.dk/en-GB/You-want-to-apply/Family"
    )


async def test_a_turkish_caller_books_on_the_closed_line_and_hears_the_goal_first(
    phone: Client, line_clock: FixedClock
) -> None:
    line_clock.at = CHRISTMAS_DAY
    await post(phone, "/twilio/closed?lang=tr", _call(Digits="1"))
    _, booked = await post(phone, "/twilio/menu?lang=tr&then=callback&tries=0", _call(Digits="4"))
    heard = _heard(booked)
    assert heard[0] == (
        "Vize için işlem süresi en fazla 15 gün. "
        "Başvurunuza ilişkin kontrol listesini nyidanmark.dk adresinde bulabilirsiniz.",
        "tr-TR",
        "Polly.Filiz",
    )
    assert len(heard) == 2  # then the booking, which ends with the goodbye
    assert isinstance(booked, ET.Element)
    assert booked.find("Hangup") is not None
    callback = await _row(phone, "CA" + "1" * 32)
    assert (callback["channel"], callback["language"], callback["client_language"]) == (
        "callback",
        "en",
        "tr",
    )


async def test_general_questions_have_no_goal_to_tell(phone: Client) -> None:
    _, queued = await post(phone, "/twilio/menu?lang=uk&then=queue&tries=0", _call(Digits="0"))
    assert [words for words, _, _ in _heard(queued)] == [
        "Дякуємо. Ви в черзі до «Загальна консультація»."
    ]
