"""The agent desk and the supervisor API, as a caseworker's browser and a supervisor use them."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
from aiohttp import web
from aiohttp.test_utils import TestClient

from contactd.store.staff import Role
from tests.conftest import token_for

Client = TestClient[web.Request, web.Application]
PROFILE = {"skills": {"family": 4, "general": 2}, "languages": ["da", "en"]}


async def _team(client: Client, pool: asyncpg.Pool) -> tuple[dict[str, str], ...]:
    supervisor = await token_for(pool, "sofie", Role.SUPERVISOR)
    karin = await token_for(pool, "karin", Role.AGENT)
    jens = await token_for(pool, "jens", Role.AGENT)
    front = await token_for(pool, "frida", Role.FRONTDESK)
    for login in ("karin", "jens"):
        response = await client.put(f"/api/agents/{login}", json=PROFILE, headers=supervisor)
        assert response.status == 200, await response.text()
    return supervisor, karin, jens, front


async def _accepted_family_email(
    client: Client, agent: dict[str, str], front: dict[str, str]
) -> str:
    """The agent becomes available, is offered a new family e-mail and accepts it."""
    await client.post("/api/desk/state", json={"state": "available"}, headers=agent)
    created = await client.post(
        "/api/contacts", json={"channel": "email", "case_type": "family"}, headers=front
    )
    ref: str = (await created.json())["reference"]
    await _desk_when(client, agent, lambda d: d["contacts"])
    accepted = await client.post(f"/api/desk/contacts/{ref}/accept", headers=agent)
    assert accepted.status == 200
    return ref


async def _desk_when(client: Client, auth: dict[str, str], check: Any) -> dict[str, Any]:
    for _ in range(100):
        desk = await (await client.get("/api/desk", headers=auth)).json()
        if check(desk):
            return desk  # type: ignore[no-any-return]
        await asyncio.sleep(0.05)
    raise AssertionError(f"the desk never got there: {desk}")


async def test_a_caseworker_is_offered_a_contact_accepts_and_finishes_it(
    client: Client, app_pool: asyncpg.Pool
) -> None:
    _, karin, _, front = await _team(client, app_pool)
    await client.post("/api/desk/state", json={"state": "available"}, headers=karin)
    created = await (
        await client.post(
            "/api/contacts", json={"channel": "ticket", "case_type": "family"}, headers=front
        )
    ).json()

    desk = await _desk_when(client, karin, lambda d: d["contacts"])
    [offered] = desk["contacts"]
    assert (offered["reference"], offered["state"]) == (created["reference"], "offered")
    assert offered["offer_expires_at"]

    ref = created["reference"]
    accepted = await client.post(f"/api/desk/contacts/{ref}/accept", headers=karin)
    assert (await accepted.json())["state"] == "active"
    finished = await client.post(
        f"/api/desk/contacts/{ref}/finish",
        json={"outcome": "answered", "case_type": "residence_card"},
        headers=karin,
    )
    body = await finished.json()
    assert (body["state"], body["outcome"], body["case_type"], body["case_type_source"]) == (
        "done",
        "answered",
        "residence_card",
        "staff",
    )
    desk = await (await client.get("/api/desk", headers=karin)).json()
    assert (desk["state"], desk["contacts"]) == ("wrap_up", [])
    history = await (await client.get(f"/api/contacts/{ref}", headers=front)).json()
    assert [e["action"] for e in history["history"]] == ["created", "offer", "accept", "finish"]


async def test_only_the_holder_may_act_and_stale_actions_are_refused(
    client: Client, app_pool: asyncpg.Pool
) -> None:
    supervisor, karin, jens, front = await _team(client, app_pool)
    await client.post("/api/desk/state", json={"state": "available"}, headers=karin)
    ref = (
        await (
            await client.post(
                "/api/contacts", json={"channel": "call", "case_type": "family"}, headers=front
            )
        ).json()
    )["reference"]
    await _desk_when(client, karin, lambda d: d["contacts"])

    status = (await client.post(f"/api/desk/contacts/{ref}/accept", headers=jens)).status
    assert status == 403
    declined = await client.post(f"/api/desk/contacts/{ref}/decline", headers=karin)
    assert (await declined.json())["state"] == "queued"
    # Not back to Karin, who declined it: to Jens, once he is available.
    await client.post("/api/desk/state", json={"state": "available"}, headers=jens)
    await _desk_when(client, jens, lambda d: d["contacts"])
    assert (await (await client.get("/api/desk", headers=karin)).json())["contacts"] == []
    await app_pool.execute("UPDATE agents SET state = 'away'")  # so nobody gets it again
    await client.post(f"/api/desk/contacts/{ref}/decline", headers=jens)
    late = await client.post(f"/api/desk/contacts/{ref}/accept", headers=jens)
    body = await late.json()
    assert (late.status, body["error"]["code"]) == (409, "conflict")
    assert "it is queued; accept needs offered" in body["error"]["message"]

    bad = [
        (
            client.put(
                "/api/agents/karin", json={**PROFILE, "skills": {"family": 7}}, headers=supervisor
            ),
            422,
        ),
        (
            client.put(
                "/api/agents/karin", json={**PROFILE, "skills": {"pets": 2}}, headers=supervisor
            ),
            422,
        ),
        (client.put("/api/agents/nobody", json=PROFILE, headers=supervisor), 404),
        (client.put("/api/agents/karin", json=PROFILE, headers=karin), 403),
        (client.post("/api/desk/state", json={"state": "asleep"}, headers=karin), 422),
        (
            client.post(
                f"/api/desk/contacts/{ref}/transfer", json={"queue": "nowhere"}, headers=karin
            ),
            422,
        ),
        (client.post("/api/desk/contacts/AAAA-AAAA/accept", headers=karin), 404),
        (client.get("/api/desk", headers=front), 404),  # frida has no agent profile
    ]
    for request, expected in bad:
        response = await request
        assert response.status == expected, await response.text()
    nowhere = await client.post(f"/api/desk/contacts/{ref}/transfer", json={}, headers=karin)
    assert (await nowhere.json())["error"]["message"] == (
        "the request body is refused: name the queue, the corrected case type, or a colleague"
    )
    agents = await (await client.get("/api/agents", headers=supervisor)).json()
    assert {a["login"]: a["skills"] for a in agents["agents"]} == {
        "jens": PROFILE["skills"],
        "karin": PROFILE["skills"],
    }


async def test_the_desk_stream_delivers_an_offer_live(
    client: Client, app_pool: asyncpg.Pool
) -> None:
    _, karin, _, front = await _team(client, app_pool)
    await client.post("/api/desk/state", json={"state": "available"}, headers=karin)
    response = await client.get("/api/desk/events", headers=karin)
    assert response.headers["Content-Type"] == "text/event-stream"

    async def next_desk() -> dict[str, Any]:
        data = b""
        while not data.endswith(b"\n\n"):
            data += await response.content.readuntil(b"\n\n")
        lines = dict(line.split(": ", 1) for line in data.decode().strip().splitlines())
        return json.loads(lines["data"])  # type: ignore[no-any-return]

    first = await asyncio.wait_for(next_desk(), 5)
    assert (first["state"], first["contacts"]) == ("available", [])
    await client.post(
        "/api/contacts", json={"channel": "email", "case_type": "family"}, headers=front
    )
    update = await asyncio.wait_for(next_desk(), 5)
    while not update["contacts"]:
        update = await asyncio.wait_for(next_desk(), 5)
    assert update["contacts"][0]["state"] == "offered"
    response.close()


async def test_supervisors_see_what_waits_per_queue(client: Client, app_pool: asyncpg.Pool) -> None:
    supervisor, _, _, front = await _team(client, app_pool)
    for _ in range(2):
        await client.post(
            "/api/contacts", json={"channel": "email", "case_type": "visa"}, headers=front
        )
    overview = await (await client.get("/api/queues", headers=supervisor)).json()
    visa = next(q for q in overview["queues"] if q["queue"] == "visa")
    assert [(c["channel"], c["waiting"]) for c in visa["channels"]] == [("email", 2)]
    assert len(overview["queues"]) == 7
    family = next(q for q in overview["queues"] if q["queue"] == "family")
    assert family["agents"] == [
        {"login": "jens", "state": "offline"},
        {"login": "karin", "state": "offline"},
    ]
    assert visa["agents"] == []


async def test_a_transfer_sends_the_contact_to_another_queue_with_its_history(
    client: Client, app_pool: asyncpg.Pool
) -> None:
    _, karin, _, front = await _team(client, app_pool)
    ref = await _accepted_family_email(client, karin, front)
    moved = await client.post(
        f"/api/desk/contacts/{ref}/transfer", json={"queue": "general"}, headers=karin
    )
    body = await moved.json()
    assert (moved.status, body["queue"]) == (200, "general")
    history = (await (await client.get(f"/api/contacts/{ref}", headers=front)).json())["history"]
    assert [e["action"] for e in history][:4] == ["created", "offer", "accept", "requeue"]
    assert history[3]["reason"] == {"to_queue": "general", "from_queue": "family"}


async def test_a_transfer_lifts_the_priority_to_the_new_queues_and_keeps_a_higher_one(
    client: Client, app_pool: asyncpg.Pool
) -> None:
    """A contact's priority is at least its queue's, as intake gives it: moved up (family,
    priority 20, to asylum, 30) it waits as asylum's own contacts do, so the position it is
    told follows the routing's order; moved down (to general, 0), the higher priority goes
    with the client."""
    _, karin, _, front = await _team(client, app_pool)

    async def queue_and_priority(reference: str) -> tuple[str, int]:
        row = await app_pool.fetchrow(
            "SELECT queue, priority FROM contacts WHERE reference = $1", reference
        )
        assert row is not None
        return row["queue"], row["priority"]

    up = await _accepted_family_email(client, karin, front)
    assert await queue_and_priority(up) == ("family", 20)
    moved = await client.post(
        f"/api/desk/contacts/{up}/transfer", json={"queue": "asylum"}, headers=karin
    )
    assert moved.status == 200, await moved.text()
    assert await queue_and_priority(up) == ("asylum", 30)

    down = await _accepted_family_email(client, karin, front)
    moved = await client.post(
        f"/api/desk/contacts/{down}/transfer", json={"queue": "general"}, headers=karin
    )
    assert moved.status == 200, await moved.text()
    assert await queue_and_priority(down) == ("general", 20)


async def test_finishing_while_away_keeps_the_agent_away_and_a_stream_needs_a_profile(
    client: Client, app_pool: asyncpg.Pool
) -> None:
    _, karin, _, front = await _team(client, app_pool)
    ref = await _accepted_family_email(client, karin, front)
    await client.post("/api/desk/state", json={"state": "away"}, headers=karin)
    await client.post(f"/api/desk/contacts/{ref}/finish", json={"outcome": "ok"}, headers=karin)
    assert (await (await client.get("/api/desk", headers=karin)).json())["state"] == "away"

    stream = await client.get("/api/desk/events", headers=front)  # frida has no profile
    assert stream.status == 404
    assert (await stream.json())["error"]["code"] == "no_agent_profile"
