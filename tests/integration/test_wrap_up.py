"""Wrap-up codes (issue 19): why clients contact a queue, in its own terms, recorded when a
caseworker finishes a contact; required where the queue requires one; refused when not the
queue's; counted in /metrics; and a configuration naming an unknown code refused at start."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from contactd import settings
from contactd.app import create_app
from contactd.cli import report_output
from contactd.clock import Clock
from contactd.http.appkeys import POOL, SETTINGS
from contactd.services import report
from tests.conftest import ROOT
from tests.integration.test_desk import _accepted_family_email, _team

Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def required(db_url: str, clock: Clock) -> AsyncIterator[Client]:
    config = settings.load(
        ROOT / "config" / "contactd.toml",
        environ={
            "CONTACTD_DATABASE_URL": db_url,
            "CONTACTD_CLASSIFIER__ENABLED": "false",
            "CONTACTD_QUEUES__FAMILY__WRAP_UP_REQUIRED": "true",
        },
    )
    async with TestClient(TestServer(create_app(config, clock=clock))) as client:
        yield client


async def _finish(
    client: Client, reference: str, auth: dict[str, str], **body: object
) -> tuple[int, Any]:
    response = await client.post(
        f"/api/desk/contacts/{reference}/finish",
        json={"outcome": "answered", **body},
        headers=auth,
    )
    return response.status, await response.json()


async def test_a_queue_that_requires_a_wrap_up_gets_one_of_its_own(
    required: Client, clock: Clock
) -> None:
    pool: asyncpg.Pool = required.app[POOL]
    _, karin, _, front = await _team(required, pool)
    reference = await _accepted_family_email(required, karin, front)
    reference_data = await (await required.get("/api/reference", headers=karin)).json()
    family = next(q for q in reference_data["queues"] if q["code"] == "family")
    assert (family["wrap_up_required"], "case_status" in family["wrap_up"]) == (True, True)
    assert reference_data["wrap_up_codes"]["complaint"] == {"da": "Klage", "en": "Complaint"}

    status, body = await _finish(required, reference, karin)
    assert (status, body["error"]["code"]) == (422, "wrap_up_required")
    status, body = await _finish(required, reference, karin, wrap_up="weather")
    assert (status, body["error"]["code"]) == (422, "not_accepted")
    assert await pool.fetchval("SELECT state FROM contacts WHERE reference = $1", reference) == (
        "active"
    )
    status, _ = await _finish(required, reference, karin, wrap_up="complaint")
    assert status == 200
    row = await pool.fetchrow("SELECT state, wrap_up FROM contacts WHERE reference = $1", reference)
    assert row is not None
    assert (row["state"], row["wrap_up"]) == ("done", "complaint")
    metrics = await (await required.get("/metrics")).text()
    assert (
        'contactd_contacts_wrapped_up_total{channel="email",code="complaint",queue="family"} 1.0'
        in metrics
    )
    # And in the report of the day, for the improvement meeting.
    config = required.app[SETTINGS]
    async with pool.acquire() as conn:
        today = clock().astimezone(config.timezone).date()
        days = await report.gather(conn, config.queues, config.timezone, today, today, clock())
    lines = list(report_output.table(days, config.timezone))
    at = lines.index("Why clients contacted us (wrap-up codes, contacts finished):")
    assert lines[at + 1].split() == ["family", "complaint", "1"]


def test_a_wrap_up_code_the_configuration_does_not_name_is_refused_at_start() -> None:
    with pytest.raises(settings.ConfigError, match=r"queues.family.wrap_up = 'weather': unknown"):
        settings.load(
            ROOT / "config" / "contactd.toml",
            environ={"CONTACTD_QUEUES__FAMILY__WRAP_UP": '["weather"]'},
        )
