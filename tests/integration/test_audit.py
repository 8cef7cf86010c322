"""The audit log (issue 18) over HTTP against the real daemon: reads of a client's personal data
by staff (who, which contact, when; never the data) and staff actions are recorded; a read that
withheld the data is not one; administrators read the log as JSON and export it as JSON lines;
the retention job deletes entries older than `retention.audit_days`."""

from __future__ import annotations

import json
from datetime import timedelta

import asyncpg
from aiohttp import web
from aiohttp.test_utils import TestClient

from contactd.leader import retention
from contactd.store.staff import Role
from tests.conftest import WORKDAY, token_for
from tests.integration.test_desk import PROFILE, _desk_when

Client = TestClient[web.Request, web.Application]
PERSONAL = {"client_address": "anna@example.dk", "subject": "Visum", "text": "Min søster."}


async def _entries(pool: asyncpg.Pool) -> list[tuple[str, str, str | None]]:
    rows = await pool.fetch(
        "SELECT actor, action, reference FROM audit_log"
        " WHERE action IN ('contact.read', 'contact.accepted', 'email.read') ORDER BY id"
    )
    return [(r["actor"], r["action"], r["reference"]) for r in rows]


async def test_reads_of_a_clients_data_are_audited_and_withheld_reads_are_not(
    client: Client, app_pool: asyncpg.Pool
) -> None:
    supervisor = await token_for(app_pool, "sofie", Role.SUPERVISOR)
    karin = await token_for(app_pool, "karin", Role.AGENT)
    jens = await token_for(app_pool, "jens", Role.AGENT)
    front = await token_for(app_pool, "frida", Role.FRONTDESK)
    await client.put("/api/agents/karin", json=PROFILE, headers=supervisor)
    body = {"channel": "email", "case_type": "family", **PERSONAL}
    ref = (await (await client.post("/api/contacts", json=body, headers=front)).json())["reference"]

    assert (await client.get(f"/api/contacts/{ref}", headers=jens)).status == 200  # withheld
    await client.get(f"/api/contacts/{ref}", headers=supervisor)
    await client.post("/api/desk/state", json={"state": "available"}, headers=karin)
    await _desk_when(client, karin, lambda d: d["contacts"])
    await client.post(f"/api/desk/contacts/{ref}/accept", headers=karin)
    await client.get(f"/api/desk/contacts/{ref}/messages", headers=karin)
    refused = await client.get(f"/api/desk/contacts/{ref}/messages", headers=jens)
    assert refused.status == 403  # not his: no read, nothing recorded

    assert await _entries(app_pool) == [
        ("sofie", "contact.read", ref),
        ("karin", "contact.accepted", ref),
        ("karin", "email.read", ref),
    ]
    # The log holds who and which contact, never the client's data.
    dumped = json.dumps(
        [dict(r) for r in await app_pool.fetch("SELECT * FROM audit_log")], default=str
    )
    assert "anna@example.dk" not in dumped
    assert "Min søster" not in dumped


async def test_admins_read_the_log_and_export_it_as_json_lines(
    client: Client, app_pool: asyncpg.Pool
) -> None:
    admin = await token_for(app_pool, "ada", Role.ADMIN)
    supervisor = await token_for(app_pool, "sofie", Role.SUPERVISOR)
    for login in ("karin", "jens", "frida"):
        role = "frontdesk" if login == "frida" else "agent"
        added = await client.post(
            "/api/staff", json={"login": login, "name": login.title(), "role": role}, headers=admin
        )
        assert added.status == 201
    await client.post("/api/staff/jens/disable", headers=admin)

    page = await (await client.get("/api/audit?limit=2", headers=admin)).json()
    assert [(e["actor"], e["action"], e["target"]) for e in page["entries"]] == [
        ("ada", "staff.disabled", "jens"),
        ("ada", "staff.added", "frida"),
    ]
    older = await client.get(
        f"/api/audit?limit=2&before={page['entries'][-1]['id']}", headers=admin
    )
    assert [e["target"] for e in (await older.json())["entries"]] == ["jens", "karin"]
    only = await client.get("/api/audit?action=staff.disabled", headers=admin)
    assert len((await only.json())["entries"]) == 1

    export = await client.get("/api/audit?format=jsonl&actor=ada", headers=admin)
    assert export.content_type == "application/x-ndjson"
    lines = [json.loads(line) for line in (await export.text()).splitlines()]
    assert [line["action"] for line in lines] == ["staff.disabled"] + ["staff.added"] * 3
    assert {"id", "at", "actor", "action", "target", "reference", "details"} == set(lines[0])

    assert (await client.get("/api/audit", headers=supervisor)).status == 403
    bad = await client.get("/api/audit?limit=0&from=yesterday", headers=admin)
    assert bad.status == 422
    assert {d["field"] for d in (await bad.json())["error"]["details"]} >= {"limit"}


async def test_old_audit_entries_and_sessions_are_deleted_by_retention(pool: asyncpg.Pool) -> None:
    old, recent = WORKDAY - timedelta(days=800), WORKDAY - timedelta(days=10)
    await pool.execute(
        "INSERT INTO audit_log (at, actor, action) VALUES ($1, 'ada', 'staff.added'),"
        " ($2, 'ada', 'staff.disabled')",
        old,
        recent,
    )
    purged = await retention.purge(
        pool,
        cutoff=WORKDAY - timedelta(days=365),
        batch_size=100,
        now=WORKDAY,
        audit_cutoff=WORKDAY - timedelta(days=730),
    )
    assert purged.audit == 1
    assert await pool.fetchval("SELECT array_agg(action) FROM audit_log") == ["staff.disabled"]
