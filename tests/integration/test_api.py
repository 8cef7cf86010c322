"""The staff HTTP API as a client sees it: status codes, JSON bodies, the error shape."""

from __future__ import annotations

import asyncpg
from aiohttp import web
from aiohttp.test_utils import TestClient

from contactd.store.staff import Role
from tests.conftest import token_for

Client = TestClient[web.Request, web.Application]


async def test_staff_register_a_contact_and_read_it_back_with_its_history(
    client: Client, app_pool: asyncpg.Pool
) -> None:
    auth = await token_for(app_pool, "frida", Role.FRONTDESK)
    response = await client.post(
        "/api/contacts",
        json={
            "channel": "ticket",
            "language": "en",
            "case_type": "residence_card",
            "subject": "Walk-in: card not received",
        },
        headers=auth,
    )
    assert response.status == 201
    created = await response.json()
    assert created["queue"] == "residence"
    assert created["state"] == "queued"
    assert created["case_type_source"] == "staff"
    assert response.headers["Location"] == f"/api/contacts/{created['reference']}"

    lowercase = created["reference"].lower().replace("-", "")
    response = await client.get(f"/api/contacts/{lowercase}", headers=auth)
    assert response.status == 200
    body = await response.json()
    assert body["reference"] == created["reference"]
    assert [e["action"] for e in body["history"]] == ["created"]
    assert body["history"][0]["actor"] == "staff:frida"


async def test_a_contact_without_case_type_goes_to_general_triage(
    client: Client, app_pool: asyncpg.Pool
) -> None:
    auth = await token_for(app_pool, "anna", Role.AGENT)
    response = await client.post(
        "/api/contacts",
        json={"channel": "email", "text": "Hej, hvornår har I åbent?"},
        headers=auth,
    )
    body = await response.json()
    assert response.status == 201
    assert (body["queue"], body["case_type"], body["case_type_source"]) == (
        "general",
        "general",
        "classifier",
    )


async def test_the_same_external_id_returns_the_first_contact(
    client: Client, app_pool: asyncpg.Pool
) -> None:
    auth = await token_for(app_pool, "anna", Role.AGENT)
    payload = {"channel": "email", "case_type": "visa", "external_id": "letter-2026-0042"}
    first = await client.post("/api/contacts", json=payload, headers=auth)
    second = await client.post("/api/contacts", json=payload, headers=auth)
    assert (first.status, second.status) == (201, 200)
    assert (await first.json())["reference"] == (await second.json())["reference"]
    assert await app_pool.fetchval("SELECT count(*) FROM contacts") == 1


async def test_a_named_queue_is_used(client: Client, app_pool: asyncpg.Pool) -> None:
    auth = await token_for(app_pool, "sofie", Role.SUPERVISOR)
    response = await client.post(
        "/api/contacts",
        json={"channel": "call", "case_type": "family", "queue": "general"},
        headers=auth,
    )
    assert response.status == 201
    assert (await response.json())["queue"] == "general"


async def _error(response: object) -> tuple[int, str, str]:
    body = await response.json()  # type: ignore[attr-defined]
    return response.status, body["error"]["code"], body["error"]["message"]  # type: ignore[attr-defined]


async def test_bad_requests_get_a_clear_error_and_store_nothing(
    client: Client, app_pool: asyncpg.Pool
) -> None:
    auth = await token_for(app_pool, "anna", Role.AGENT)
    json_headers = {**auth, "Content-Type": "application/json"}
    cases = [
        (
            client.post("/api/contacts", data=b'{"channel": "email",', headers=json_headers),
            (400, "invalid_json", "not valid JSON"),
        ),
        (
            client.post("/api/contacts", data=b"channel=email", headers=auth),
            (415, "unsupported_media_type", "JSON"),
        ),
        (
            client.post("/api/contacts", json={"channel": "fax"}, headers=auth),
            (422, "invalid_body", "channel"),
        ),
        (
            client.post(
                "/api/contacts", json={"channel": "email", "priority": "high"}, headers=auth
            ),
            (422, "invalid_body", "priority"),
        ),
        (
            client.post("/api/contacts", json={"channel": "email", "colour": "red"}, headers=auth),
            (422, "invalid_body", "colour"),
        ),
        (
            client.post("/api/contacts", json=["channel", "email"], headers=auth),
            (422, "invalid_body", "body"),
        ),
        (
            client.post(
                "/api/contacts", json={"channel": "email", "case_type": "pets"}, headers=auth
            ),
            (422, "not_accepted", "unknown case type 'pets'"),
        ),
        (
            client.post(
                "/api/contacts", json={"channel": "email", "queue": "nowhere"}, headers=auth
            ),
            (422, "not_accepted", "unknown queue 'nowhere'"),
        ),
        (
            client.post(
                "/api/contacts",
                json={"channel": "email", "text": "x" * 70_000},
                headers=auth,
            ),
            (413, "body_too_large", "too large"),
        ),
        (client.get("/api/contacts/AAAA-AAAA", headers=auth), (404, "not_found", "AAAA-AAAA")),
        (client.get("/api/contacts/not-a-ref", headers=auth), (404, "not_found", "not-a-ref")),
        (client.get("/api/nothing-here", headers=auth), (404, "not_found", "Not Found")),
        (client.delete("/api/contacts", headers=auth), (405, "method_not_allowed", "Not Allowed")),
    ]
    for request, (status, code, words) in cases:
        got_status, got_code, message = await _error(await request)
        assert (got_status, got_code) == (status, code), message
        assert words in message
    assert await app_pool.fetchval("SELECT count(*) FROM contacts") == 0


async def test_no_token_is_401_and_a_forged_one_too(client: Client) -> None:
    response = await client.get("/api/contacts/AAAA-AAAA")
    assert await _error(response) == (
        401,
        "unauthorized",
        "sign in: on the sign-in page, or with 'Authorization: Bearer <token>'",
    )
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    forged = {"Authorization": "Bearer cdt_" + "A" * 43}
    status, code, _ = await _error(await client.get("/api/me", headers=forged))
    assert (status, code) == (401, "unauthorized")


async def test_the_wrong_role_is_403(client: Client, app_pool: asyncpg.Pool) -> None:
    auth = await token_for(app_pool, "anna", Role.AGENT)
    status, code, message = await _error(await client.get("/api/staff", headers=auth))
    assert (status, code) == (403, "forbidden")
    assert "admin" in message
    assert "you are agent" in message


async def test_a_disabled_person_loses_access_at_once(
    client: Client, app_pool: asyncpg.Pool
) -> None:
    admin = await token_for(app_pool, "root", Role.ADMIN)
    agent = await token_for(app_pool, "anna", Role.AGENT)
    assert (await client.get("/api/me", headers=agent)).status == 200
    disabled = await client.post("/api/staff/anna/disable", headers=admin)
    assert disabled.status == 200
    assert (await disabled.json())["disabled"] is True
    status, code, _ = await _error(await client.get("/api/me", headers=agent))
    assert (status, code) == (401, "unauthorized")


async def test_an_admin_adds_staff_whose_token_works_once_shown(
    client: Client, app_pool: asyncpg.Pool
) -> None:
    admin = await token_for(app_pool, "root", Role.ADMIN)
    response = await client.post(
        "/api/staff", json={"login": "mads", "name": "Mads Berg", "role": "agent"}, headers=admin
    )
    assert response.status == 201
    token = (await response.json())["token"]
    me = await client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert (await me.json())["login"] == "mads"
    listed = await (await client.get("/api/staff", headers=admin)).json()
    assert "token" not in listed["staff"][0]
    again = await client.post(
        "/api/staff", json={"login": "mads", "name": "Other", "role": "agent"}, headers=admin
    )
    assert (await _error(again))[:2] == (409, "conflict")
    stored = await app_pool.fetchval("SELECT token_hash FROM staff WHERE login = 'mads'")
    assert token.encode() not in stored


async def test_health_and_ready(client: Client) -> None:
    health = await (await client.get("/health")).json()
    assert health["status"] == "ok"
    ready = await client.get("/ready")
    assert ready.status == 200
    assert (await ready.json())["status"] == "ready"
    assert ready.headers["X-Request-Id"]


async def test_a_sane_request_id_is_echoed(client: Client) -> None:
    response = await client.get("/health", headers={"X-Request-Id": "abc-123"})
    assert response.headers["X-Request-Id"] == "abc-123"


async def test_errors_made_by_the_router_carry_the_request_id_too(client: Client) -> None:
    response = await client.get("/no/such/page", headers={"X-Request-Id": "req-404"})
    assert response.status == 404
    assert response.headers["X-Request-Id"] == "req-404"


async def test_a_nul_character_is_refused_with_422_not_a_crash(
    client: Client, app_pool: asyncpg.Pool
) -> None:
    auth = await token_for(app_pool, "anna", Role.AGENT)
    response = await client.post(
        "/api/contacts", json={"channel": "email", "text": "hello\u0000world"}, headers=auth
    )
    status, code, _ = await _error(response)
    assert (status, code) == (422, "invalid_body")
    body = await response.json()
    assert body["error"]["details"] == [
        {"field": "text", "problem": "must not contain the NUL character (\\u0000)"}
    ]
    assert await app_pool.fetchval("SELECT count(*) FROM contacts") == 0


async def test_405_says_which_methods_are_allowed(client: Client) -> None:
    response = await client.delete("/health")
    assert response.status == 405
    assert "GET" in response.headers["Allow"]
