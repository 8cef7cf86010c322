"""The what-if lab in the supervisors' console over HTTP (issue 21): a supervisor plays the
shipped day with policies side by side and gets each goal's service level with its interval,
the CSV and the chart; today's agent profiles as the staffing; one what-if at a time; every
bad ask refused with a reason, and nobody but supervisors may ask."""

from __future__ import annotations

import asyncio
import base64
import csv
import io

import asyncpg
from aiohttp import web
from aiohttp.test_utils import TestClient

from contactd.http.whatif import LAB
from contactd.store.staff import Role
from tests.conftest import token_for
from tests.integration.test_desk import _team

Client = TestClient[web.Request, web.Application]
SHIPPED = {"policies": ["contactd", "fifo"], "seeds": 2}


async def test_a_supervisor_plays_the_shipped_day_with_two_policies(
    client: Client, app_pool: asyncpg.Pool
) -> None:
    supervisor = await token_for(app_pool, "sofie", Role.SUPERVISOR)

    response = await client.post("/api/whatif", json=SHIPPED, headers=supervisor)

    assert response.status == 200, await response.text()
    played = await response.json()
    # The clock's day (Tuesday 1 December 2026), the day file's 40 agents, the shipped day.
    assert played["days"] == ["2026-12-01"]
    assert (played["seeds"], played["staffing"], played["notes"]) == (2, "day_file", [])
    assert sum(played["agents"].values()) == 40
    assert round(played["offered_per_day"]["call"], -2) == 1200
    assert [p["name"] for p in played["policies"]] == ["contactd", "fifo"]
    for policy in played["policies"]:
        measured = [r for r in policy["rows"] if r["met"] is not None]
        assert policy["goals"] == len(measured) > 0
        assert policy["met"] == sum(1 for r in measured if r["met"])
        for r in measured:
            sl = r["service_level"]
            assert 0 <= sl["low"] <= sl["mean"] <= sl["high"] <= 1
            assert r["met"] == (sl["mean"] >= r["target"])
    family = next(r for r in played["policies"][0]["rows"] if r["queue"] == "family")
    assert family["queue_names"] == {"da": "Familiesammenføring", "en": "Family reunification"}

    rows = list(csv.reader(io.StringIO(played["csv"])))
    assert rows[0][:3] == ["staffing", "policy", "queue"]
    assert {r[1] for r in rows[1:]} == {"contactd", "fifo"}
    assert len(rows) == 1 + sum(len(p["rows"]) for p in played["policies"])
    assert base64.b64decode(played["png"]).startswith(b"\x89PNG\r\n\x1a\n")


async def test_todays_agent_profiles_are_the_staffing(
    client: Client, app_pool: asyncpg.Pool
) -> None:
    supervisor, *_ = await _team(client, app_pool)  # karin and jens: e-mail and phone

    response = await client.post(
        "/api/whatif",
        json={"policies": ["contactd"], "seeds": 1, "staffing": "profiles", "scale": 0.05},
        headers=supervisor,
    )

    assert response.status == 200, await response.text()
    played = await response.json()
    assert played["staffing"] == "profiles"
    assert sum(played["agents"].values()) == 2


async def test_one_what_if_at_a_time(client: Client, app_pool: asyncpg.Pool) -> None:
    supervisor = await token_for(app_pool, "sofie", Role.SUPERVISOR)
    first = asyncio.create_task(client.post("/api/whatif", json=SHIPPED, headers=supervisor))
    lab = client.app[LAB]
    async with asyncio.timeout(10):
        while not lab.busy:  # noqa: ASYNC110 - the lab has no event to wait on
            await asyncio.sleep(0.01)

    second = await client.post("/api/whatif", json=SHIPPED, headers=supervisor)

    assert second.status == 409
    assert (await second.json())["error"]["code"] == "whatif_busy"
    assert second.headers["Retry-After"] == "20"
    assert (await first).status == 200
    assert not lab.busy  # and the next may play


async def test_a_bad_ask_is_refused_with_its_reason(client: Client, app_pool: asyncpg.Pool) -> None:
    supervisor = await token_for(app_pool, "sofie", Role.SUPERVISOR)
    invalid = {
        "days": {"days": 6},
        "seeds": {"seeds": 0},
        "policies": {"policies": ["contactd", "contactd"]},
        "history": {"history": {"first": "2026-11-23", "last": "2026-11-20"}},
        "scale": {"scale": -1},
        "staffing": {"staffing": "everyone"},
        "nothing": {"nothing": 1},
    }
    for field, body in invalid.items():
        response = await client.post("/api/whatif", json=body, headers=supervisor)
        assert response.status == 422, field
        error = (await response.json())["error"]
        assert error["code"] == "invalid_body"
        assert error["details"][0]["field"].startswith(field), error

    refused = {
        "at most 60 at a time": {"days": 5, "seeds": 20},
        "the phone's calendar is closed every day from 2026-11-21 to 2026-11-22": {
            "history": {"first": "2026-11-21", "last": "2026-11-22"}
        },
        "no contact was created on the working days from 2026-11-02 to 2026-11-06": {
            "history": {"first": "2026-11-02", "last": "2026-11-06"}
        },
        "no agent profile has room on any channel": {"staffing": "profiles"},
    }
    for said, body in refused.items():
        response = await client.post("/api/whatif", json=body, headers=supervisor)
        assert response.status == 422, said
        error = (await response.json())["error"]
        assert (error["code"], said in error["message"]) == ("whatif_refused", True), error


async def test_only_supervisors_play(client: Client, app_pool: asyncpg.Pool) -> None:
    agent = await token_for(app_pool, "karin", Role.AGENT)
    assert (await client.post("/api/whatif", json=SHIPPED, headers=agent)).status == 403
    assert (await client.post("/api/whatif", json=SHIPPED)).status == 401
