"""The supervisors' console under load (issue 18): how soon every watching supervisor sees a
change in the agent grid.

    .venv/bin/python -m bench.console [--queues 50] [--agents 500] [--supervisors 20]
                                      [--changes 100] [--every 0.2]

Starts the daemon on a copy of config/contactd.toml widened to `--queues` queues (one case type
each beyond the shipped ones), adds `--agents` agents with profiles through the store's own
functions (bench/fixtures.py) and `--supervisors` supervisors, who each follow
GET /api/console/events. Then a supervisor sets an agent's state `--changes` times, one every
`--every` seconds, through POST /api/agents/{login}/state, and each stream's first snapshot
showing that agent in the new state is timed from the moment the change was answered.
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

from bench.common import ROOT, Daemon, further_names, store_connection
from bench.fixtures import add_agents
from contactd.store import staff as store_staff
from routing.agents import AgentState
from routing.contact import Language

SHIPPED_QUEUES = 7  # config/contactd.toml


def widened_config(folder: Path, queues: int) -> Path:
    """The shipped configuration with queues bench_01 ... and bench_tickets, `queues` in all:
    each bench queue has a case type of its own on the phone and e-mail, and bench_tickets
    takes them all at the service centre (an alphabet has letters for 26 ticket queues)."""
    types = (ROOT / "config" / "case_types.toml").read_text(encoding="utf-8")
    config = (ROOT / "config" / "contactd.toml").read_text(encoding="utf-8")
    codes = [f"bench_{n:02d}" for n in range(1, queues - SHIPPED_QUEUES)]
    for n, code in enumerate(codes, 1):
        types += (
            f'\n[{code}]\nda = "Bænk {n}"\nen = "Bench {n}"\nnames = {further_names(n)}\n'
            'processing_goal = "1 month"\n'
            f'checklist_url = "https://example.dk/{code}"\nscope = "Benchmark queue {n}."\n'
        )
        config += (
            f'\n[queues.{code}]\nname_da = "Bænk {n}"\nname_en = "Bench {n}"\n'
            f"names = {further_names(n)}\n"
            f'case_types = ["{code}"]\nchannels = ["call", "callback", "email"]\n'
            'priority = 10\ncalendar = "phone"\n'
            'goals.call = { threshold = "5 minutes", target = 0.8, sl_variant = 1 }\n'
            'goals.callback = { threshold = "4 working hours", target = 0.9 }\n'
            'goals.email = { threshold = "5 working days", target = 0.9, calendar = "office" }\n'
        )
    config += (
        '\n[queues.bench_tickets]\nname_da = "Bænk, skranke"\nname_en = "Bench, counter"\n'
        f"names = {further_names(0)}\n"
        f'case_types = {json.dumps(codes)}\nchannels = ["ticket"]\npriority = 10\n'
        'calendar = "service_centre"\n'
        'goals.ticket = { threshold = "30 minutes", target = 0.8, sl_variant = 3 }\n'
    )
    (folder / "case_types.toml").write_text(types, encoding="utf-8")
    path = folder / "contactd.toml"
    path.write_text(config, encoding="utf-8")
    return path


async def people(data: Path, args: argparse.Namespace, codes: list[str]) -> list[str]:
    """The agents (skills in two queues each) and the supervisors' tokens."""
    conn = await store_connection(data)
    now = datetime.now(UTC)
    try:
        profiles = [
            (
                f"agent{i:03d}",
                {codes[i % len(codes)]: 3, codes[(i * 7) % len(codes)]: 2},
                frozenset({Language.DA}),
                AgentState.AVAILABLE if i % 3 else AgentState.AWAY,
            )
            for i in range(args.agents)
        ]
        await add_agents(conn, profiles, known=frozenset(codes), created=now, now=now)
        tokens = []
        for i in range(args.supervisors):
            _, token = await store_staff.add(
                conn, login=f"sup{i:02d}", name=f"Sup {i}", role=store_staff.Role.SUPERVISOR,
                now=now,
            )  # fmt: skip
            tokens.append(token)
        return tokens
    finally:
        await conn.close()


class Watcher:
    """One supervisor's stream: the time each awaited (agent, state) was first seen."""

    def __init__(self) -> None:
        self.waiting: dict[tuple[str, str], float] = {}  # awaited -> when the change was made
        self.seen_ms: list[float] = []
        self.events = 0
        self.ready = asyncio.Event()

    async def follow(self, http: aiohttp.ClientSession, url: str, token: str) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        async with http.get(url + "/api/console/events", headers=headers) as response:
            async for line in response.content:
                if not line.startswith(b"data: "):
                    continue
                now = time.perf_counter()
                self.events += 1
                self.ready.set()
                states = {a["login"]: a["state"] for a in json.loads(line[6:])["agents"]}
                for key, since in list(self.waiting.items()):
                    if states.get(key[0]) == key[1]:
                        self.seen_ms.append((now - since) * 1000)
                        del self.waiting[key]


async def run(url: str, tokens: list[str], args: argparse.Namespace) -> dict[str, Any]:
    timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        watchers = [Watcher() for _ in tokens]
        tasks = [
            asyncio.create_task(w.follow(http, url, t))
            for w, t in zip(watchers, tokens, strict=True)
        ]
        await asyncio.wait_for(asyncio.gather(*(w.ready.wait() for w in watchers)), 60)
        changer = {"Authorization": f"Bearer {tokens[0]}"}
        for n in range(args.changes):
            login = f"agent{(n * 37) % args.agents:03d}"
            async with http.get(url + "/api/console", headers=changer) as response:
                now = {a["login"]: a["state"] for a in (await response.json())["agents"]}
            state = "away" if now[login] == "available" else "available"
            async with http.post(
                f"{url}/api/agents/{login}/state", json={"state": state}, headers=changer
            ) as response:
                assert response.status == 200, await response.text()
                answered = time.perf_counter()
            for w in watchers:
                w.waiting[(login, state)] = answered
            await asyncio.sleep(args.every)
        await asyncio.sleep(3)  # the last changes' snapshots
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    seen = sorted(ms for w in watchers for ms in w.seen_ms)
    missed = sum(len(w.waiting) for w in watchers)
    return {
        "queues": args.queues,
        "agents": args.agents,
        "supervisors": len(tokens),
        "changes": args.changes,
        "seen": len(seen),
        "missed": missed,
        "change_to_screen_ms": {
            "p50": round(statistics.median(seen), 1),
            "p99": round(seen[min(len(seen) - 1, int(len(seen) * 0.99))], 1),
            "max": round(seen[-1], 1),
        },
        "events_per_stream": round(sum(w.events for w in watchers) / len(watchers), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queues", type=int, default=50)
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--supervisors", type=int, default=20)
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--every", type=float, default=0.2)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="contactd-bench-"))
    config = widened_config(folder, args.queues)
    codes = [line[1:-1] for line in (folder / "case_types.toml").read_text().splitlines()
             if line.startswith("[") and line.endswith("]")]  # fmt: skip
    data = folder / "data"
    daemon = Daemon(
        data, env={"CONTACTD_CONFIG": str(config), "CONTACTD_CLASSIFIER__ENABLED": "false"}
    )
    daemon.wait_ready()
    try:
        tokens = asyncio.run(people(data, args, codes))
        result = asyncio.run(run(daemon.url, tokens, args))
    finally:
        daemon.stop()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
