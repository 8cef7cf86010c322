"""`contactd simulate` against the daemon app on a real port and PostgreSQL: what it makes
enters through the real endpoints (signed Twilio webhooks, the staff API, the kiosk, the
callback booking), and its caseworkers answer and finish contacts on the desk."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

import simulator
from contactd import settings
from contactd.app import create_app
from contactd.cli import demo, stand_ins
from contactd.clock import SimulatedClock
from contactd.http.appkeys import POOL, SETTINGS
from contactd.store.staff import Role
from tests.conftest import ROOT, WORKDAY, token_for

TOKEN = "test-auth-token-simulator"
PUBLIC = "https://contact.example.dk"
SPEED = 240

Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def daemon(db_url: str) -> AsyncIterator[Client]:
    """The daemon on the shipped configuration with the demo's overrides (its stand-ins for
    Twilio's REST API and SMTP), on a clock that starts on a working Tuesday at 10:00 and runs
    at the simulation's speed, as in the demo; Twilio's signature checked."""
    outside = stand_ins.Outside()
    async with (
        stand_ins.fake_twilio(outside) as twilio_api,
        stand_ins.smtp_sink(outside) as smtp_port,
    ):
        config = settings.load(
            ROOT / "config" / "contactd.toml",
            environ={
                "CONTACTD_DATABASE_URL": db_url,
                "CONTACTD_CLASSIFIER__ENABLED": "false",  # e-mails go to triage
                "CONTACTD_TWILIO_AUTH_TOKEN": TOKEN,
                "CONTACTD_PUBLIC_URL": PUBLIC,
                **demo.overrides(twilio_api_url=twilio_api, smtp_port=smtp_port),
            },
        )
        clock = SimulatedClock(WORKDAY, SPEED)
        async with TestClient(TestServer(create_app(config, clock=clock))) as client:
            yield client


@pytest.mark.timeout(90)
async def test_simulated_traffic_enters_through_the_endpoints_and_is_worked(
    daemon: Client,
) -> None:
    pool: asyncpg.Pool = daemon.app[POOL]
    admin = (await token_for(pool, "ada", Role.ADMIN))["Authorization"].split()[1]
    lines: list[str] = []
    sim = simulator.Simulator(
        simulator.Options(
            url=str(daemon.make_url("")),
            admin_token=admin,
            rate=10,  # per simulated minute: at 240x, 40 a second
            duration=10,
            speed=SPEED,  # a 6-minute call takes 1.5 s
            agents=10,  # 6 on the phone, 2 at counters, 2 in the inbox
            seed=7,
            twilio_token=TOKEN,
            public_url=PUBLIC,
            report_every=2,
        ),
        out=lines.append,
    )
    stats = await sim.run(stop=asyncio.Event())  # it stops after its duration

    # No request got a 5xx, and the summary says so.
    assert stats.server_errors == {}
    assert "server errors (5xx): none" in lines[-1]
    assert any("waiting" in line for line in lines[:-1]), "status lines while it ran"

    rows = await pool.fetch(
        "SELECT c.channel, c.case_type, c.case_type_source, c.state, c.outcome, c.external_id, "
        "t.number FROM contacts c LEFT JOIN tickets t ON t.contact_id = c.id"
    )
    by_channel: dict[str, list[asyncpg.Record]] = {}
    for row in rows:
        by_channel.setdefault(row["channel"], []).append(row)
    assert set(by_channel) >= {"call", "email", "ticket", "callback"}

    # Calls came in through signed webhooks: the IVR's digit gave the case type.
    menu = set(daemon.app[SETTINGS].phone.menu.values())
    calls = by_channel["call"]
    assert all(r["external_id"].startswith("CA") for r in calls)
    assert {r["case_type_source"] for r in calls} == {"ivr"}
    assert {r["case_type"] for r in calls} <= menu
    assert len({r["case_type"] for r in calls}) >= 5
    # E-mails without a case type: sorted by intake's classifier (off here: to triage);
    # the caseworker who answered one corrected its case type when finishing it.
    for mail in by_channel["email"]:
        if mail["outcome"] == "answered":  # corrected, unless it was a general question
            assert mail["case_type_source"] == "staff" or mail["case_type"] == "general"
        else:
            assert (mail["case_type_source"], mail["case_type"]) == ("classifier", "general")
    # Tickets from the kiosk are numbered per queue (A001, B001, ...).
    numbers = [r["number"] for r in by_channel["ticket"]]
    assert all(n and n[0].isalpha() and n[1:].isdigit() for n in numbers)
    assert len(set(numbers)) == len(numbers)

    # Caseworkers answered and finished contacts of every channel they sit on.
    done = {ch for ch, rs in by_channel.items() for r in rs if r["outcome"] == "answered"}
    assert done >= {"call", "email", "ticket"}
    assert sum(stats.finished.values()) >= 20
    # Callers who ran out of patience hung up: their calls are abandoned.
    if stats.abandoned["call"]:
        assert any(r["state"] == "abandoned" for r in calls)

    # The agency's proportions over a few hundred arrivals: 295 : 5 : 50 : 60 thousand.
    total = sum(stats.arrived.values())
    assert total >= 200
    share = {ch: stats.arrived[ch] / total for ch in simulator.engine.CHANNELS}
    assert 0.62 <= share["call"] <= 0.82
    assert 0.06 <= share["email"] <= 0.19
    assert 0.08 <= share["ticket"] <= 0.22
    assert share["callback"] <= 0.05

    # Put away: the simulated staff are disabled, and hold nothing.
    held = await pool.fetchval(
        "SELECT count(*) FROM contacts c JOIN staff s ON s.id = c.agent_id "
        "WHERE s.login LIKE 'sim-%' AND c.state IN ('offered', 'active')"
    )
    assert held == 0
    active = await pool.fetchval(
        "SELECT count(*) FROM staff WHERE login LIKE 'sim-%' AND disabled_at IS NULL"
    )
    assert active == 0
