"""One family-reunification client through every channel (issue 20): on the phone, on the
booking page, by e-mail and at the service centre's kiosk, they learn the processing goal
for family reunification and where its checklist is, in the language they read, every
time. Two clients: one who reads Arabic (the goal in Arabic; the checklist the agency has
for every language, as it has no Arabic page) and one who reads Danish (the goal in Danish,
the Danish checklist page).

The real daemon app on the shipped configuration and a real PostgreSQL; the phone's
webhooks signed as Twilio signs them; the mail read from a real Dovecot mailbox and
classified by the model trained from the corpus; the ticket issued by a front-desk login.
What is asserted is what the client hears or reads: the IVR's <Say>, the SMS and the
acknowledgement in the outbox, the booking page's and the kiosk's answer.
"""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from contactd.app import create_app
from contactd.clock import FixedClock
from contactd.http.appkeys import POOL
from contactd.settings import Settings
from contactd.store.staff import Role
from tests import mailserver
from tests.conftest import WORKDAY, token_for
from tests.integration.test_email_conversations import _until
from tests.integration.test_phone_voice import PUBLIC, TOKEN, _call, post

Client = TestClient[web.Request, web.Application]
AGENCY = "kontakt@nyidanmark.example"
FAMILY_KEY = "1"  # the phone menu's key for family reunification


@dataclasses.dataclass(frozen=True)
class Reader:
    lang: str
    language_key: str | None  # the language menu's key (None: the line's own language)
    goal: str  # "10 months", as the client's language says it
    checklist: str
    mail: str  # what they write to the agency (classified as family reunification)


ARABIC = Reader(
    lang="ar",
    language_key="2",
    goal="10 أشهر",
    checklist="https://www.nyidanmark.dk/en-GB/You-want-to-apply/Family",
    mail=(
        "Family reunification for my wife. I applied for family reunification for my wife "
        "in March. What documents do you still need?\n"
        "مرحبا، قدمت طلب لم شمل الأسرة لزوجتي في مارس. ما هي المستندات التي ما زلتم تحتاجونها؟"
    ),
)
DANISH = Reader(
    lang="da",
    language_key=None,
    goal="10 måneder",
    checklist="https://www.nyidanmark.dk/da/Du-vil-ansoege/Familie",
    mail=(
        "Familiesammenføring med min hustru. Jeg har søgt om familiesammenføring for min "
        "hustru i marts. Hvilke dokumenter mangler I stadig?"
    ),
)


@pytest.fixture
def config(db_url: str, imap_port: int, model_file: Path) -> Settings:
    return mailserver.daemon_config(
        db_url,
        imap_port,
        CONTACTD_EMAIL__ADDRESS=AGENCY,
        CONTACTD_CLASSIFIER__ENABLED="true",
        CONTACTD_CLASSIFIER__MODEL=str(model_file),
        CONTACTD_TWILIO_AUTH_TOKEN=TOKEN,
        CONTACTD_PUBLIC_URL=PUBLIC,
    )


@pytest.fixture
async def daemon(config: Settings) -> AsyncIterator[Client]:
    async with TestClient(TestServer(create_app(config, clock=FixedClock(WORKDAY)))) as c:
        yield c


def _said(twiml: ET.Element | str) -> str:
    assert isinstance(twiml, ET.Element), twiml
    return " ".join(s.text or "" for s in twiml.iter("Say"))


async def _sms_body(pool: asyncpg.Pool, reference: str) -> str:
    body = await pool.fetchval(
        "SELECT payload ->> 'body' FROM outbox WHERE idempotency_key = $1",
        f"sms:booked:{reference}",
    )
    assert body is not None
    return str(body)


@pytest.mark.parametrize("reader", [ARABIC, DANISH], ids=["reads-arabic", "reads-danish"])
async def test_the_client_learns_the_goal_and_checklist_in_their_language_on_every_channel(
    daemon: Client, imap_port: int, reader: Reader
) -> None:
    pool: asyncpg.Pool = daemon.app[POOL]

    # The phone: the language menu (Arabic), the case-type menu, family reunification.
    lang, sid = "da", "CA" + "f" * 32
    if reader.language_key is not None:
        await post(daemon, "/twilio/menu?lang=da&then=queue&tries=0", _call(sid, Digits="9"))
        _, menu = await post(
            daemon,
            "/twilio/menu?lang=da&then=queue&tries=0&pick=language",
            _call(sid, Digits=reader.language_key),
        )
        lang = reader.lang
        assert isinstance(menu, ET.Element), menu
        assert "/twilio/menu?lang=" + lang in ET.tostring(menu, encoding="unicode")
    _, queued = await post(
        daemon, f"/twilio/menu?lang={lang}&then=queue&tries=0", _call(sid, Digits=FAMILY_KEY)
    )
    said = _said(queued)
    assert reader.goal in said
    assert "nyidanmark.dk" in said  # the checklist's website, said ({website})

    # The booking page, in the client's language: its answer and the SMS.
    windows = (await (await daemon.get("/api/callbacks")).json())["windows"]
    booked = await daemon.post(
        "/api/callbacks",
        json={"number": "20 12 34 57", "language": "da", "client_language": reader.lang,
              "case_type": "family", "window": windows[3]["id"], "key": "form-promise-0001"},
    )  # fmt: skip
    assert booked.status == 202, await booked.text()
    promise = (await booked.json())["promise"]
    assert (promise["goal"], promise["url"]) == (reader.goal, reader.checklist)
    reference = await pool.fetchval(
        "SELECT reference FROM contacts WHERE channel = 'callback' AND client_address = $1",
        "+4520123457",
    )
    sms = await _sms_body(pool, reference)
    assert reader.goal in sms
    assert reader.checklist in sms

    # E-mail: the acknowledgement of what they wrote, classified as family reunification.
    mailserver.append(
        imap_port,
        f"From: client@example.dk\r\nTo: {AGENCY}\r\nSubject: Familie\r\n"
        "Message-ID: <promise1@example.dk>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        .encode() + reader.mail.encode() + b"\r\n",
    )  # fmt: skip
    acknowledged = (
        "SELECT c.case_type, o.payload FROM contacts c JOIN outbox o ON o.contact_id = c.id"
        " WHERE c.channel = 'email' AND o.kind = 'email'"
    )
    await _until(lambda: pool.fetchrow(acknowledged))  # the daemon's own mailbox reader
    mail = await pool.fetchrow(acknowledged)
    assert mail is not None
    assert mail["case_type"] == "family"
    assert reader.goal in mail["payload"]["text"]
    assert reader.checklist in mail["payload"]["text"]

    # The service centre: the ticket the front desk prints in the language they read.
    desk = await token_for(pool, "frontdesk-promise", Role.FRONTDESK)
    issued = await daemon.post(
        "/api/tickets",
        json={"case_type": "family", "language": "da" if reader.lang == "da" else "en",
              "client_language": reader.lang, "request_id": "kiosk-promise-0001"},
        headers=desk,
    )  # fmt: skip
    assert issued.status == 201, await issued.text()
    ticket = (await issued.json())["promise"]
    assert (ticket["goal"], ticket["url"]) == (reader.goal, reader.checklist)
