"""The supervisors' console (issue 18) over HTTP against the real daemon: every queue against
its goal, the agent grid live within a second of a change, an agent set away, a held contact
taken back with its place kept, a contact's timeline with the routing's reason for each offer,
and the day's satisfaction comments; each audited, none for an agent."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import asyncpg
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient

from contactd.store.staff import Role
from tests.conftest import WORKDAY, token_for
from tests.integration.test_desk import _accepted_family_email, _team

Client = TestClient[web.Request, web.Application]


async def _next_event(response: ClientResponse, seconds: float = 1.0) -> dict[str, Any]:
    """The next console snapshot on the stream, within `seconds`."""
    async with asyncio.timeout(seconds):
        while True:
            line = (await response.content.readline()).decode()
            if line.startswith("data: "):
                return json.loads(line[6:])  # type: ignore[no-any-return]


def _agent(view: dict[str, Any], login: str) -> dict[str, Any]:
    return next(a for a in view["agents"] if a["login"] == login)


async def _audited(pool: asyncpg.Pool, action: str) -> list[tuple[str, str | None, str | None]]:
    rows = await pool.fetch(
        "SELECT actor, target, reference FROM audit_log WHERE action = $1 ORDER BY id", action
    )
    return [(r["actor"], r["target"], r["reference"]) for r in rows]


async def test_the_grid_follows_agents_within_a_second(
    client: Client, app_pool: asyncpg.Pool
) -> None:
    supervisor, karin, _, front = await _team(client, app_pool)
    async with client.get("/api/console/events", headers=supervisor) as stream:
        first = await _next_event(stream, 5)
        assert {a["login"]: a["state"] for a in first["agents"]} == {
            "karin": "offline",
            "jens": "offline",
        }
        family = next(q for q in first["queues"] if q["queue"] == "family")
        email = next(c for c in family["channels"] if c["channel"] == "email")
        assert (email["waiting"], email["colour"]) == (0, "green")

        reference = await _accepted_family_email(client, karin, front)
        # Each change reaches the grid within a second (it may come in more than one event).
        while (view := await _next_event(stream))["agents"][1]["state"] != "busy":
            pass
        holding = _agent(view, "karin")["holding"]
        assert [(h["reference"], h["channel"], h["state"]) for h in holding] == [
            (reference, "email", "active")
        ]
        assert "client_address" not in json.dumps(view)  # no client data in the live view


async def test_a_supervisor_sets_an_agent_away_and_takes_back_what_they_held(
    client: Client, app_pool: asyncpg.Pool
) -> None:
    supervisor, karin, _, front = await _team(client, app_pool)
    reference = await _accepted_family_email(client, karin, front)
    queued_at = await app_pool.fetchval(
        "SELECT queued_at FROM contacts WHERE reference = $1", reference
    )

    away = await client.post("/api/agents/karin/state", json={"state": "away"}, headers=supervisor)
    assert (await away.json()) == {"login": "karin", "state": "away"}
    back = await client.post(f"/api/contacts/{reference}/take-back", headers=supervisor)
    assert back.status == 200
    assert (await back.json())["state"] == "queued"
    row = await app_pool.fetchrow(
        "SELECT state, agent_id, queued_at FROM contacts WHERE reference = $1", reference
    )
    assert row is not None
    assert (row["state"], row["agent_id"], row["queued_at"]) == ("queued", None, queued_at)
    view = await (await client.get("/api/console", headers=supervisor)).json()
    assert (_agent(view, "karin")["state"], _agent(view, "karin")["holding"]) == ("away", [])

    again = await client.post(f"/api/contacts/{reference}/take-back", headers=supervisor)
    assert (again.status, (await again.json())["error"]) == (
        409,
        {"code": "not_taken_back", "message": f"{reference} is waiting in its queue already"},
    )
    for login, state, expected in [
        ("karin", "wrap_up",
         (422, "not_accepted", "wrap-up starts by itself when a contact is finished")),
        ("frida", "away",
         (404, "no_agent_profile", "frida has no agent profile: give them one under Agents first")),
        ("nobody", "away", (404, "not_found", "no staff member with login 'nobody'")),
    ]:  # fmt: skip
        refused = await client.post(
            f"/api/agents/{login}/state", json={"state": state}, headers=supervisor
        )
        error = (await refused.json())["error"]
        assert (refused.status, error["code"], error["message"]) == expected
    assert await _audited(app_pool, "agent.state_set") == [("sofie", "karin", None)]
    assert await _audited(app_pool, "contact.taken_back") == [("sofie", None, reference)]
    # The agent's own console is closed to them.
    for path in ("/api/console", "/api/csat"):
        assert (await client.get(path, headers=karin)).status == 403
    refused = await client.post("/api/agents/jens/state", json={"state": "away"}, headers=karin)
    assert refused.status == 403


async def test_a_phone_call_is_not_taken_back_from_under_the_caller(
    client: Client, app_pool: asyncpg.Pool
) -> None:
    supervisor = await token_for(app_pool, "sofie", Role.SUPERVISOR)
    await app_pool.execute(
        """INSERT INTO contacts (reference, channel, case_type, case_type_source, language,
               queue, due_at, state, created_at, state_changed_at, queued_at)
           VALUES ('AAAA-CCCC', 'call', 'family', 'ivr', 'da', 'family', $1, 'active',
                   $1, $1, $1)""",
        WORKDAY,
    )
    refused = await client.post("/api/contacts/AAAA-CCCC/take-back", headers=supervisor)
    assert (refused.status, (await refused.json())["error"]["code"]) == (409, "live_call")


async def test_the_timeline_shows_each_offer_and_why_it_was_made(
    client: Client, app_pool: asyncpg.Pool
) -> None:
    supervisor, karin, _, front = await _team(client, app_pool)
    reference = await _accepted_family_email(client, karin, front)
    timeline = await (
        await client.get(f"/api/contacts/{reference}/timeline", headers=supervisor)
    ).json()
    assert [e["action"] for e in timeline["history"]][:3] == ["created", "offer", "accept"]
    [offer] = timeline["offers"]
    assert (offer["login"], offer["outcome"]) == ("karin", "accepted")
    assert offer["reason"]  # the routing's reason: skill, level, bullseye ring, ...
    assert await _audited(app_pool, "contact.read") == [("sofie", None, reference)]


async def test_the_days_satisfaction_comments_by_queue_and_channel(
    client: Client, app_pool: asyncpg.Pool
) -> None:
    supervisor = await token_for(app_pool, "sofie", Role.SUPERVISOR)
    for n, (queue, channel, day) in enumerate(
        [("family", "email", 0), ("visa", "call", 0), ("family", "email", -1)]
    ):
        at = WORKDAY + timedelta(days=day, minutes=n)
        contact = await app_pool.fetchval(
            """INSERT INTO contacts (reference, channel, case_type, case_type_source, language,
                   queue, due_at, state, created_at, state_changed_at, queued_at, closed_at)
               VALUES ($1, $2, $3, 'form', 'da', $3, $4, 'done', $4, $4, $4, $4) RETURNING id""",
            f"AAAA-AAA{n}",
            channel,
            queue,
            at,
        )
        await app_pool.execute(
            "INSERT INTO csat (contact_id, queue, channel, asked_at, via, expires_at, score,"
            " comment, answered_at) VALUES ($1, $2, $3, $4, 'sms', $4, $5, $6, $4)",
            contact,
            queue,
            channel,
            at,
            4 - n,
            f"Kommentar {n}",
        )
    today = await (await client.get("/api/csat", headers=supervisor)).json()
    assert [(a["queue"], a["score"], a["comment"]) for a in today["answers"]] == [
        ("visa", 3, "Kommentar 1"),
        ("family", 4, "Kommentar 0"),
    ]
    family = await client.get("/api/csat?queue=family&day=2026-11-30", headers=supervisor)
    assert [a["comment"] for a in (await family.json())["answers"]] == ["Kommentar 2"]
    bad = await client.get("/api/csat?channel=fax", headers=supervisor)
    assert bad.status == 422
    assert [t for _, t, _ in await _audited(app_pool, "csat.comments_read")] == [None, None]


async def test_what_a_disabled_person_held_goes_back_to_its_queue_by_itself(
    client: Client, app_pool: asyncpg.Pool
) -> None:
    # Karin leaves with an e-mail on her desk; the admin disables her and need not find it.
    _, karin, _, front = await _team(client, app_pool)
    admin = await token_for(app_pool, "ada", Role.ADMIN)
    reference = await _accepted_family_email(client, karin, front)
    queued_at = await app_pool.fetchval(
        "SELECT queued_at FROM contacts WHERE reference = $1", reference
    )
    assert (await client.post("/api/staff/karin/disable", headers=admin)).status == 200
    for _ in range(50):  # the leader's timers look once a second
        contact = await (await client.get(f"/api/contacts/{reference}", headers=admin)).json()
        if contact["state"] == "queued":
            break
        await asyncio.sleep(0.1)
    assert contact["state"] == "queued"
    row = await app_pool.fetchrow(
        "SELECT agent_id, queued_at FROM contacts WHERE reference = $1", reference
    )
    assert row is not None
    assert (row["agent_id"], row["queued_at"]) == (None, queued_at)  # its place kept
    reason = await app_pool.fetchval(
        "SELECT reason FROM contact_events e JOIN contacts c ON c.id = e.contact_id"
        " WHERE c.reference = $1 AND e.action = 'requeue'",
        reference,
    )
    assert reason == {"why": "its holder was disabled"}
