"""A caseworker passes a live Twilio call on (issue 19): the caller is kept, not dropped.

The caller waits on the hotline; Karin takes the call, her phone is dialled into a Twilio
conference and, once she answers, the caller is moved in (channels/phone/conference.py).
She passes it on from the desk: to another queue (the caller waits there again, the place
kept), to a named colleague (blind: their phone rings, the caller waits meanwhile), or after
a word with the colleague while the caller is held (consult: complete or cancel). Twilio's
REST API is Stoplight Prism in proxy mode in front of the stateful double of
tests/integration/test_outbox_safety.py, so every request the daemon makes (participants
dialled in, held, changed, removed; calls redirected) is checked against Twilio's spec; the
TwiML comes from the twilio package's builder, and the webhooks Twilio then sends are
signed as Twilio signs them."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import asyncpg
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from contactd.app import create_app
from contactd.clock import FixedClock
from contactd.http.appkeys import POOL
from contactd.store.staff import Role
from tests.conftest import WORKDAY, token_for
from tests.integration import test_outbox_safety as safety
from tests.integration.test_outbox_safety import (
    CALLER_SID,
    CLIENT,
    HOTLINE,
    JENS_PHONE,
    KARIN_PHONE,
    PUBLIC,
    TwilioDouble,
    _config,
    _offered,
    _signed,
    _until,
)

# Prism in proxy mode in front of the stateful double of Twilio, shared with that module.
proxied = safety.proxied
twilio = safety.twilio

Client = TestClient[web.Request, web.Application]
CALL = {"CallSid": CALLER_SID, "From": CLIENT, "To": HOTLINE, "CallStatus": "in-progress"}


@contextlib.asynccontextmanager
async def _daemon(db_url: str, api_url: str, clock: FixedClock) -> AsyncIterator[Client]:
    async with TestClient(TestServer(create_app(_config(db_url, api_url), clock=clock))) as c:
        yield c


async def _agent(
    client: Client, login: str, phone: str, skills: dict[str, int], languages: str = "da"
) -> dict[str, str]:
    pool: asyncpg.Pool = client.app[POOL]
    boss = await token_for(pool, f"{login}-boss", Role.SUPERVISOR)
    agent = await token_for(pool, login, Role.AGENT)
    profile = {"skills": skills, "languages": languages.split(","), "phone": phone}
    assert (await client.put(f"/api/agents/{login}", json=profile, headers=boss)).ok
    state = await client.post("/api/desk/state", json={"state": "available"}, headers=agent)
    assert state.ok, await state.text()
    return agent


@dataclasses.dataclass(frozen=True)
class Talk:
    """Karin on the phone with the caller: her credentials, the reference, the conference,
    her leg's status callback and the caller's <Dial> action (the end of the conference)."""

    karin: dict[str, str]
    reference: str
    room: str
    karins_leg: str
    conference_over: str


async def _answers(client: Client, twilio: TwilioDouble, nth: int) -> tuple[str, str]:
    """The nth phone dialled into a conference answers: it joins, and Twilio says so. Its
    label and status callback."""
    await _until(lambda: len(twilio.dialled_in) > nth, "a phone is dialled into the conference")
    dialled = twilio.dialled_in[nth]
    twilio.start(dialled["room"], dialled["Label"])
    leg = {**CALL, "CallSid": dialled["CallSid"], "CallStatus": "in-progress"}
    await _signed(client, dialled["StatusCallback"], leg)
    return dialled["Label"], dialled["StatusCallback"]


async def _karin_talks_to_the_caller(
    client: Client, twilio: TwilioDouble, lang: str = "da"
) -> Talk:
    """The caller chose family (in `lang`) and waits; Karin accepts, her phone is dialled
    into a conference, she answers, and Twilio moves the caller in (/twilio/connect)."""
    karin = await _agent(client, "karin", KARIN_PHONE, {"family": 3}, languages="da,en")
    await _signed(client, f"{PUBLIC}/twilio/voice", CALL)
    await _signed(
        client, f"{PUBLIC}/twilio/menu?lang={lang}&then=queue&tries=0", {**CALL, "Digits": "1"}
    )
    reference = await _offered(client, karin)
    assert reference is not None
    accepted = await client.post(f"/api/desk/contacts/{reference}/accept", headers=karin)
    assert accepted.status == 200, await accepted.text()
    _, karins_leg = await _answers(client, twilio, 0)
    assert twilio.dialled_in[0]["To"] == KARIN_PHONE
    await _until(lambda: len(twilio.redirects) == 1, "the caller is moved in with Karin")
    sid, url = twilio.redirects[0]
    assert sid == CALLER_SID
    connect = await _signed(client, url, CALL)
    dial = connect.find("Dial")
    assert dial is not None
    conference = dial.find("Conference")
    assert conference is not None
    assert conference.get("participantLabel") == "caller"
    room = str(conference.text)
    assert room == twilio.dialled_in[0]["room"]
    twilio.start(room, "caller")
    return Talk(karin, reference, room, karins_leg, PUBLIC + str(dial.get("action")))


async def test_a_caseworker_who_does_not_answer_costs_the_caller_nothing(
    db_url: str, twilio: TwilioDouble, proxied: tuple[TwilioDouble, str]
) -> None:
    """The caller stays in the queue while Karin's phone rings: if she does not answer, the
    call is offered again and the caller was never moved."""
    clock = FixedClock(WORKDAY)
    async with _daemon(db_url, proxied[1], clock) as client:
        pool: asyncpg.Pool = client.app[POOL]
        karin = await _agent(client, "karin", KARIN_PHONE, {"family": 3})
        await _signed(client, f"{PUBLIC}/twilio/voice", CALL)
        await _signed(
            client, f"{PUBLIC}/twilio/menu?lang=da&then=queue&tries=0", {**CALL, "Digits": "1"}
        )
        reference = await _offered(client, karin)
        accepted = await client.post(f"/api/desk/contacts/{reference}/accept", headers=karin)
        assert accepted.status == 200, await accepted.text()
        await _until(lambda: len(twilio.dialled_in) == 1, "Karin's phone is dialled")
        dialled = twilio.dialled_in[0]
        missed = {**CALL, "CallSid": dialled["CallSid"], "CallStatus": "no-answer"}
        await _signed(client, dialled["StatusCallback"], missed)
        row = await pool.fetchrow("SELECT state, agent_id FROM contacts")
    assert row is not None
    assert (row["state"], row["agent_id"]) == ("queued", None)
    assert twilio.redirects == []  # the caller never left the queue


async def test_a_caller_transferred_to_another_queue_is_not_hung_up_on_when_the_agent_hangs_up(
    db_url: str, twilio: TwilioDouble, proxied: tuple[TwilioDouble, str]
) -> None:
    """The test that showed the dropped caller: before issue 19, a transfer only requeued
    the contact, and when Karin put her phone down /twilio/connect-result answered the
    caller's leg with <Hangup/>."""
    clock = FixedClock(WORKDAY)
    async with _daemon(db_url, proxied[1], clock) as client:
        talk = await _karin_talks_to_the_caller(client, twilio)
        clock.advance(minutes=3)
        moved = await client.post(
            f"/api/desk/contacts/{talk.reference}/transfer",
            json={"queue": "work_study"},
            headers=talk.karin,
        )
        assert moved.status == 200, await moved.text()
        # Karin's leg ends (she hangs up, or the conference ends): what becomes of the caller?
        await _signed(client, talk.karins_leg, {**CALL, "CallStatus": "completed"})
        after = await _signed(client, talk.conference_over, {**CALL, "DialCallStatus": "completed"})
    assert after.find("Hangup") is None, "the caller was hung up on"
    enqueue = after.find("Enqueue")
    assert enqueue is not None
    assert enqueue.text == "work_study"


async def test_a_blind_transfer_to_a_queue_moves_the_caller_into_its_wait_with_the_place_kept(
    db_url: str, twilio: TwilioDouble, proxied: tuple[TwilioDouble, str]
) -> None:
    clock = FixedClock(WORKDAY)
    async with _daemon(db_url, proxied[1], clock) as client:
        pool: asyncpg.Pool = client.app[POOL]
        talk = await _karin_talks_to_the_caller(client, twilio)
        reference = talk.reference
        waited_since = await pool.fetchval("SELECT queued_at FROM contacts")
        clock.advance(minutes=3)
        moved = await client.post(
            f"/api/desk/contacts/{reference}/transfer",
            json={"queue": "work_study"},
            headers=talk.karin,
        )
        assert moved.status == 200, await moved.text()
        # The outbox asks Twilio (through Prism, checked against the spec) to move the call.
        await _until(lambda: len(twilio.redirects) == 2, "the caller is taken off Karin's phone")
        sid, url = twilio.redirects[1]
        assert sid == CALLER_SID
        assert url.startswith(f"{PUBLIC}/twilio/connect?ref={reference}&transfer=")
        assert url.endswith("&to=queue")
        twiml = await _signed(client, url, CALL)
        row = await pool.fetchrow("SELECT * FROM contacts")
        karins_desk = await (await client.get("/api/desk", headers=talk.karin)).json()
        events = await pool.fetch("SELECT * FROM contact_events ORDER BY id")

        # Routing goes by the case type: Jens takes family calls too.
        jens = await _agent(client, "jens", JENS_PHONE, {"work": 3, "family": 3})
        assert await _offered(client, jens) == reference
        clock.advance(minutes=1)
        accepted = await client.post(f"/api/desk/contacts/{reference}/accept", headers=jens)
        assert accepted.status == 200, await accepted.text()
        await _answers(client, twilio, 1)
        await _until(lambda: len(twilio.redirects) == 3, "the caller is moved in with Jens")
        with_jens = await _signed(client, twilio.redirects[2][1], CALL)
    said = [s.text for s in twiml.iter("Say")]
    assert said == ["Du bliver nu stillet videre til Arbejde og studie. Bliv venligst i røret."]
    enqueue = twiml.find("Enqueue")
    assert enqueue is not None
    assert enqueue.text == "work_study"
    assert row is not None
    assert (row["state"], row["queue"], row["agent_id"]) == ("queued", "work_study", None)
    assert row["queued_at"] == waited_since  # the place is kept
    assert karins_desk["contacts"] == []  # Karin is free
    requeue = events[-1]
    assert (requeue["action"], requeue["actor"]) == ("requeue", "staff:karin")
    assert requeue["reason"] == {
        "from_queue": "family",
        "to_queue": "work_study",
        "transfer": "blind",
        "call_sid": CALLER_SID,
    }
    assert twilio.dialled_in[1]["To"] == JENS_PHONE
    conference = with_jens.find("Dial/Conference")
    assert conference is not None
    assert conference.text == twilio.dialled_in[1]["room"] != talk.room


async def test_a_caller_who_chose_arabic_is_put_through_and_moved_on_in_arabic(
    db_url: str, twilio: TwilioDouble, proxied: tuple[TwilioDouble, str]
) -> None:
    """Routed in English (the staff's language), spoken to in the Arabic they chose: the
    line's words while being put through and moved to another queue, and the wait there."""
    async with _daemon(db_url, proxied[1], FixedClock(WORKDAY)) as client:
        talk = await _karin_talks_to_the_caller(client, twilio, lang="ar")
        moved = await client.post(
            f"/api/desk/contacts/{talk.reference}/transfer",
            json={"queue": "work_study"},
            headers=talk.karin,
        )
        assert moved.status == 200, await moved.text()
        await _until(lambda: len(twilio.redirects) == 2, "the caller is taken off Karin's phone")
        twiml = await _signed(client, twilio.redirects[1][1], CALL)
    said = [(s.text, s.get("language")) for s in twiml.iter("Say")]
    assert said == [("يتم الآن تحويلك إلى العمل والدراسة. يرجى البقاء على الخط.", "arb")]
    enqueue = twiml.find("Enqueue")
    assert enqueue is not None
    assert enqueue.get("waitUrl") == "/twilio/wait?lang=ar"


async def test_a_blind_transfer_to_a_named_colleague_rings_their_phone_at_once(
    db_url: str, twilio: TwilioDouble, proxied: tuple[TwilioDouble, str]
) -> None:
    clock = FixedClock(WORKDAY)
    async with _daemon(db_url, proxied[1], clock) as client:
        pool: asyncpg.Pool = client.app[POOL]
        talk = await _karin_talks_to_the_caller(client, twilio)
        await _agent(client, "jens", JENS_PHONE, {"work": 3})
        clock.advance(minutes=3)
        moved = await client.post(
            f"/api/desk/contacts/{talk.reference}/transfer",
            json={"agent": "jens"},
            headers=talk.karin,
        )
        assert moved.status == 200, await moved.text()
        # The caller leaves Karin's conference (which ends it) and waits for Jens.
        await _until(lambda: len(twilio.redirects) == 2, "the caller is taken off Karin's phone")
        waiting = await _signed(client, twilio.redirects[1][1], CALL)
        # Karin's leg ends with her conference: nothing of Jens's call changes.
        await _signed(client, talk.karins_leg, {**CALL, "CallStatus": "completed"})
        await _answers(client, twilio, 1)
        await _until(lambda: len(twilio.redirects) == 3, "the caller is moved in with Jens")
        url = twilio.redirects[2][1]
        with_jens = await _signed(client, url, CALL)
        row = await pool.fetchrow(
            "SELECT c.*, s.login FROM contacts c JOIN staff s ON s.id = c.agent_id"
        )
        events = await pool.fetch("SELECT action, actor, reason FROM contact_events ORDER BY id")
    assert waiting.find("Enqueue") is not None  # on hold in the queue while Jens's phone rings
    assert twilio.dialled_in[1]["To"] == JENS_PHONE
    assert urlsplit(url).path == "/twilio/connect"
    assert parse_qs(urlsplit(url).query)["ref"] == [talk.reference]
    conference = with_jens.find("Dial/Conference")
    assert conference is not None
    assert conference.text == twilio.dialled_in[1]["room"]
    assert row is not None
    assert (row["state"], row["login"], row["queue"]) == ("active", "jens", "family")
    assert [(e["action"], e["actor"]) for e in events[-3:]] == [
        ("requeue", "staff:karin"),
        ("offer", "staff:karin"),
        ("accept", "staff:karin"),
    ]
    assert events[-3]["reason"]["to_agent"] == "jens"


async def test_a_colleague_who_cannot_take_the_call_is_refused_and_the_call_stays(
    db_url: str, twilio: TwilioDouble, proxied: tuple[TwilioDouble, str]
) -> None:
    clock = FixedClock(WORKDAY)
    async with _daemon(db_url, proxied[1], clock) as client:
        pool: asyncpg.Pool = client.app[POOL]
        talk = await _karin_talks_to_the_caller(client, twilio)
        karin, reference = talk.karin, talk.reference
        jens = await _agent(client, "jens", JENS_PHONE, {"work": 3})
        await client.post("/api/desk/state", json={"state": "away"}, headers=jens)
        away = await client.post(
            f"/api/desk/contacts/{reference}/transfer", json={"agent": "jens"}, headers=karin
        )
        nobody = await client.post(
            f"/api/desk/contacts/{reference}/consult", json={"agent": "nobody"}, headers=karin
        )
        eva = await _agent(client, "eva", "+4531000009", {"family": 4})
        boss = await token_for(pool, "eva-boss2", Role.SUPERVISOR)
        english = {"skills": {"family": 4}, "languages": ["en"], "phone": "+4531000009"}
        assert (await client.put("/api/agents/eva", json=english, headers=boss)).ok
        await client.post("/api/desk/state", json={"state": "available"}, headers=eva)
        foreign = await client.post(
            f"/api/desk/contacts/{reference}/consult", json={"agent": "eva"}, headers=karin
        )
        said = (await foreign.json())["error"]["message"]
        refused = [(r.status, (await r.json())["error"]["code"]) for r in (away, nobody)]
        row = await pool.fetchrow("SELECT state, agent_id FROM contacts")
        outbox = await pool.fetch("SELECT kind FROM outbox ORDER BY id")
    assert refused == [(409, "agent_unavailable"), (404, "unknown_agent")]
    assert (foreign.status, said) == (409, "eva does not speak da, the caller's language")
    assert row is not None
    assert row["state"] == "active"
    assert [r["kind"] for r in outbox] == ["connect", "redirect"]  # Karin's own, only
    assert len(twilio.redirects) == 1
