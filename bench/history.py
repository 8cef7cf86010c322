"""A client's history on the desk (issue 19): how long it takes to load the earlier contacts of
a client who has many, in a database of many contacts.

    .venv/bin/python -m bench.history [--contacts 1000000] [--earlier 200] [--requests 300]

Starts the daemon on its embedded PostgreSQL and writes `--contacts` finished contacts of about
a third as many clients (phone numbers and e-mail addresses, every channel), in one statement
through the contacts table's own trigger that keys each address, and `--earlier` more of one
client. Then a supervisor asks GET /api/desk/contacts/{reference}/history for that client's
newest contact `--requests` times over HTTP, one at a time, and the search by the client's
number written as people write it; the time of each answer is recorded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import Daemon, store_connection
from contactd.store import staff as store_staff
from routing.contact import new_reference

CLIENT = "+4529999999"
SPOKEN = "29 99 99 99"


async def fill(data: Path, contacts: int, earlier: int) -> tuple[str, str]:
    """The contacts, and a supervisor's token; the reference whose history is read."""
    conn = await store_connection(data)
    now = datetime.now(UTC)
    newest = new_reference()  # the client's newest contact, whose history is read
    try:
        started = time.perf_counter()
        await conn.execute(
            """INSERT INTO contacts (reference, channel, case_type, case_type_source, language,
                   queue, state, outcome, created_at, state_changed_at, queued_at, due_at,
                   closed_at, client_address)
               SELECT 'B' || g, (ARRAY['call', 'callback', 'email', 'ticket'])[1 + g % 4],
                      'family', 'ivr', 'da', 'family', 'done', 'answered', t, t, t, t, t,
                      CASE WHEN g % 4 = 2 THEN 'client' || g % ($2 / 3) || '@example.dk'
                           ELSE '+452' || lpad((g % ($2 / 3))::text, 7, '0') END
               FROM generate_series(1, $2) g,
                    LATERAL (SELECT $1::timestamptz - make_interval(mins => g) AS t) times""",
            now,
            contacts,
        )
        await conn.execute(
            """INSERT INTO contacts (reference, channel, case_type, case_type_source, language,
                   queue, state, outcome, created_at, state_changed_at, queued_at, due_at,
                   closed_at, client_address)
               SELECT CASE WHEN g = 0 THEN $4 ELSE 'C' || g END,
                      (ARRAY['call', 'callback', 'email', 'ticket'])[1 + g % 4],
                      'family', 'ivr', 'da', 'family', 'done', 'answered', t, t, t, t, t, $3
               FROM generate_series(0, $2) g,
                    LATERAL (SELECT $1::timestamptz - make_interval(days => g) AS t) times""",
            now,
            earlier,
            CLIENT,
            newest,
        )
        await conn.execute("ANALYZE contacts")
        filled = time.perf_counter() - started
        _, token = await store_staff.add(
            conn, login="sofie", name="Sofie", role=store_staff.Role.SUPERVISOR, now=now
        )
        print(f"[bench.history] {contacts + earlier + 1:,} contacts in {filled:.0f} s", flush=True)
        return token, newest
    finally:
        await conn.close()


async def measure(url: str, token: str, reference: str, requests: int) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    history_ms: list[float] = []
    search_ms: list[float] = []
    async with aiohttp.ClientSession(headers=headers) as http:
        for _ in range(requests):
            started = time.perf_counter()
            async with http.get(f"{url}/api/desk/contacts/{reference}/history") as response:
                body = await response.json()
                assert response.status == 200, body
            history_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            async with http.get(f"{url}/api/search", params={"q": SPOKEN}) as response:
                found = await response.json()
                assert response.status == 200, found
            search_ms.append((time.perf_counter() - started) * 1000)
    return {
        "earlier_shown": len(body["contacts"]),
        "found_by_search": len(found["contacts"]),
        "history_ms": _percentiles(history_ms),
        "search_ms": _percentiles(search_ms),
    }


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50": round(statistics.median(ordered), 1),
        "p99": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--earlier", type=int, default=200)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="contactd-bench-"))
    daemon = Daemon(data, env={"CONTACTD_CLASSIFIER__ENABLED": "false"})
    daemon.wait_ready()
    try:
        token, reference = asyncio.run(fill(data, args.contacts, args.earlier))
        result = asyncio.run(measure(daemon.url, token, reference, args.requests))
    finally:
        daemon.stop()
    print(json.dumps({"contacts": args.contacts, "earlier": args.earlier, **result}, indent=2))


if __name__ == "__main__":
    main()
