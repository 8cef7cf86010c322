"""Staff sessions (issue 18) over HTTP against the real daemon and PostgreSQL, on a FixedClock:
a personal token exchanged once for a cookie with the right flags, CSRF refused without the
session's token, idle and absolute expiry, sign-out here and everywhere, administrators ending
sessions, failed sign-ins limited per account (all instances) and per address, tokens that
expire, and an audit entry for each of these."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from http.cookies import SimpleCookie
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from contactd.app import create_app
from contactd.clock import FixedClock
from contactd.http.appkeys import POOL
from contactd.settings import Settings
from contactd.store import staff
from contactd.store.staff import Role
from tests.conftest import WORKDAY, token_for

Client = TestClient[web.Request, web.Application]
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def fixed() -> FixedClock:
    return FixedClock(WORKDAY)


@pytest.fixture
async def daemon(config: Settings, fixed: FixedClock) -> AsyncIterator[Client]:
    async with TestClient(TestServer(create_app(config, clock=fixed))) as client:
        yield client


async def _person(client: Client, login: str, role: Role = Role.AGENT) -> str:
    """A person with a personal token, as an operator makes one."""
    _, token = await staff.add(
        client.app[POOL], login=login, name=login.title(), role=role, now=WORKDAY
    )
    return token


async def _sign_in(client: Client, login: str, token: str, **headers: str) -> Any:
    return await client.post(
        "/api/session", json={"login": login, "token": token}, headers={**JSON, **headers}
    )


async def _signed_in(client: Client, login: str, token: str) -> dict[str, str]:
    """Signed in: the CSRF header for changes (the cookie is in the client's jar)."""
    response = await _sign_in(client, login, token)
    assert response.status == 201, await response.text()
    return {"X-CSRF-Token": (await response.json())["csrf"]}


async def _audit(pool: asyncpg.Pool) -> list[tuple[str, str, str | None]]:
    rows = await pool.fetch("SELECT actor, action, target FROM audit_log ORDER BY id")
    return [(r["actor"], r["action"], r["target"]) for r in rows]


async def test_a_token_is_exchanged_for_an_http_only_same_site_cookie(daemon: Client) -> None:
    token = await _person(daemon, "karin")
    response = await _sign_in(daemon, "karin", token)
    assert response.status == 201
    body = await response.json()
    assert (body["login"], body["role"], body["via"]) == ("karin", "agent", "token")
    assert datetime.fromisoformat(body["expires_at"]) == WORKDAY + timedelta(hours=12)
    cookie = SimpleCookie(response.headers["Set-Cookie"])["contactd_session"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == "/"
    assert cookie["max-age"] == str(12 * 3600)
    assert not cookie["secure"]  # plain HTTP here; behind HTTPS see the next test
    assert token not in response.headers["Set-Cookie"]
    me = await daemon.get("/api/session")  # the cookie alone signs in
    assert (await me.json())["login"] == "karin"
    assert (await daemon.get("/api/desk")).status in (200, 404)  # signed in (404: no profile)


async def test_behind_https_the_cookie_is_secure_and_kept_to_the_host(
    config: Settings, fixed: FixedClock
) -> None:
    secure = dataclasses.replace(config, public_url="https://kontakt.example.dk")
    async with TestClient(TestServer(create_app(secure, clock=fixed))) as client:
        token = await _person(client, "karin")
        origin = {"Origin": "https://kontakt.example.dk"}
        response = await _sign_in(client, "karin", token, **origin)
        assert response.status == 201, await response.text()
        cookie = SimpleCookie(response.headers["Set-Cookie"])["__Host-contactd_session"]
        assert (cookie["secure"], cookie["httponly"], cookie["path"]) == (True, True, "/")
        assert "Domain" not in response.headers["Set-Cookie"]


async def test_a_change_without_the_sessions_csrf_token_is_refused(daemon: Client) -> None:
    token = await _person(daemon, "karin")
    csrf = await _signed_in(daemon, "karin", token)
    body = {"state": "available"}
    refused = await daemon.post("/api/desk/state", json=body)
    assert refused.status == 403
    assert (await refused.json())["error"]["code"] == "csrf_failed"
    forged = await daemon.post("/api/desk/state", json=body, headers={"X-CSRF-Token": "x" * 43})
    assert forged.status == 403
    # With it: past the check (404: Karin has no agent profile yet).
    allowed = await daemon.post("/api/desk/state", json=body, headers=csrf)
    assert (await allowed.json())["error"]["code"] == "no_agent_profile"
    # Reading needs none.
    assert (await daemon.get("/api/session")).status == 200


async def test_a_session_ends_after_idle_time_and_at_its_absolute_end(
    daemon: Client, fixed: FixedClock
) -> None:
    token = await _person(daemon, "karin")
    await _signed_in(daemon, "karin", token)
    for _ in range(23):  # busy all day: a request every 30 minutes keeps it alive ...
        fixed.advance(minutes=30)
        assert (await daemon.get("/api/session")).status == 200
    fixed.advance(minutes=30)  # ... until 12 hours after sign-in
    ended = await daemon.get("/api/session")
    assert ended.status == 401
    assert (await ended.json())["error"]["message"] == "your session has ended: sign in again"

    await _signed_in(daemon, "karin", token)
    fixed.advance(minutes=59)
    assert (await daemon.get("/api/session")).status == 200
    fixed.advance(minutes=60, seconds=1)  # an hour without a request
    assert (await daemon.get("/api/session")).status == 401


async def test_signing_out_here_and_everywhere(
    config: Settings, fixed: FixedClock, daemon: Client
) -> None:
    token = await _person(daemon, "karin")
    async with TestClient(TestServer(create_app(config, clock=fixed))) as laptop:
        csrf = await _signed_in(daemon, "karin", token)
        await _signed_in(laptop, "karin", token)
        # Signing out needs the CSRF token too: another site cannot sign one out.
        assert (await daemon.delete("/api/session")).status == 403
        out = await daemon.delete("/api/session", headers=csrf)
        assert (await out.json()) == {"ended": 1}
        assert 'contactd_session=""' in out.headers["Set-Cookie"]
        assert (await daemon.get("/api/session")).status == 401
        assert (await laptop.get("/api/session")).status == 200  # the other goes on

        csrf = await _signed_in(daemon, "karin", token)
        everywhere = await daemon.post("/api/session/everywhere", headers=csrf)
        assert (await everywhere.json()) == {"ended": 2}
        assert (await daemon.get("/api/session")).status == 401
        assert (await laptop.get("/api/session")).status == 401


async def test_an_admin_sees_and_ends_sessions_and_disabling_ends_them(
    daemon: Client, config: Settings, fixed: FixedClock
) -> None:
    admin = await token_for(daemon.app[POOL], "ada", Role.ADMIN)
    karin, jens = await _person(daemon, "karin"), await _person(daemon, "jens")
    async with TestClient(TestServer(create_app(config, clock=fixed))) as other:
        await _signed_in(daemon, "karin", karin)
        await _signed_in(other, "jens", jens)
        listed = await (await daemon.get("/api/sessions", headers=admin)).json()
        assert {(s["login"], s["via"]) for s in listed["sessions"]} == {
            ("karin", "token"),
            ("jens", "token"),
        }
        assert all("csrf" not in s and "key" not in s for s in listed["sessions"])
        karins = next(s["id"] for s in listed["sessions"] if s["login"] == "karin")
        assert (await daemon.delete(f"/api/sessions/{karins}", headers=admin)).status == 200
        assert (await daemon.get("/api/session")).status == 401
        assert (await daemon.delete(f"/api/sessions/{karins}", headers=admin)).status == 404
        # An agent may not list them.
        assert (await other.get("/api/sessions")).status == 403

        assert (await daemon.post("/api/staff/jens/disable", headers=admin)).status == 200
        assert (await other.get("/api/session")).status == 401
    assert ("ada", "session.ended", None) in await _audit(daemon.app[POOL])
    assert ("ada", "staff.disabled", "jens") in await _audit(daemon.app[POOL])


async def test_failed_sign_ins_lock_the_account_for_a_while_whatever_the_address(
    config: Settings, fixed: FixedClock, daemon: Client
) -> None:
    token = await _person(daemon, "karin")
    async with TestClient(TestServer(create_app(config, clock=fixed))) as elsewhere:
        for n in range(10):  # from two instances (and addresses), counted together
            tried = await _sign_in(daemon if n % 2 else elsewhere, "karin", f"cdt_wrong{n}")
            assert tried.status == 401
            assert (await tried.json())["error"]["code"] == "sign_in_failed"
        locked = await _sign_in(daemon, "karin", token)  # the right token, too late
        assert locked.status == 429
        assert (await locked.json())["error"]["code"] == "too_many_failures"
        assert locked.headers["Retry-After"] == str(15 * 60)
        # Other accounts are not touched.
        jens = await _person(daemon, "jens")
        assert (await _sign_in(elsewhere, "jens", jens)).status == 201
        fixed.advance(minutes=15)  # the window has passed
        assert (await _sign_in(daemon, "karin", token)).status == 201
    failures = [e for e in await _audit(daemon.app[POOL]) if e[1] == "sign_in.failed"]
    assert failures == [("system", "sign_in.failed", "karin")] * 10


async def test_one_address_trying_many_accounts_is_made_to_wait(daemon: Client) -> None:
    for n in range(20):
        assert (await _sign_in(daemon, f"user{n}", "cdt_guess")).status == 401
    refused = await _sign_in(daemon, "user99", "cdt_guess")
    assert refused.status == 429
    assert (await refused.json())["error"]["message"] == "too many failed sign-ins from here; wait"


async def test_the_wrong_login_for_a_good_token_is_the_same_failure(daemon: Client) -> None:
    token = await _person(daemon, "karin")
    await _person(daemon, "jens")
    wrong = await _sign_in(daemon, "jens", token)
    unknown = await _sign_in(daemon, "nobody", token)
    assert (await wrong.json()) == (await unknown.json())
    assert (await wrong.json())["error"]["code"] == "sign_in_failed"


async def test_signing_in_is_a_public_door_other_sites_cannot_use(daemon: Client) -> None:
    token = await _person(daemon, "karin")
    form = await daemon.post(
        "/api/session",
        data=f'{{"login": "karin", "token": "{token}"}}',
        headers={"Content-Type": "text/plain"},
    )
    assert form.status == 415
    cross = await _sign_in(daemon, "karin", token, Origin="https://evil.example")
    assert cross.status == 403
    assert (await cross.json())["error"]["code"] == "cross_site"
    assert "Set-Cookie" not in cross.headers


async def test_tokens_issued_by_an_admin_expire_and_can_be_revoked(
    daemon: Client, fixed: FixedClock
) -> None:
    admin = await token_for(daemon.app[POOL], "ada", Role.ADMIN)
    added = await daemon.post(
        "/api/staff", json={"login": "karin", "name": "Karin", "role": "agent"}, headers=admin
    )
    body = await added.json()
    assert datetime.fromisoformat(body["token_expires_at"]) == WORKDAY + timedelta(days=90)
    karin = {"Authorization": f"Bearer {body['token']}"}
    fixed.advance(days=89)
    assert (await daemon.get("/api/session", headers=karin)).status == 200
    fixed.advance(days=1)
    expired = await daemon.get("/api/session", headers=karin)
    assert expired.status == 401
    assert "has expired" in (await expired.json())["error"]["message"]

    rotated = await (await daemon.post("/api/staff/karin/token", headers=admin)).json()
    karin = {"Authorization": f"Bearer {rotated['token']}"}
    assert (await daemon.get("/api/session", headers=karin)).status == 200
    revoked = await daemon.delete("/api/staff/karin/token", headers=admin)
    assert revoked.status == 200
    assert (await daemon.get("/api/session", headers=karin)).status == 401
    assert [e for e in await _audit(daemon.app[POOL]) if e[0] == "ada"] == [
        ("ada", "staff.added", "karin"),
        ("ada", "staff.token_issued", "karin"),
        ("ada", "staff.token_revoked", "karin"),
    ]


async def test_an_admin_changes_roles_but_not_their_own(daemon: Client) -> None:
    admin = await token_for(daemon.app[POOL], "ada", Role.ADMIN)
    await _person(daemon, "karin")
    promoted = await daemon.patch("/api/staff/karin", json={"role": "supervisor"}, headers=admin)
    assert (await promoted.json())["role"] == "supervisor"
    own = await daemon.patch("/api/staff/ada", json={"role": "agent"}, headers=admin)
    assert own.status == 409
    assert (await own.json())["error"]["code"] == "own_role"
    rows = await daemon.app[POOL].fetch(
        "SELECT details FROM audit_log WHERE action = 'staff.changed'"
    )
    assert [r["details"] for r in rows] == [{"role": ["agent", "supervisor"]}]


async def test_a_desk_stream_ends_when_its_session_is_signed_out(daemon: Client) -> None:
    supervisor = await token_for(daemon.app[POOL], "sofie", Role.SUPERVISOR)
    token = await _person(daemon, "karin")
    profile = {"skills": {"family": 4}, "languages": ["da"]}
    assert (await daemon.put("/api/agents/karin", json=profile, headers=supervisor)).ok
    csrf = await _signed_in(daemon, "karin", token)
    stream = await daemon.get("/api/desk/events")  # the cookie, as the page's fetch sends it
    assert stream.status == 200
    first = await asyncio.wait_for(stream.content.readline(), 5)
    assert first.startswith(b"event: desk")
    assert (await daemon.delete("/api/session", headers=csrf)).status == 200
    # Ended at once on the notification, not at the stream's 15 s poll.
    assert b"event: desk" not in await asyncio.wait_for(stream.content.read(), 5)
    assert (await daemon.get("/api/desk/events")).status == 401
