"""Closing for an afternoon without a restart (issue 18), with two daemons on one PostgreSQL,
each with its own loaded configuration: a closure a supervisor adds on one is honoured by the
other within a second (the kiosk refuses tickets and says when it opens, callback windows skip
the closed time, the hotline answers closed), cancelling it reopens both, bad input is refused
and stores nothing, and each change is in the audit log."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from contactd.app import create_app
from contactd.clock import FixedClock
from contactd.http.appkeys import POOL
from contactd.store.staff import Role
from tests.conftest import WORKDAY, token_for
from tests.integration.test_phone_voice import _call, _said, _settings, post

Client = TestClient[web.Request, web.Application]
AFTERNOON = (WORKDAY.replace(hour=10), WORKDAY.replace(hour=12))  # Tuesday, 10:00-12:00


@pytest.fixture
async def two(db_url: str) -> AsyncIterator[tuple[Client, Client]]:
    """Two instances at Tuesday 10:00, each with its own calendars (loaded apart)."""
    clock = FixedClock(WORKDAY)
    async with (
        TestClient(TestServer(create_app(_settings(db_url), clock=clock))) as one,
        TestClient(TestServer(create_app(_settings(db_url), clock=clock))) as other,
    ):
        yield one, other


async def _within_a_second(check: Callable[[], Awaitable[bool]]) -> None:
    deadline = asyncio.get_running_loop().time() + 1
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "not honoured within a second"
        await asyncio.sleep(0.02)


async def _ticket(client: Client, front: dict[str, str]) -> tuple[int, Any]:
    response = await client.post("/api/tickets", json={"case_type": "family"}, headers=front)
    return response.status, await response.json()


async def _close(client: Client, who: dict[str, str], calendar: str, **body: Any) -> Any:
    start, end = AFTERNOON
    body = {"starts_at": start.isoformat(), "ends_at": end.isoformat(), "reason": "Møde"} | body
    return await client.post(f"/api/calendars/{calendar}/closures", json=body, headers=who)


async def test_a_closed_afternoon_is_honoured_by_every_instance_at_once(
    two: tuple[Client, Client],
) -> None:
    one, other = two
    pool: asyncpg.Pool = one.app[POOL]
    sofie = await token_for(pool, "sofie", Role.SUPERVISOR)
    front = await token_for(pool, "frida", Role.FRONTDESK)
    assert (await _ticket(other, front))[0] == 201  # open before

    added = await _close(one, sofie, "service_centre", reason="Personalemøde")
    assert added.status == 201
    closure = await added.json()

    async def kiosk_closed() -> bool:
        status, body = await _ticket(other, front)
        return status == 409 and body["error"]["code"] == "kiosk_closed"

    await _within_a_second(kiosk_closed)
    _, refused = await _ticket(other, front)
    [details] = refused["error"]["details"]
    assert datetime.fromisoformat(details["opens_at"]) == AFTERNOON[1]

    assert (await _close(one, sofie, "phone")).status == 201

    async def windows_skip_it() -> bool:
        offered = await (await other.get("/api/callbacks")).json()
        starts = [datetime.fromisoformat(w["start"]) for w in offered["windows"]]
        return all(not (AFTERNOON[0] <= s < AFTERNOON[1]) for s in starts)

    await _within_a_second(windows_skip_it)
    offered = await (await other.get("/api/callbacks")).json()
    assert {w["id"][-6:] for w in offered["windows"]} == {"+01:00"}  # the agency's time, still
    _, said = await post(other, "/twilio/voice", _call())
    assert "Telefonen er lukket nu. Vi åbner igen i dag klokken 12.00." in _said(said)

    listed = await (await other.get("/api/calendars", headers=front)).json()
    centre = next(c for c in listed["calendars"] if c["name"] == "service_centre")
    assert [(c["reason"], c["created_by"]) for c in centre["closures"]] == [
        ("Personalemøde", "sofie")
    ]
    assert centre["hours"]["tue"] == [["08:00", "14:00"]]

    cancelled = await other.delete(
        f"/api/calendars/service_centre/closures/{closure['id']}", headers=sofie
    )
    assert cancelled.status == 200

    async def kiosk_open() -> bool:
        return (await _ticket(one, front))[0] == 201

    await _within_a_second(kiosk_open)
    rows = await pool.fetch("SELECT actor, action, target FROM audit_log WHERE actor = 'sofie'")
    assert [(r["action"], r["target"]) for r in rows] == [
        ("calendar.closed", "service_centre"),
        ("calendar.closed", "phone"),
        ("calendar.reopened", "service_centre"),
    ]


async def test_bad_closures_are_refused_clearly_and_store_nothing(
    two: tuple[Client, Client],
) -> None:
    one, _ = two
    pool: asyncpg.Pool = one.app[POOL]
    sofie = await token_for(pool, "sofie", Role.SUPERVISOR)
    karin = await token_for(pool, "karin", Role.AGENT)
    start = AFTERNOON[0]
    cases = [
        ("service_centre", {"ends_at": start.isoformat()}, 422, "bad_closure"),
        ("service_centre", {"starts_at": (start - timedelta(days=2)).isoformat(),
                            "ends_at": (start - timedelta(days=1)).isoformat()}, 422,
         "bad_closure"),
        ("service_centre", {"ends_at": (start + timedelta(days=400)).isoformat()}, 422,
         "bad_closure"),
        # Short, but ending more than 366 days ahead: two of them in a row would leave the
        # calendar with no opening within the year that due dates are looked for in.
        ("service_centre", {"starts_at": (start + timedelta(days=300)).isoformat(),
                            "ends_at": (start + timedelta(days=367)).isoformat()}, 422,
         "bad_closure"),
        ("service_centre", {"starts_at": "2026-12-01T10:00:00"}, 422, "invalid_body"),
        ("service_centre", {"reason": "x" * 201}, 422, "invalid_body"),
        ("moon", {}, 404, "not_found"),
    ]  # fmt: skip
    for calendar, body, status, code in cases:
        refused = await _close(one, sofie, calendar, **body)
        assert (refused.status, (await refused.json())["error"]["code"]) == (status, code), body
    assert (await _close(one, karin, "service_centre")).status == 403
    gone = await one.delete("/api/calendars/service_centre/closures/99", headers=sofie)
    assert (gone.status, (await gone.json())["error"]["code"]) == (404, "not_found")
    assert await pool.fetchval("SELECT count(*) FROM calendar_closures") == 0
