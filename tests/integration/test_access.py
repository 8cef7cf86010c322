"""Access (issue 17). Personal data by need: a contact's client address, subject and words go
to its holder while they hold it and to supervisors; other caseworkers and the front desk get
the contact without them, as does whoever repeats a known external id; finishing ends the
holder's access. Staff-typed addresses checked per channel. Sign-in: guessing tokens is
throttled, a token is rotated apart from re-enabling its owner, an agent's desk streams share
one snapshot per change and a token holds a capped number of them. Over HTTP against the real
daemon, with real tokens for each role."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import asyncpg
import pytest
import structlog
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient
from structlog.testing import capture_logs

from contactd.http.appkeys import LISTENER
from contactd.store import staff
from contactd.store.staff import Role
from tests.conftest import WORKDAY, token_for
from tests.integration.test_desk import PROFILE, _desk_when

Client = TestClient[web.Request, web.Application]
PERSONAL = {"client_address": "anna@example.dk", "subject": "Visum", "text": "Min søster."}
HIDDEN = {"client_address": None, "subject": None, "text": None}


async def _personal(client: Client, ref: str, auth: dict[str, str]) -> dict[str, object]:
    response = await client.get(f"/api/contacts/{ref}", headers=auth)
    assert response.status == 200, await response.text()
    body = await response.json()
    return {key: body[key] for key in PERSONAL}


async def test_only_the_holder_while_holding_it_and_supervisors_read_a_clients_data(
    client: Client, app_pool: asyncpg.Pool
) -> None:
    supervisor = await token_for(app_pool, "sofie", Role.SUPERVISOR)
    karin = await token_for(app_pool, "karin", Role.AGENT)
    jens = await token_for(app_pool, "jens", Role.AGENT)
    front = await token_for(app_pool, "frida", Role.FRONTDESK)
    await client.put("/api/agents/karin", json=PROFILE, headers=supervisor)
    body = {"channel": "email", "case_type": "family", "external_id": "<anna-9@example.dk>"}
    created = await client.post("/api/contacts", json={**body, **PERSONAL}, headers=front)
    assert created.status == 201
    ref = (await created.json())["reference"]

    # Before anyone holds it: only supervisors.
    assert await _personal(client, ref, supervisor) == PERSONAL
    assert await _personal(client, ref, jens) == HIDDEN
    assert await _personal(client, ref, front) == HIDDEN
    withheld = await (await client.get(f"/api/contacts/{ref}", headers=jens)).json()
    assert withheld["withheld"] == ["client_address", "subject", "text"]
    # Knowing the external id does not open it either.
    again = await client.post("/api/contacts", json=body, headers=jens)
    assert again.status == 200
    assert {key: (await again.json())[key] for key in PERSONAL} == HIDDEN

    # Offered to Karin and taken: hers to read, still no one else's.
    await client.post("/api/desk/state", json={"state": "available"}, headers=karin)
    await _desk_when(client, karin, lambda d: d["contacts"])
    assert await _personal(client, ref, karin) == PERSONAL
    await client.post(f"/api/desk/contacts/{ref}/accept", headers=karin)
    assert await _personal(client, ref, karin) == PERSONAL
    assert await _personal(client, ref, jens) == HIDDEN

    # Finished: no longer hers to read, though she handled it; not in the answer either.
    finished = await client.post(
        f"/api/desk/contacts/{ref}/finish", json={"outcome": "answered"}, headers=karin
    )
    assert finished.status == 200
    assert {key: (await finished.json())[key] for key in PERSONAL} == HIDDEN
    assert await _personal(client, ref, karin) == HIDDEN
    assert await _personal(client, ref, supervisor) == PERSONAL


async def test_staff_typed_addresses_are_checked_for_their_channel(
    client: Client, app_pool: asyncpg.Pool
) -> None:
    front = await token_for(app_pool, "frida", Role.FRONTDESK)

    async def register(channel: str, address: str) -> tuple[int, dict[str, Any]]:
        body = {"channel": channel, "case_type": "family", "client_address": address}
        response = await client.post("/api/contacts", json=body, headers=front)
        return response.status, await response.json()

    status, phone = await register("callback", "20 12 34 56")
    assert (status, phone["client_address"]) == (201, "+4520123456")  # stored as E.164
    status, mail = await register("email", "Anna@Example.dk")
    assert (status, mail["client_address"]) == (201, "Anna@Example.dk")
    for channel, address in [
        ("callback", "+44 7911 123456"),  # abroad: not called back
        ("ticket", "12"),
        ("email", "anna@example.dk, bo@example.dk"),  # a list: one answer, one address
        ("email", "Anna <anna@example.dk>"),
        ("email", "anna@example.dk\r\nBcc: all@example.dk"),
        ("email", "not an address"),
    ]:
        status, refused = await register(channel, address)
        assert (status, refused["error"]["code"]) == (422, "bad_client_address"), address
    assert await app_pool.fetchval("SELECT count(*) FROM contacts") == 2


async def test_an_address_guessing_tokens_is_made_to_wait(
    client: Client, app_pool: asyncpg.Pool
) -> None:
    karin = await token_for(app_pool, "karin", Role.AGENT)
    statuses = []
    for n in range(21):
        guess = {"Authorization": f"Bearer cdt_guess{n:04d}"}
        statuses.append((await client.get("/api/me", headers=guess)).status)
    assert statuses == [401] * 20 + [429]
    waiting = await client.get("/api/me", headers={"Authorization": "Bearer cdt_more"})
    assert waiting.status == 429
    assert waiting.headers["Retry-After"] == "300"
    assert (await waiting.json())["error"]["code"] == "too_many_failures"
    # A good token from the same address still passes: behind a proxy every client may share
    # one address, and a stranger's guesses must not lock the staff out.
    assert (await client.get("/api/me", headers=karin)).status == 200


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _issued(response: ClientResponse) -> dict[str, str]:
    """The new token of a rotation or re-enabling, as headers."""
    assert response.status == 200, await response.text()
    return _bearer((await response.json())["token"])


async def _status(client: Client, auth: dict[str, str]) -> int:
    return (await client.get("/api/me", headers=auth)).status


async def test_a_rotated_token_stops_working_and_the_new_one_works(
    client: Client, app_pool: asyncpg.Pool
) -> None:
    supervisor = await token_for(app_pool, "sofie", Role.SUPERVISOR)
    karin = await token_for(app_pool, "karin", Role.AGENT)
    response = await client.post("/api/staff/karin/token", headers=supervisor)
    new = await _issued(response)
    assert (await response.json())["disabled"] is False
    assert (await _status(client, karin), await _status(client, new)) == (401, 200)


async def test_a_new_token_does_not_re_enable_a_disabled_person(
    client: Client, app_pool: asyncpg.Pool
) -> None:
    admin = await token_for(app_pool, "root", Role.ADMIN)
    await token_for(app_pool, "karin", Role.AGENT)
    assert (await client.post("/api/staff/karin/disable", headers=admin)).status == 200
    # `contactd staff token` (the store's replace_token) re-enabled her: it is refused now.
    with pytest.raises(staff.StaffError) as cli:
        await staff.replace_token(app_pool, "karin", now=WORKDAY)
    assert cli.value.code == "staff_disabled"
    refused = await client.post("/api/staff/karin/token", headers=admin)
    assert (refused.status, (await refused.json())["error"]["code"]) == (409, "staff_disabled")
    listed = await (await client.get("/api/staff", headers=admin)).json()
    assert [p["disabled"] for p in listed["staff"] if p["login"] == "karin"] == [True]


async def test_re_enabling_issues_a_new_token_and_the_old_one_stays_dead(
    client: Client, app_pool: asyncpg.Pool
) -> None:
    admin = await token_for(app_pool, "root", Role.ADMIN)
    karin = await token_for(app_pool, "karin", Role.AGENT)
    await client.post("/api/staff/karin/disable", headers=admin)
    enabled = await client.post("/api/staff/karin/enable", headers=admin)
    new = await _issued(enabled)
    assert (await enabled.json())["disabled"] is False
    assert (await _status(client, karin), await _status(client, new)) == (401, 200)
    again = await client.post("/api/staff/karin/enable", headers=admin)
    assert (again.status, (await again.json())["error"]["code"]) == (409, "staff_not_disabled")
    assert await _status(client, new) == 200  # left as it was


async def test_a_supervisor_issues_tokens_only_to_agents_front_desk_and_themselves(
    client: Client, app_pool: asyncpg.Pool
) -> None:
    sofie = await token_for(app_pool, "sofie", Role.SUPERVISOR)
    for login, role in [("bo", Role.SUPERVISOR), ("root", Role.ADMIN), ("frida", Role.FRONTDESK)]:
        await token_for(app_pool, login, role)
    answers = {}
    for login in ("bo", "root", "frida", "sofie", "nobody"):
        response = await client.post(f"/api/staff/{login}/token", headers=sofie)
        answers[login] = (response.status, (await response.json()).get("error", {}).get("code"))
        if login == "sofie":
            sofie = await _issued(response)
    assert answers == {
        "bo": (403, "forbidden"),
        "root": (403, "forbidden"),
        "frida": (200, None),
        "sofie": (200, None),
        "nobody": (404, "not_found"),
    }
    agent = await token_for(app_pool, "karin", Role.AGENT)
    refused = await client.post("/api/staff/frida/token", headers=agent)
    assert refused.status == 403
    enable = await client.post("/api/staff/frida/enable", headers=sofie)  # admins only
    assert enable.status == 403


async def _event(response: ClientResponse) -> dict[str, Any]:
    """The next desk event of a stream (keep-alives skipped)."""
    while True:
        data = await asyncio.wait_for(response.content.readuntil(b"\n\n"), 5)
        for line in data.decode().splitlines():
            if line.startswith("data: "):
                return json.loads(line.removeprefix("data: "))  # type: ignore[no-any-return]


async def _snapshots(client: Client) -> float:
    text = await (await client.get("/metrics")).text()
    found = re.search(r"^contactd_desk_snapshots_total (\S+)$", text, re.MULTILINE)
    assert found, "contactd_desk_snapshots_total is not exported"
    return float(found[1])


async def test_an_agents_desk_streams_share_one_snapshot_per_change(
    client: Client, app_pool: asyncpg.Pool
) -> None:
    supervisor = await token_for(app_pool, "sofie", Role.SUPERVISOR)
    karin = await token_for(app_pool, "karin", Role.AGENT)
    await client.put("/api/agents/karin", json=PROFILE, headers=supervisor)
    # Once it listens: its first connection wakes every stream, which is no change of hers.
    await asyncio.wait_for(client.app[LISTENER].connected.wait(), 10)
    streams = [await client.get("/api/desk/events", headers=karin)]
    assert (await _event(streams[0]))["state"] == "offline"
    before = await _snapshots(client)
    streams += [await client.get("/api/desk/events", headers=karin) for _ in range(2)]
    assert [(await _event(s))["state"] for s in streams[1:]] == ["offline", "offline"]
    assert await _snapshots(client) == before  # a second and third tab cost no query

    await client.post("/api/desk/state", json={"state": "away"}, headers=karin)
    assert [(await _event(s))["state"] for s in streams] == ["away"] * 3
    assert 1 <= await _snapshots(client) - before < 3  # once for all three
    for stream in streams:
        stream.close()


async def test_a_token_holds_at_most_four_desk_streams(
    client: Client, app_pool: asyncpg.Pool
) -> None:
    supervisor = await token_for(app_pool, "sofie", Role.SUPERVISOR)
    karin = await token_for(app_pool, "karin", Role.AGENT)
    await client.put("/api/agents/karin", json=PROFILE, headers=supervisor)
    streams = [await client.get("/api/desk/events", headers=karin) for _ in range(4)]
    assert [s.status for s in streams] == [200] * 4
    fifth = await client.get("/api/desk/events", headers=karin)
    assert fifth.status == 429, "a fifth stream opened"
    assert (await fifth.json())["error"]["code"] == "too_many_streams"
    # A tab closed frees its place at once, not at its next keep-alive.
    streams.pop().close()
    for _ in range(100):
        again = await client.get("/api/desk/events", headers=karin)
        if again.status == 200:
            break
        await asyncio.sleep(0.05)
    assert again.status == 200
    for stream in [*streams, again]:
        stream.close()


async def test_a_desk_stream_ends_when_its_token_is_rotated_or_its_owner_disabled(
    client: Client, app_pool: asyncpg.Pool
) -> None:
    supervisor = await token_for(app_pool, "sofie", Role.SUPERVISOR)
    admin = await token_for(app_pool, "root", Role.ADMIN)
    karin = await token_for(app_pool, "karin", Role.AGENT)
    await client.put("/api/agents/karin", json=PROFILE, headers=supervisor)
    stream = await client.get("/api/desk/events", headers=karin)
    await _event(stream)
    new = await _issued(await client.post("/api/staff/karin/token", headers=supervisor))
    # Ended at once (the stream's own poll would come after 15 s).
    assert await asyncio.wait_for(stream.content.read(), 5) == b""
    renewed = await client.get("/api/desk/events", headers=new)
    assert (await _event(renewed))["login"] == "karin"
    await client.post("/api/staff/karin/disable", headers=admin)
    assert await asyncio.wait_for(renewed.content.read(), 5) == b""


async def test_a_requests_log_lines_name_its_route_not_its_path(
    client: Client, app_pool: asyncpg.Pool
) -> None:
    admin = await token_for(app_pool, "root", Role.ADMIN)
    await token_for(app_pool, "karin", Role.AGENT)
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        response = await client.post("/api/staff/karin/token", headers=admin)
        token = (await response.json())["token"]
    [rotated] = [e for e in logs if e["event"] == "staff.token_rotated"]
    assert rotated["route"] == "/api/staff/{login}/token"
    assert (rotated["login"], rotated["by"]) == ("karin", "root")
    assert token not in repr(logs)
