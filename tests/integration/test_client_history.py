"""The client on the desk (issue 19) over HTTP against the real daemon: the earlier contacts of
the same phone number or e-mail address across channels, newest first, with outcome, wrap-up,
notes and who handled them, purged ones shown as purged; notes on a contact; the supervisors'
search by reference, by a number however written, and by e-mail; each read audited; the
history held to the rule for personal data."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import asyncpg
from aiohttp import web
from aiohttp.test_utils import TestClient

from contactd.leader import retention
from contactd.store.staff import Role
from tests.conftest import WORKDAY, token_for
from tests.integration.test_desk import PROFILE, _desk_when

Client = TestClient[web.Request, web.Application]
ANNA = "+4520123456"


async def _earlier(
    pool: asyncpg.Pool,
    reference: str,
    channel: str,
    days_ago: int,
    *,
    address: str = ANNA,
    agent: str | None = None,
    wrap_up: str | None = None,
) -> int:
    at = WORKDAY - timedelta(days=days_ago)
    contact_id: int = await pool.fetchval(
        """INSERT INTO contacts (reference, channel, case_type, case_type_source, language, queue,
               due_at, state, outcome, wrap_up, created_at, state_changed_at, queued_at,
               closed_at, client_address, agent_id)
           VALUES ($1, $2, 'family', 'ivr', 'da', 'family', $3, 'done', 'answered', $4, $3, $3,
                   $3, $3, $5, (SELECT id FROM staff WHERE login = $6)) RETURNING id""",
        reference, channel, at, wrap_up, address, agent,
    )  # fmt: skip
    return contact_id


async def _offered_call(client: Client, pool: asyncpg.Pool, karin: dict[str, str]) -> str:
    await pool.execute(
        """INSERT INTO contacts (reference, channel, case_type, case_type_source, language, queue,
               due_at, state, created_at, state_changed_at, queued_at, client_address)
           VALUES ('NNNN-NNNN', 'email', 'family', 'form', 'da', 'family', $1, 'queued', $1,
                   $1, $1, $2)""",
        WORKDAY + timedelta(days=5),
        ANNA,
    )
    await client.post("/api/desk/state", json={"state": "available"}, headers=karin)
    desk = await _desk_when(client, karin, lambda d: d["contacts"])
    reference: str = desk["contacts"][0]["reference"]
    return reference


def _shown(body: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (c["reference"], c["channel"], c["wrap_up"], c["handled_by"], c["purged"])
        for c in body["contacts"]
    ]


async def test_an_offer_shows_the_clients_earlier_contacts_on_every_channel(
    client: Client, app_pool: asyncpg.Pool
) -> None:
    supervisor = await token_for(app_pool, "sofie", Role.SUPERVISOR)
    karin = await token_for(app_pool, "karin", Role.AGENT)
    jens = await token_for(app_pool, "jens", Role.AGENT)
    await client.put("/api/agents/karin", json=PROFILE, headers=supervisor)
    await _earlier(app_pool, "AAAA-AAA3", "call", 30, agent="karin", wrap_up="status")
    ticket = await _earlier(app_pool, "AAAA-AAA4", "ticket", 7, agent="karin")
    old = await _earlier(app_pool, "AAAA-AAA7", "callback", 400)
    await _earlier(app_pool, "AAAA-AAA9", "call", 3, address="+4531000000")  # someone else
    await app_pool.execute(
        "INSERT INTO contact_notes (contact_id, author, at, text) VALUES ($1, 'jens', $2,"
        " 'Gammel note')",
        old,
        WORKDAY - timedelta(days=400),
    )
    await app_pool.execute(
        "INSERT INTO contact_notes (contact_id, author, at, text) VALUES ($1, 'karin', $2,"
        " 'Mangler bankgaranti')",
        ticket,
        WORKDAY - timedelta(days=7),
    )
    # A year and more later, the retention job purged the oldest: its address is gone.
    await retention.purge(app_pool, cutoff=WORKDAY - timedelta(days=365), batch_size=10,
                          now=WORKDAY)  # fmt: skip
    reference = await _offered_call(client, app_pool, karin)

    history = await client.get(f"/api/desk/contacts/{reference}/history", headers=karin)
    assert history.status == 200
    body = await history.json()
    assert _shown(body) == [
        ("AAAA-AAA4", "ticket", None, "karin", False),
        ("AAAA-AAA3", "call", "status", "karin", False),
        ("AAAA-AAA7", "callback", None, None, True),
    ]
    assert [n["text"] for n in body["contacts"][0]["notes"]] == ["Mangler bankgaranti"]
    # The purged contact's note keeps who wrote it and when, not what.
    assert [(n["author"], n["text"]) for n in body["contacts"][2]["notes"]] == [("jens", None)]
    assert ANNA not in await history.text()  # the history names no address
    refused = await client.get(f"/api/desk/contacts/{reference}/history", headers=jens)
    assert (refused.status, (await refused.json())["error"]["code"]) == (403, "not_holder")

    note = await client.post(
        f"/api/desk/contacts/{reference}/notes", json={"text": "Ringer igen fredag"}, headers=karin
    )
    assert note.status == 201
    notes = await (await client.get(f"/api/desk/contacts/{reference}/notes", headers=karin)).json()
    assert [(n["author"], n["text"]) for n in notes["notes"]] == [("karin", "Ringer igen fredag")]
    audited = await app_pool.fetch(
        "SELECT actor, action, reference FROM audit_log WHERE action LIKE 'client.%'"
        " OR action = 'note.added' ORDER BY id"
    )
    assert [tuple(r) for r in audited] == [
        ("karin", "client.history_read", reference),
        ("karin", "note.added", reference),
    ]


async def test_a_supervisor_finds_a_client_however_the_number_is_written(
    client: Client, app_pool: asyncpg.Pool
) -> None:
    supervisor = await token_for(app_pool, "sofie", Role.SUPERVISOR)
    karin = await token_for(app_pool, "karin", Role.AGENT)
    await _earlier(app_pool, "AAAA-AAA3", "call", 30)
    await _earlier(app_pool, "AAAA-AAA4", "email", 10, address="Anna@Example.DK")
    await _earlier(app_pool, "AAAA-AAA7", "callback", 2)
    for written in ("20 12 34 56", "+4520123456", "+45 20 12 34 56"):
        found = await client.get("/api/search", params={"q": written}, headers=supervisor)
        body = await found.json()
        assert (body["by"], [c["reference"] for c in body["contacts"]]) == (
            "phone",
            ["AAAA-AAA7", "AAAA-AAA3"],
        ), written
    by_mail = await client.get("/api/search", params={"q": "anna@example.dk"}, headers=supervisor)
    assert [c["reference"] for c in (await by_mail.json())["contacts"]] == ["AAAA-AAA4"]
    by_reference = await client.get("/api/search", params={"q": "aaaa aaa3"}, headers=supervisor)
    body = await by_reference.json()
    assert (body["by"], [c["reference"] for c in body["contacts"]]) == (
        "reference",
        ["AAAA-AAA7", "AAAA-AAA3"],
    )
    nonsense = await client.get("/api/search", params={"q": "hello"}, headers=supervisor)
    assert (nonsense.status, (await nonsense.json())["error"]["code"]) == (422, "bad_search")
    # A reference no contact has (mistyped, or purged long ago) is a search that found none.
    unknown = await client.get("/api/search", params={"q": "XXXX-XXX9"}, headers=supervisor)
    assert (unknown.status, await unknown.json()) == (200, {"by": "reference", "contacts": []})
    assert (await client.get("/api/search", params={"q": ANNA}, headers=karin)).status == 403
    searches = await app_pool.fetch(
        "SELECT details FROM audit_log WHERE action = 'client.searched' ORDER BY id"
    )
    assert [r["details"]["by"] for r in searches] == ["phone"] * 3 + ["email"] + ["reference"] * 2
    assert "2012" not in str([r["details"] for r in searches])  # what was searched is not kept
