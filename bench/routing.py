"""Routing end to end on the embedded PostgreSQL: offers made per second with agents free,
and the latency from intake to offer.

    .venv/bin/python -m bench.routing [--agents 125] [--backlog 5000] [--rate 200] [--seconds 10]

1. Offers per second: `--backlog` e-mails wait while every agent is away; then all agents
   become available at once (room for every contact) and the leader's router offers them.
   The figure is contacts offered / (last offer - first state change).
2. Intake to offer: with agents free, contacts are registered over HTTP at `--rate` per
   second for `--seconds`; for each, the time from its 'created' event to its 'offer'
   event (both written by the daemon's clock, here the wall clock) gives p50 and p99.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp
import asyncpg

from bench.common import Daemon, contactd, store_connection
from contactd.clock import wall_clock
from contactd.metrics import NOT_RECORDED
from contactd.store import contacts


async def _post(session: aiohttp.ClientSession, url: str, token: str, body: object) -> None:
    async with session.post(
        url, json=body, headers={"Authorization": f"Bearer {token}"}
    ) as response:
        if response.status >= 300:
            raise SystemExit(f"{url}: {response.status} {await response.text()}")


async def close_offered(db: asyncpg.Connection) -> None:
    """Every offered contact closed (its offer withdrawn), one store transition each, in one
    transaction, so that every agent has room again; the agents stay available (a finish at
    the desk would start their wrap-up)."""
    offered = await db.fetch("SELECT id FROM contacts WHERE state = 'offered'")
    now = wall_clock()
    async with db.transaction():
        for row in offered:
            await contacts.abandon(
                db, row["id"], now=now, actor="bench", recorder=NOT_RECORDED, why="make room"
            )


async def run(args: argparse.Namespace) -> dict[str, object]:
    data = Path(tempfile.mkdtemp(prefix="contactd-bench-routing-"))
    tokens = {}
    for login, role in [("sofie", "supervisor"), ("frida", "frontdesk")] + [
        (f"agent{i}", "agent") for i in range(args.agents)
    ]:
        out = contactd(
            "staff", "add", login, "--name", login, "--role", role, "--data-dir", str(data)
        )
        tokens[login] = out.strip().splitlines()[-1]
    daemon = Daemon(data)
    daemon.wait_ready()
    db = await store_connection(data)
    capacity = {"call": 1, "callback": 1, "email": args.backlog // args.agents + 1, "ticket": 1}
    agents = [f"agent{i}" for i in range(args.agents)]
    try:
        async with aiohttp.ClientSession(daemon.url) as http:
            for login in agents:
                async with http.put(
                    f"/api/agents/{login}",
                    json={"skills": {"visa": 3}, "languages": ["da"], "capacity": capacity},
                    headers={"Authorization": f"Bearer {tokens['sofie']}"},
                ) as r:
                    assert r.status == 200, await r.text()

            # 1. A backlog, then every agent free at once.
            sem = asyncio.Semaphore(20)

            async def one(body: object) -> None:
                async with sem:
                    await _post(http, "/api/contacts", tokens["frida"], body)

            await asyncio.gather(
                *(one({"channel": "email", "case_type": "visa"}) for _ in range(args.backlog))
            )
            start = time.perf_counter()
            await asyncio.gather(
                *(_post(http, "/api/desk/state", tokens[a], {"state": "available"}) for a in agents)
            )
            while await db.fetchval("SELECT count(*) FROM contacts WHERE state = 'queued'"):
                await asyncio.sleep(0.01)
                if time.perf_counter() - start > 120:
                    raise SystemExit("the backlog was not routed in 120 s")
            span = await db.fetchval(
                "SELECT extract(epoch FROM max(o.offered_at) - min(a.state_changed_at)) "
                "FROM offers o, agents a"
            )
            offers_per_second = args.backlog / float(span)

            # 2. Intake to offer with agents free (room made by closing the backlog).
            await close_offered(db)
            first_id = await db.fetchval("SELECT coalesce(max(id), 0) FROM contacts")
            interval = 1 / args.rate
            pending = []
            t0 = time.perf_counter()
            for i in range(int(args.rate * args.seconds)):
                pending.append(asyncio.create_task(one({"channel": "email", "case_type": "visa"})))
                await asyncio.sleep(max(0, t0 + (i + 1) * interval - time.perf_counter()))
            await asyncio.gather(*pending)
            await asyncio.sleep(1)
            rows = await db.fetch(
                "SELECT extract(epoch FROM o.at - c.at) * 1000 AS ms "
                "FROM contact_events c JOIN contact_events o ON o.contact_id = c.contact_id "
                "AND o.action = 'offer' WHERE c.action = 'created' AND c.contact_id > $1",
                first_id,
            )
    finally:
        await db.close()
        daemon.stop()
    latencies = sorted(float(r["ms"]) for r in rows)
    return {
        "agents": args.agents,
        "backlog": args.backlog,
        "offers_per_second": round(offers_per_second, 1),
        "intake_rate_per_second": args.rate,
        "offered_in_latency_phase": len(latencies),
        "intake_to_offer_p50_ms": round(statistics.median(latencies), 1),
        "intake_to_offer_p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))], 1),
        "aim": "offers >= 1,000/s; intake-to-offer p99 < 100 ms",
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=125)
    parser.add_argument("--backlog", type=int, default=5000)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=10)
    print(json.dumps(asyncio.run(run(parser.parse_args())), indent=2))


if __name__ == "__main__":
    main()
