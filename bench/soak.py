"""A soak: `contactd run` under a steady mixed load, its memory, file descriptors and
PostgreSQL connections sampled all along; they should stay flat.

    .venv/bin/python -m bench.soak [--minutes 10] [--rate 2] [--agents 20]

What runs: a daemon on a fresh embedded PostgreSQL (classifier on, as shipped), Twilio's
REST API served by Stoplight Prism (scripts/bootstrap --dev) from Twilio's spec where
CONTACTD_TWILIO_SPEC or ../shared/twilio has it (tests/twilio_spec.py; lacking either, there
are no callbacks). Contacts arrive as a Poisson stream of `--rate` a second through
`POST /api/contacts`, in the agency's proportions (300,000 calls, 50,000 e-mails and 60,000
visits a year: 73 % callbacks, 12 % e-mails, a quarter of them without a case type so that
the classifier sorts them, 15 % walk-in tickets). `--agents` caseworkers at the desk API
accept every offer (a callback is dialled through Prism by the outbox) and finish it after
2 to 10 s. A supervisor's screens poll the board, status, /metrics and /ready.

Every 5 s it samples the daemon's RSS and open file descriptors, the PostgreSQL
connections (pg_stat_activity, client backends other than its own) and the embedded
server's memory (PSS, shared buffers counted once). It prints, as JSON, each series'
start, end, max and slope (least squares over the samples after the first minute, which
holds the warm-up: the model trained, the pool grown), per hour.

"Hour-equivalent": the agency's 410,000 contacts a year over about 250 working days are
1,640 a day; its busiest hour carries about 15 % of a day, some 250 contacts. The default
run (10 minutes at 2 a second, about 1,200 contacts, each offered, accepted and finished)
is about five peak hours of traffic compressed into ten minutes, so at least an hour's
worth of every request, transaction and outbox send, while the daemon's own timers
(heartbeats, statistics every 10 s, offer expiry) run for only ten minutes of wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import random
import shutil
import socket
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import psutil

from bench.common import ROOT, Daemon, contactd
from bench.intake import psql
from tests import twilio_spec

PRISM = ROOT / ".prism" / "node_modules" / ".bin" / "prism"
SAMPLE_SECONDS = 5
WARM_UP_SECONDS = 60
CASE_TYPES = ["family", "work", "study", "asylum", "extension", "permanent", "visa", "general"]
# E-mails without a case type, for the classifier (Danish and English, like the corpus).
TEXTS = [
    "Hej, jeg har søgt om familiesammenføring med min ægtefælle. Hvornår får vi svar?",
    "Hello, my work permit expires next month. How do I apply for an extension?",
    "Jeg vil gerne vide, hvilke dokumenter jeg skal bruge til en visumansøgning.",
    "I was admitted to a Danish university. What do I need for a residence permit?",
]
MIX = [("callback", 0.73), ("email", 0.12), ("ticket", 0.15)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Load:
    def __init__(self, url: str, admin: str, rate: float, rng: random.Random) -> None:
        self.url = url
        self.admin = admin
        self.rate = rate
        self.rng = rng
        self.acknowledged: list[str] = []
        self.statuses: Counter[str] = Counter()  # "endpoint status" -> count
        self.finished = 0
        self.numbers = itertools.count(1)

    async def call(
        self, http: aiohttp.ClientSession, method: str, path: str, token: str | None, body: Any
    ) -> tuple[int, Any]:
        name = path.split("/")[2] if path.startswith("/api/") else path
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            async with http.request(method, self.url + path, json=body, headers=headers) as r:
                self.statuses[f"{method} {name} {r.status}"] += 1
                text = await r.text()
                return r.status, json.loads(text) if r.content_type == "application/json" else text
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.statuses[f"{method} {name} {type(exc).__name__}"] += 1
            return 0, None

    def contact(self) -> dict[str, Any]:
        channel = self.rng.choices([c for c, _ in MIX], [w for _, w in MIX])[0]
        body: dict[str, Any] = {"channel": channel, "language": self.rng.choice(["da", "en"])}
        if channel == "email" and self.rng.random() < 0.25:
            body |= {"subject": "Spørgsmål", "text": self.rng.choice(TEXTS)}
            del body["language"]  # detected, then classified
        else:
            body["case_type"] = self.rng.choice(CASE_TYPES)
        n = next(self.numbers)
        if channel == "callback":
            body["client_address"] = f"+4520{(123456 + n) % 1_000_000:06d}"  # valid, Danish
        elif channel == "email":
            body["client_address"] = f"client{n}@example.dk"
        return body

    async def arrivals(self, http: aiohttp.ClientSession, until: float) -> None:
        pending: set[asyncio.Task[None]] = set()

        async def one() -> None:
            status, answer = await self.call(
                http, "POST", "/api/contacts", self.admin, self.contact()
            )
            if status in (200, 201):
                self.acknowledged.append(answer["reference"])

        while time.monotonic() < until:
            task = asyncio.create_task(one())
            pending.add(task)
            task.add_done_callback(pending.discard)
            await asyncio.sleep(self.rng.expovariate(self.rate))
        await asyncio.gather(*pending)

    async def agent(self, http: aiohttp.ClientSession, token: str, until: float) -> None:
        """Accept every offer; finish each contact 2 to 10 s after taking it."""
        done_at: dict[str, float] = {}
        while time.monotonic() < until:
            status, desk = await self.call(http, "GET", "/api/desk", token, None)
            for c in desk["contacts"] if status == 200 else []:
                ref = c["reference"]
                if c["state"] == "offered":
                    accept = f"/api/desk/contacts/{ref}/accept"
                    if (await self.call(http, "POST", accept, token, None))[0] == 200:
                        done_at[ref] = time.monotonic() + self.rng.uniform(2, 10)
                elif c["state"] == "active" and time.monotonic() >= done_at.get(ref, 0):
                    finish = f"/api/desk/contacts/{ref}/finish"
                    if (await self.call(http, "POST", finish, token, {"outcome": "answered"}))[
                        0
                    ] == 200:
                        self.finished += 1
                        done_at.pop(ref, None)
            await asyncio.sleep(1)

    async def supervisor(self, http: aiohttp.ClientSession, until: float) -> None:
        while time.monotonic() < until:
            for path in ("/api/board", "/api/status", "/metrics", "/ready", "/api/agents"):
                await self.call(http, "GET", path, self.admin, None)
            await asyncio.sleep(SAMPLE_SECONDS)


def _sample(daemon: Daemon, socket_dir: str, pgdata: Path, started: float) -> dict[str, float]:
    process = psutil.Process(daemon.process.pid)
    postmaster = psutil.Process(int((pgdata / "postmaster.pid").read_text().split()[0]))
    server = [postmaster, *postmaster.children(recursive=True)]
    pss = 0
    for p in server:
        with contextlib.suppress(psutil.NoSuchProcess):  # a backend that just ended
            pss += p.memory_full_info().pss
    connections = psql(
        socket_dir,
        "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
        " AND pid <> pg_backend_pid()",
    )
    return {
        "t": round(time.monotonic() - started, 1),
        "rss_mib": round(process.memory_info().rss / 2**20, 1),
        "fds": process.num_fds(),
        "pg_connections": int(connections),
        "pg_pss_mib": round(pss / 2**20, 1),
    }


def _summary(samples: list[dict[str, float]], key: str) -> dict[str, float]:
    values = [s[key] for s in samples]
    late = [s for s in samples if s["t"] >= WARM_UP_SECONDS] or samples
    xs, ys = [s["t"] for s in late], [s[key] for s in late]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var if var else 0.0
    return {
        "start": values[0],
        "after_warm_up": ys[0],
        "end": values[-1],
        "max": max(values),
        "slope_per_hour": round(slope * 3600, 2),
    }


async def soak(args: argparse.Namespace, daemon: Daemon, data: Path, admin: str) -> dict[str, Any]:
    pgdata = data / "pgdata"
    socket_dir = (pgdata / "postmaster.pid").read_text().splitlines()[4]
    load = Load(daemon.url, admin, args.rate, random.Random(args.seed))
    timeout = aiohttp.ClientTimeout(total=30)
    connector = aiohttp.TCPConnector(limit=200)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
        tokens = []
        for i in range(args.agents):
            login = f"agent{i}"
            status, body = await load.call(
                http, "POST", "/api/staff", admin, {"login": login, "name": login, "role": "agent"}
            )
            assert status == 201, body
            tokens.append(body["token"])
            profile = {
                "skills": {c: 3 for c in [*CASE_TYPES, "au_pair", "residence_card", "lapse", "eu",
                                          "appeal"]},
                "languages": ["da", "en"],
                "phone": f"+4531{i:06d}",
            }  # fmt: skip
            status, body = await load.call(http, "PUT", f"/api/agents/{login}", admin, profile)
            assert status == 200, body
            status, body = await load.call(
                http, "POST", "/api/desk/state", tokens[-1], {"state": "available"}
            )
            assert status == 200, body
        started = time.monotonic()
        until = started + args.minutes * 60
        samples = [await asyncio.to_thread(_sample, daemon, socket_dir, pgdata, started)]
        work = [
            asyncio.create_task(load.arrivals(http, until)),
            asyncio.create_task(load.supervisor(http, until)),
            *(asyncio.create_task(load.agent(http, t, until)) for t in tokens),
        ]
        while time.monotonic() < until:
            await asyncio.sleep(SAMPLE_SECONDS)
            samples.append(await asyncio.to_thread(_sample, daemon, socket_dir, pgdata, started))
        await asyncio.gather(*work)
        samples.append(await asyncio.to_thread(_sample, daemon, socket_dir, pgdata, started))
    states = psql(
        socket_dir,
        "SELECT string_agg(state || '=' || n, ' ') FROM"
        " (SELECT state, count(*) AS n FROM contacts GROUP BY 1 ORDER BY 1) s",
    )
    stored = int(psql(socket_dir, "SELECT count(*) FROM contacts"))
    outbox = psql(
        socket_dir,
        "SELECT string_agg(kind || ' sent=' || sent || ' failed=' || failed || ' waiting=' || w,"
        " '; ') FROM (SELECT kind, count(sent_at) AS sent, count(failed_at) AS failed,"
        " count(*) FILTER (WHERE sent_at IS NULL AND failed_at IS NULL) AS w"
        " FROM outbox GROUP BY 1 ORDER BY 1) o",
    )
    errors = {k: n for k, n in load.statuses.items() if not k.split()[-1].startswith("2")}
    return {
        "minutes": args.minutes,
        "rate_per_second": args.rate,
        "agents": args.agents,
        "contacts_acknowledged": len(load.acknowledged),
        "contacts_stored": stored,
        "contacts_finished_by_agents": load.finished,
        "states": states,
        "outbox": outbox,
        "requests": sum(load.statuses.values()),
        "not_2xx": errors,
        **{key: _summary(samples, key) for key in ("rss_mib", "fds", "pg_connections",
                                                    "pg_pss_mib")},
        "samples": samples if args.samples else len(samples),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--rate", type=float, default=2.0, help="contacts a second")
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--samples", action="store_true", help="print every sample too")
    args = parser.parse_args()

    data = Path(tempfile.mkdtemp(prefix="contactd-soak-"))
    admin = contactd("staff", "add", "soak", "--name", "Soak", "--role", "admin",
                     "--data-dir", str(data)).strip().splitlines()[-1]  # fmt: skip
    env = {"CONTACTD_ROUTING__WRAP_UP_SECONDS": "0"}  # the agents' pace is the load's
    prism = None
    spec = twilio_spec.find() if PRISM.exists() else None
    if spec is not None:
        port = _free_port()
        prism = subprocess.Popen(
            [str(PRISM), "mock", str(spec), "--host", "127.0.0.1", "--port", str(port),
             "-v", "error"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(1200):  # Prism prints no "listening" line: wait for its port
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            time.sleep(0.05)
        env |= {
            "CONTACTD_TWILIO_AUTH_TOKEN": "soak-token",
            "CONTACTD_PUBLIC_URL": "https://contact.example.dk",
            "CONTACTD_PHONE__ACCOUNT_SID": "AC" + "0123456789abcdef" * 2,
            "CONTACTD_PHONE__NUMBER": "+4570201010",
            "CONTACTD_PHONE__API_URL": f"http://127.0.0.1:{port}",
        }
    else:
        MIX[0] = ("callback", 0.0)  # accepting a callback needs Twilio: none without Prism
    daemon = Daemon(data, env=env)
    try:
        daemon.wait_ready()
        result = asyncio.run(soak(args, daemon, data, admin))
    finally:
        daemon.stop()
        if prism is not None:
            prism.terminate()
            prism.wait(10)
        shutil.rmtree(data, ignore_errors=True)
    result["prism"] = prism is not None
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
