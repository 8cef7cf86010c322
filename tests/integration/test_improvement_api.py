"""The improvement report over HTTP (issue 22), for the console: last week by default, a chosen
period, the comments searched, as JSON, CSV and the chart; every read audited; supervisors
only; a bad period refused with its reason."""

from __future__ import annotations

import asyncpg
from aiohttp import web
from aiohttp.test_utils import TestClient

from contactd.settings import Settings
from contactd.store.staff import Role
from tests.conftest import token_for
from tests.integration.test_improvement import _make

Client = TestClient[web.Request, web.Application]


async def test_a_supervisor_reads_last_weeks_report_and_searches_its_comments(
    client: Client, app_pool: asyncpg.Pool, config: Settings
) -> None:
    await _make(app_pool, config)
    supervisor = await token_for(app_pool, "sofie", Role.SUPERVISOR)

    whole = await (await client.get("/api/improvement", headers=supervisor)).json()
    assert whole["period"] == {"first": "2026-11-23", "last": "2026-11-29", "label": "2026-W48"}
    assert whole["before"] == {"first": "2026-11-16", "last": "2026-11-22"}
    assert whole["follow_up_days"] == config.improvement.follow_up_days
    every = whole["failure_demand"]
    assert every["contacts"] == sum(r["contacts"] for r in whole["by_case_type"]) > 0
    assert whole["comments"]
    assert all("@" not in c["text"] for c in whole["comments"])

    searched = await client.get("/api/improvement?q=VENTETID", headers=supervisor)
    comments = (await searched.json())["comments"]
    assert comments
    assert all("ventetid" in c["text"].lower() for c in comments)
    assert len(comments) < len(whole["comments"])

    audited = await app_pool.fetch(
        "SELECT actor, target FROM audit_log WHERE action = 'improvement.read'"
    )
    assert [(r["actor"], r["target"]) for r in audited] == [("sofie", "2026-W48")] * 2


async def test_the_report_as_csv_and_as_a_chart_for_a_chosen_period(
    client: Client, app_pool: asyncpg.Pool, config: Settings
) -> None:
    await _make(app_pool, config)
    supervisor = await token_for(app_pool, "sofie", Role.SUPERVISOR)
    period = "first=2026-11-16&last=2026-11-29"

    table = await client.get(f"/api/improvement?{period}&format=csv", headers=supervisor)
    assert table.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "improvement-2026-11-16-2026-11-29.csv" in table.headers["Content-Disposition"]
    assert (await table.text()).startswith("section,queue,channel,case_type,code,figure,")
    chart = await client.get(f"/api/improvement?{period}&format=png", headers=supervisor)
    assert chart.headers["Content-Type"] == "image/png"
    assert (await chart.read()).startswith(b"\x89PNG\r\n\x1a\n")


async def test_only_supervisors_read_it_and_a_bad_period_is_refused(
    client: Client, app_pool: asyncpg.Pool
) -> None:
    supervisor = await token_for(app_pool, "sofie", Role.SUPERVISOR)
    agent = await token_for(app_pool, "karin", Role.AGENT)
    assert (await client.get("/api/improvement", headers=agent)).status == 403
    refused = {
        "first=2026-11-23": "give both first and last, or neither (last week)",
        "first=2026-11-29&last=2026-11-23": "first 2026-11-29 is after last 2026-11-23",
        "first=2026-12-24&last=2026-12-31": "first 2026-12-24 is in the future",
        "first=2024-01-01&last=2026-11-30": "at most 366 days at a time",
    }
    for query, said in refused.items():
        response = await client.get(f"/api/improvement?{query}", headers=supervisor)
        error = (await response.json())["error"]
        assert (response.status, error["code"], error["message"]) == (422, "bad_period", said)
    invalid = await client.get("/api/improvement?format=pdf", headers=supervisor)
    assert (await invalid.json())["error"]["code"] == "invalid_body"
