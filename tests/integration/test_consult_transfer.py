"""A consult (warm) transfer of a live call (issue 19): Karin, talking to the caller in
their Twilio conference, rings Jens into it while the caller is held; they talk; she hands
the caller over (complete) or comes back to them (cancel). The caller is never moved and
never hung up on: every step is a change of a conference participant, made through
Twilio's REST API and checked against its spec by Prism (proxy mode, in front of the
stateful double of tests/integration/test_outbox_safety.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from contactd.clock import FixedClock
from contactd.http.appkeys import POOL
from tests.conftest import WORKDAY
from tests.integration import test_outbox_safety as safety
from tests.integration.test_call_transfer import (
    CALL,
    Client,
    Talk,
    _agent,
    _answers,
    _daemon,
    _karin_talks_to_the_caller,
)
from tests.integration.test_outbox_safety import JENS_PHONE, TwilioDouble, _signed, _until

proxied = safety.proxied
twilio = safety.twilio


async def _consulting(client: Client, talk: Talk) -> dict[str, Any] | None:
    desk = await (await client.get("/api/desk", headers=talk.karin)).json()
    held = [c for c in desk["contacts"] if c["reference"] == talk.reference]
    return held[0]["consulting"] if held else None


async def _jens_is_rung(client: Client, twilio: TwilioDouble, talk: Talk) -> dict[str, str]:
    """Karin consults Jens: the caller is held, Jens's phone is dialled into the conference."""
    jens = await _agent(client, "jens", JENS_PHONE, {"work": 3})
    asked = await client.post(
        f"/api/desk/contacts/{talk.reference}/consult", json={"agent": "jens"}, headers=talk.karin
    )
    assert asked.status == 200, await asked.text()
    await _until(lambda: len(twilio.dialled_in) == 2, "Jens's phone is dialled in")
    return jens


async def test_a_consult_transfer_hands_the_caller_over_without_moving_them(
    db_url: str, twilio: TwilioDouble, proxied: tuple[TwilioDouble, str]
) -> None:
    clock = FixedClock(WORKDAY)
    async with _daemon(db_url, proxied[1], clock) as client:
        pool: asyncpg.Pool = client.app[POOL]
        talk = await _karin_talks_to_the_caller(client, twilio)
        clock.advance(minutes=2)
        jens = await _jens_is_rung(client, twilio, talk)
        ringing = await _consulting(client, talk)
        early = await client.post(
            f"/api/desk/contacts/{talk.reference}/consult/complete", headers=talk.karin
        )
        too_early = (early.status, (await early.json())["error"]["code"])
        jens_label, _ = await _answers(client, twilio, 1)
        answered = await _consulting(client, talk)
        clock.advance(minutes=1)
        done = await client.post(
            f"/api/desk/contacts/{talk.reference}/consult/complete", headers=talk.karin
        )
        assert done.status == 200, await done.text()
        await _until(lambda: len(twilio.changes) == 6, "the conference is changed")
        karins_desk = await (await client.get("/api/desk", headers=talk.karin)).json()
        jens_desk = await (await client.get("/api/desk", headers=jens)).json()
        row = await pool.fetchrow(
            "SELECT c.state, s.login FROM contacts c JOIN staff s ON s.id = c.agent_id"
        )
        events = await pool.fetch("SELECT action, actor, reason FROM contact_events ORDER BY id")
        # Karin's leg ends; later Jens hangs up, which ends the conference: the caller's
        # <Dial> is over, and only then is the caller's call ended.
        await _signed(client, talk.karins_leg, {**CALL, "CallStatus": "completed"})
        after_karin = await pool.fetchval("SELECT state FROM contacts")
        over = await _signed(client, talk.conference_over, {**CALL, "DialCallStatus": "completed"})
    karin_label = twilio.dialled_in[0]["Label"]
    assert twilio.dialled_in[1]["To"] == JENS_PHONE
    assert twilio.dialled_in[1]["room"] == talk.room  # the same conference
    assert ringing == {"agent": "jens", "answered": False}
    assert too_early == (409, "not_answered")
    assert answered == {"agent": "jens", "answered": True}
    assert twilio.changes == [
        (talk.room, "caller", {"Hold": "true"}),  # held while the two talk
        (talk.room, karin_label, {"EndConferenceOnExit": "false"}),
        (talk.room, jens_label, {"EndConferenceOnExit": "true"}),  # completed
        (talk.room, "caller", {"Hold": "false"}),
        (talk.room, karin_label, {"EndConferenceOnExit": "false"}),
        (talk.room, karin_label, {"removed": "true"}),
    ]
    assert len(twilio.redirects) == 1  # the caller was moved once: in, with Karin
    assert row is not None
    assert (row["state"], row["login"]) == ("active", "jens")
    assert karins_desk["contacts"] == []
    assert [c["reference"] for c in jens_desk["contacts"]] == [talk.reference]
    steps = [(e["action"], e["actor"]) for e in events]
    assert steps[-5:] == [
        ("consult", "staff:karin"),
        ("consult_answered", "twilio"),
        ("requeue", "staff:karin"),
        ("offer", "staff:karin"),
        ("accept", "staff:karin"),
    ]
    assert events[-5]["reason"] == {"to_agent": "jens"}
    assert events[-3]["reason"]["transfer"] == "consult"
    assert after_karin == "active"  # Karin leaving changed nothing
    assert over.find("Hangup") is not None  # the talk with Jens is over


async def test_a_consultation_cancelled_or_not_answered_leaves_the_caller_with_the_caseworker(
    db_url: str, twilio: TwilioDouble, proxied: tuple[TwilioDouble, str]
) -> None:
    clock = FixedClock(WORKDAY)
    async with _daemon(db_url, proxied[1], clock) as client:
        pool: asyncpg.Pool = client.app[POOL]
        talk = await _karin_talks_to_the_caller(client, twilio)
        await _jens_is_rung(client, twilio, talk)
        again = await client.post(
            f"/api/desk/contacts/{talk.reference}/consult",
            json={"agent": "jens"},
            headers=talk.karin,
        )
        twice = (again.status, (await again.json())["error"]["code"])
        jens_label, _ = await _answers(client, twilio, 1)
        back = await client.post(
            f"/api/desk/contacts/{talk.reference}/consult/cancel", headers=talk.karin
        )
        assert back.status == 200, await back.text()
        await _until(lambda: len(twilio.changes) == 6, "Jens is removed, the caller unheld")
        cancelled = list(twilio.changes)
        after_cancel = await _consulting(client, talk)
        # Again, and this time Jens does not answer: the consultation ends by itself.
        twilio.changes.clear()
        await client.post("/api/desk/state", json={"state": "available"}, headers=talk.karin)
        asked = await client.post(
            f"/api/desk/contacts/{talk.reference}/consult",
            json={"agent": "jens"},
            headers=talk.karin,
        )
        assert asked.status == 200, await asked.text()
        await _until(lambda: len(twilio.dialled_in) == 3, "Jens's phone is dialled again")
        second = twilio.dialled_in[2]
        missed = {**CALL, "CallSid": second["CallSid"], "CallStatus": "no-answer"}
        await _signed(client, second["StatusCallback"], missed)
        await _until(lambda: len(twilio.changes) == 4, "the caller is unheld")
        row = await pool.fetchrow(
            "SELECT c.state, s.login FROM contacts c JOIN staff s ON s.id = c.agent_id"
        )
        after_miss = await _consulting(client, talk)
    karin_label = twilio.dialled_in[0]["Label"]
    assert twice == (409, "consulting")
    assert cancelled[2:] == [
        (talk.room, karin_label, {"EndConferenceOnExit": "true"}),  # her leaving ends it again
        (talk.room, "caller", {"Hold": "false"}),
        (talk.room, jens_label, {"EndConferenceOnExit": "false"}),
        (talk.room, jens_label, {"removed": "true"}),
    ]
    assert after_cancel is None
    assert twilio.changes[-2:] == [
        (talk.room, karin_label, {"EndConferenceOnExit": "true"}),
        (talk.room, "caller", {"Hold": "false"}),
    ]  # Jens never joined: there is no one to remove
    assert row is not None
    assert (row["state"], row["login"]) == ("active", "karin")
    assert after_miss is None
    assert len(twilio.redirects) == 1


async def test_a_caseworker_who_hangs_up_during_a_consultation_hands_the_caller_on(
    db_url: str, twilio: TwilioDouble, proxied: tuple[TwilioDouble, str]
) -> None:
    """Hanging up is how many caseworkers end a consultation: the caller goes on with the
    colleague who answered; with one whose phone still rings, back to the queue."""
    clock = FixedClock(WORKDAY)
    async with _daemon(db_url, proxied[1], clock) as client:
        pool: asyncpg.Pool = client.app[POOL]
        talk = await _karin_talks_to_the_caller(client, twilio)
        jens = await _jens_is_rung(client, twilio, talk)
        await _answers(client, twilio, 1)
        await _signed(client, talk.karins_leg, {**CALL, "CallStatus": "completed"})
        await _until(lambda: len(twilio.changes) == 6, "the hand-over is made")
        handed = await pool.fetchrow(
            "SELECT c.state, s.login FROM contacts c JOIN staff s ON s.id = c.agent_id"
        )
        # Jens, now talking to the caller, consults Karin, and hangs up before she answers.
        await client.post("/api/desk/state", json={"state": "available"}, headers=talk.karin)
        jens_leg = twilio.dialled_in[1]["StatusCallback"]
        asked = await client.post(
            f"/api/desk/contacts/{talk.reference}/consult", json={"agent": "karin"}, headers=jens
        )
        assert asked.status == 200, await asked.text()
        await _until(lambda: len(twilio.dialled_in) == 3, "Karin's phone is dialled in")
        await _signed(client, jens_leg, {**CALL, "CallStatus": "completed"})
        await _until(lambda: len(twilio.redirects) == 2, "the caller is moved to the queue")
        back = await pool.fetchrow("SELECT state, queue, agent_id FROM contacts")
        waiting = await _signed(client, twilio.redirects[1][1], CALL)
    assert handed is not None
    assert (handed["state"], handed["login"]) == ("active", "jens")
    assert back is not None
    assert (back["state"], back["queue"], back["agent_id"]) == ("queued", "family", None)
    enqueue = waiting.find("Enqueue")
    assert enqueue is not None
    assert enqueue.text == "family"


async def test_a_consultation_that_cannot_be_placed_leaves_no_one_held(
    db_url: str, twilio: TwilioDouble, proxied: tuple[TwilioDouble, str]
) -> None:
    """Twilio does not know the call's conference any more when the consultation is sent (it
    ended meanwhile): the message fails, and the colleague, never rung, is free for calls
    again (no webhook will ever end a leg that was never dialled)."""
    clock = FixedClock(WORKDAY)
    async with _daemon(db_url, proxied[1], clock) as client:
        pool: asyncpg.Pool = client.app[POOL]
        talk = await _karin_talks_to_the_caller(client, twilio)
        twilio.conferences.clear()
        await _jens_is_rung_or_not(client, talk)
        await _until_sent_or_failed(pool)
        leg = await pool.fetchrow("SELECT ended_at FROM call_legs WHERE role = 'consult'")
        consulting = await _consulting(client, talk)
        # Jens as the router sees him: holding no call (phone.sql transfer_target's count).
        held = await pool.fetchval(
            "SELECT count(*) FROM call_legs l JOIN staff s ON s.id = l.agent_id"
            " WHERE s.login = 'jens' AND l.role = 'consult' AND l.ended_at IS NULL"
        )
    assert leg is not None
    assert leg["ended_at"] is not None
    assert consulting is None
    assert held == 0
    assert len(twilio.dialled_in) == 1  # Karin's only: Jens was never rung


async def _jens_is_rung_or_not(client: Client, talk: Talk) -> None:
    await _agent(client, "jens", JENS_PHONE, {"work": 3})
    asked = await client.post(
        f"/api/desk/contacts/{talk.reference}/consult", json={"agent": "jens"}, headers=talk.karin
    )
    assert asked.status == 200, await asked.text()


async def _until_sent_or_failed(pool: asyncpg.Pool) -> None:
    for _ in range(200):
        row = await pool.fetchrow("SELECT sent_at, failed_at FROM outbox WHERE kind = 'consult'")
        if row is not None and (row["sent_at"] or row["failed_at"]):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the consultation was never sent nor failed")
