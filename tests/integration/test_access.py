"""Personal data by need (issue 17): a contact's client address, subject and words go to its
holder while they hold it and to supervisors; other caseworkers and the front desk get the
contact without them, as does whoever repeats a known external id; finishing ends the
holder's access. Over HTTP against the real daemon, with real tokens for each role."""

from __future__ import annotations

from typing import Any

import asyncpg
from aiohttp import web
from aiohttp.test_utils import TestClient

from contactd.store.staff import Role
from tests.conftest import token_for
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

    # Finished: no longer hers to read, though she handled it.
    finished = await client.post(
        f"/api/desk/contacts/{ref}/finish", json={"outcome": "answered"}, headers=karin
    )
    assert finished.status == 200
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
