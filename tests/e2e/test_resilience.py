"""Faults under load, with `contactd run` as real processes on a real PostgreSQL (issue 9):
the leader SIGKILLed, PostgreSQL restarted or frozen, Twilio answering 500s and timing out.

Each test prints what it measured (run with `-s` to see it); bench/README.md keeps the
figures. The only timing asserted is a generous bound that tells a slow failover or a
recovery from a hang, never a speed.

Already proven elsewhere, not repeated here: Dovecot restarted under the IMAP reader
(tests/integration/test_imap.py), SMTP down and back with the outbox catching up
(tests/integration/test_smtp.py), a daemon SIGKILLed mid-mailbox (test_email_crash.py).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import json
import shutil
import signal
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import psutil
import pytest
from aiohttp import web

from contactd.store import embedded
from tests.e2e.daemon import Daemon, staff_token

pytestmark = pytest.mark.slow

ACCOUNT = "AC" + "0123456789abcdef" * 2
HOTLINE = "+4570201010"
TWILIO_TOKEN = "e2e-auth-token"
PUBLIC = "https://contact.example.dk"
# Per request: an answer later than this is a hang, whatever the daemon is going through.
NOT_A_HANG = aiohttp.ClientTimeout(total=10)


def _twilio_env(api_url: str, **more: str) -> dict[str, str]:
    return {
        "CONTACTD_TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "CONTACTD_PUBLIC_URL": PUBLIC,
        "CONTACTD_PHONE__ACCOUNT_SID": ACCOUNT,
        "CONTACTD_PHONE__NUMBER": HOTLINE,
        "CONTACTD_PHONE__API_URL": api_url,
        "CONTACTD_OUTBOX__POLL_SECONDS": "0.2",
        "CONTACTD_ROUTING__POLL_SECONDS": "0.2",
        "CONTACTD_ROUTING__WRAP_UP_SECONDS": "0",
        **more,
    }


async def _start(daemons: list[Daemon], name: str, tmp_path: Path, env: dict[str, str]) -> Daemon:
    d = Daemon(["run", "--port", "0"], tmp_path / f"{name}.log", env)
    daemons.append(d)
    await asyncio.to_thread(d.wait_ready)
    return d


# --- a double of Twilio's REST API ---------------------------------------------------------


@dataclass
class Request:
    kind: str  # "Calls" or "Messages"
    form: dict[str, str]
    status: int = 0  # 0 until answered


@dataclass
class TwilioDouble:
    """Twilio's REST API as the daemons see it: every request recorded as it arrives, then
    passed on to Prism (which checks it against Twilio's spec and answers as Twilio does) or
    answered with the next scripted answer: a status, or "hang STATUS" (that status only
    after `hang_seconds`; "hang 201" is a Twilio that acted on a request whose answer was
    lost)."""

    upstream: str | None = None
    answers: dict[str, list[int | str]] = field(default_factory=dict)  # kind -> answers
    hang_seconds: float = 3.0
    requests: list[Request] = field(default_factory=list)
    _session: aiohttp.ClientSession | None = None

    async def handle(self, request: web.Request) -> web.Response:
        kind = request.match_info["kind"]
        body = await request.read()
        recorded = Request(kind, {k: str(v) for k, v in (await request.post()).items()})
        self.requests.append(recorded)
        script = self.answers.get(kind)
        if script:
            answer = script.pop(0)
            if isinstance(answer, str):
                await asyncio.sleep(self.hang_seconds)
                answer = int(answer.removeprefix("hang "))
            recorded.status = answer
            sid = ("CA" if kind == "Calls" else "SM") + uuid.uuid4().hex
            if answer == 201:
                return web.json_response({"sid": sid, "status": "queued"}, status=201)
            error = {"code": 20500, "message": "Internal Server Error", "status": answer}
            return web.json_response(error, status=answer)
        assert self.upstream is not None, f"no answer scripted for {kind}"
        assert self._session is not None
        async with self._session.post(
            self.upstream + request.path,
            data=body,
            headers={
                "Authorization": request.headers.get("Authorization", ""),
                "Content-Type": request.headers.get("Content-Type", ""),
            },
        ) as upstream:
            recorded.status = upstream.status
            return web.Response(
                status=upstream.status, body=await upstream.read(), content_type="application/json"
            )

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[str]:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{sid}/{kind}.json", self.handle)
        runner = web.AppRunner(app, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        self._session = aiohttp.ClientSession()
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            await self._session.close()
            await runner.cleanup()

    def of(self, kind: str) -> list[tuple[dict[str, str], int]]:
        """(form, status) of each request of this kind, in the order they came."""
        return [(r.form, r.status) for r in self.requests if r.kind == kind]


def _dialled(form: dict[str, str]) -> str:
    """The reference of the callback a call request is for, from its TwiML URL."""
    query = dict(p.split("=", 1) for p in form["Url"].split("?", 1)[1].split("&"))
    return query["ref"]


# --- HTTP as the staff's clients use it ------------------------------------------------------


async def _call(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    token: str | None = None,
    body: Any = None,
) -> tuple[int, Any, dict[str, str]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http.request(method, url, json=body, headers=headers, timeout=NOT_A_HANG) as r:
        return r.status, await r.json(content_type=None), dict(r.headers)


async def _team(
    http: aiohttp.ClientSession,
    url: str,
    admin: str,
    agents: int,
    *,
    phones: bool = False,
    **profile: Any,
) -> list[str]:
    """Agents added through the API, given a profile and set available: their tokens."""
    tokens = []
    for i in range(agents):
        login = f"agent{i}"
        status, body, _ = await _call(
            http,
            "POST",
            url + "/api/staff",
            admin,
            {"login": login, "name": login, "role": "agent"},
        )
        assert status == 201, body
        tokens.append(body["token"])
        agent = {"skills": {"visa": 3}, "languages": ["da"], **profile}
        if phones:  # a callback accepted rings the agent's phone first
            agent["phone"] = f"+45310000{i:02d}"
        status, body, _ = await _call(http, "PUT", f"{url}/api/agents/{login}", admin, agent)
        assert status == 200, body
        status, body, _ = await _call(
            http, "POST", url + "/api/desk/state", tokens[-1], {"state": "available"}
        )
        assert status == 200, body
    return tokens


async def _leader(http: aiohttp.ClientSession, candidates: list[Daemon], within: float) -> Daemon:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for d in candidates:
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                if (await _call(http, "GET", d.url + "/health"))[1]["leader"]:
                    return d
        await asyncio.sleep(0.02)
    raise AssertionError(f"no leader within {within} s")


def _log_time(daemon: Daemon, event: str) -> float | None:
    """The wall-clock time of the daemon's first JSON log line with this event."""
    for line in daemon.output().splitlines():
        if f'"{event}"' in line and line.startswith("{"):
            return datetime.fromisoformat(json.loads(line)["timestamp"]).timestamp()
    return None


# --- 1. SIGKILL the leader under load ----------------------------------------------------


@dataclass
class Load:
    """Contacts posted to every live daemon; the references answered with a 2xx."""

    live: list[Daemon]
    token: str
    acknowledged: set[str] = field(default_factory=set)
    failed: collections.Counter[str] = field(default_factory=collections.Counter)
    channels: Iterator[str] = field(
        default_factory=lambda: itertools.cycle(["email", "ticket", "callback", "email"])
    )

    async def post(self, http: aiohttp.ClientSession, daemon: Daemon, n: int) -> None:
        channel = next(self.channels)
        body: dict[str, Any] = {"channel": channel, "case_type": "visa", "language": "da"}
        if channel == "callback":
            body["client_address"] = f"+4520{(123456 + n) % 1_000_000:06d}"  # valid, Danish
        try:
            status, answer, _ = await _call(
                http, "POST", daemon.url + "/api/contacts", self.token, body
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.failed[type(exc).__name__] += 1  # the daemon died under it: never acknowledged
            return
        if 200 <= status < 300:
            self.acknowledged.add(answer["reference"])
        else:
            self.failed[str(status)] += 1

    async def run(self, http: aiohttp.ClientSession, until: asyncio.Event) -> None:
        """Each live daemon gets a contact every 60 ms (a client of a dead one goes elsewhere,
        as behind a load balancer)."""
        n = 0
        while not until.is_set():
            posts = []
            for d in list(self.live):
                n += 1
                posts.append(self.post(http, d, n))
            await asyncio.gather(*posts)
            await asyncio.sleep(0.06)


async def _work(
    http: aiohttp.ClientSession, live: list[Daemon], token: str, until: asyncio.Event
) -> None:
    """An agent at the desk of whichever instance answers: accept what is offered, finish
    what is active."""
    for turn in itertools.count():
        if until.is_set():
            return
        daemon = live[turn % len(live)]
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            status, desk, _ = await _call(http, "GET", daemon.url + "/api/desk", token)
            for contact in desk.get("contacts", []) if status == 200 else []:
                ref, state = contact["reference"], contact["state"]
                if state == "offered":
                    await _call(http, "POST", f"{daemon.url}/api/desk/contacts/{ref}/accept", token)
                elif state == "active":
                    finish = {"outcome": "answered"}
                    await _call(
                        http, "POST", f"{daemon.url}/api/desk/contacts/{ref}/finish", token, finish
                    )
        await asyncio.sleep(0.05)


OVERLAPPING_OFFERS = """
SELECT count(*) FROM (
    SELECT offered_at, lag(coalesce(decided_at, 'infinity')) OVER (
        PARTITION BY contact_id ORDER BY offered_at, id) AS previous_ended
    FROM offers
) o WHERE previous_ended > offered_at
"""


@pytest.mark.timeout(120)
async def test_a_killed_leader_is_replaced_and_nothing_is_lost_offered_or_dialled_twice(
    db_url: str, prism_url: str, tmp_path: Path, daemons: list[Daemon]
) -> None:
    twilio = TwilioDouble(upstream=prism_url)
    async with twilio.serving() as api_url, aiohttp.ClientSession() as http:
        env = {"CONTACTD_DATABASE_URL": db_url, **_twilio_env(api_url)}
        a, b = await asyncio.gather(
            _start(daemons, "a", tmp_path, env), _start(daemons, "b", tmp_path, env)
        )
        admin = await asyncio.to_thread(staff_token, "ada", "admin", env=env)
        capacity = {"call": 1, "callback": 1, "email": 3, "ticket": 1}
        agents = await _team(http, a.url, admin, 6, capacity=capacity, phones=True)
        leader = await _leader(http, [a, b], within=10)
        follower = b if leader is a else a

        load = Load(live=[a, b], token=admin)
        stop_load, stop_work = asyncio.Event(), asyncio.Event()
        work = [asyncio.create_task(_work(http, load.live, t, stop_work)) for t in agents]
        posting = asyncio.create_task(load.run(http, stop_load))
        await asyncio.sleep(3)  # routing, dialling and finishing in full swing

        killed_at, killed_wall = time.monotonic(), time.time()
        leader.process.send_signal(signal.SIGKILL)
        load.live.remove(leader)
        new_leader = await _leader(http, [follower], within=15)  # fails above 15 s: see below
        by_health = time.monotonic() - killed_at
        elected = _log_time(follower, "leader.elected")
        assert new_leader is follower
        await asyncio.sleep(4)  # load on the survivor alone
        stop_load.set()
        await posting

        async def drained() -> None:
            conn = await asyncpg.connect(db_url)
            try:
                open_ = "SELECT count(*) FROM contacts WHERE state NOT IN ('done', 'cancelled')"
                while True:  # polled: the test has no NOTIFY of its own to wait on
                    if not await conn.fetchval(open_):
                        return
                    await asyncio.sleep(0.2)
            finally:
                await conn.close()

        # Everything offered, accepted (a callback: dialled through Prism) and finished.
        await asyncio.wait_for(drained(), timeout=45)
        stop_work.set()
        await asyncio.gather(*work)

    conn = await asyncpg.connect(db_url)
    try:
        stored = {r["reference"] for r in await conn.fetch("SELECT reference FROM contacts")}
        overlapping = await conn.fetchval(OVERLAPPING_OFFERS)
        offers = await conn.fetchval("SELECT count(*) FROM offers")
        dials = await conn.fetch(
            "SELECT payload ->> 'reference' AS ref, attempts, sent_at, failed_at FROM outbox"
            " WHERE kind = 'dial'"
        )
    finally:
        await conn.close()
    placed = collections.Counter(_dialled(form) for form, _ in twilio.of("Calls"))
    elected_after = None if elected is None else round(elected - killed_wall, 3)
    print(
        f"\nfailover: /health leader after {by_health:.3f} s, leader.elected logged "
        f"{elected_after} s after the kill; {len(load.acknowledged)} contacts acknowledged, "
        f"not acknowledged: {dict(load.failed)}; {offers} offers; {len(dials)} dials, "
        f"{sum(placed.values())} calls placed at Prism"
    )
    # The issue asks for 5 s; measured well under 2 s here (bench/README.md). 15 s tells a
    # failover that waits for something (a TCP timeout, a backoff) from a busy CI machine.
    assert by_health < 15
    assert load.acknowledged <= stored, "a contact acknowledged with a 2xx was lost"
    assert overlapping == 0, "a contact had two offers open at once"
    assert dials, "no callback was dialled: the test proved nothing about dialling"
    # One dial message per acceptance; each placed at most once at Twilio.
    messages = collections.Counter(d["ref"] for d in dials)
    assert [r for r, n in placed.items() if n > messages[r]] == [], "a call was placed twice"
    # A dial is claimed, at most once sent: never sent on a second claim.
    assert [dict(d) for d in dials if d["sent_at"] is not None and d["attempts"] > 1] == []


# --- 2. PostgreSQL restarted under load --------------------------------------------------


@dataclass
class Answer:
    at: float  # monotonic, when sent
    took: float
    status: int
    retry_after: str | None


@pytest.mark.timeout(120)
async def test_postgres_restarted_under_load_gets_503s_then_service_resumes_and_nothing_is_lost(
    tmp_path: Path, daemons: list[Daemon]
) -> None:
    # Its own directory, outside pytest's tmp_path: a short socket path, kept until the end.
    pg_dir = Path(tempfile.mkdtemp(prefix="contactd-restart-"))
    server = await asyncio.to_thread(embedded.start, pg_dir)
    try:
        env = {"CONTACTD_DATABASE_URL": server.url, "CONTACTD_ROUTING__POLL_SECONDS": "0.2"}
        a, b = await asyncio.gather(
            _start(daemons, "a", tmp_path, env), _start(daemons, "b", tmp_path, env)
        )
        admin = await asyncio.to_thread(staff_token, "ada", "admin", env=env)
        async with aiohttp.ClientSession() as http:
            capacity = {"call": 1, "callback": 1, "email": 50, "ticket": 1}
            await _team(http, a.url, admin, 4, capacity=capacity)
            await _leader(http, [a, b], within=10)

            answers: list[Answer] = []
            acknowledged: set[str] = set()  # external ids answered with a 2xx
            stop = asyncio.Event()

            async def client(daemon: Daemon, name: str) -> None:
                """One contact after another, each retried with its own external id until a
                2xx (sooner than Retry-After says, to see every answer of the outage)."""
                for n in itertools.count():
                    external = f"{name}-{n}"
                    body = {"channel": "email", "case_type": "visa", "external_id": external}
                    while True:
                        sent = time.monotonic()
                        status, _, headers = await _call(
                            http, "POST", daemon.url + "/api/contacts", admin, body
                        )
                        answers.append(
                            Answer(
                                sent, time.monotonic() - sent, status, headers.get("Retry-After")
                            )
                        )
                        if 200 <= status < 300:
                            acknowledged.add(external)
                            break
                        if stop.is_set():
                            return
                        await asyncio.sleep(0.2)
                    if stop.is_set():
                        return
                    await asyncio.sleep(0.1)

            clients = [asyncio.create_task(client(d, n)) for d, n in ((a, "a"), (b, "b"))]
            await asyncio.sleep(2)
            stopped_at = time.monotonic()
            await asyncio.to_thread(server.stop)  # pg_ctl stop -m fast
            await asyncio.sleep(5)
            not_ready = [(await _call(http, "GET", d.url + "/ready"))[0] for d in (a, b)]
            started_at = time.monotonic()
            server = await asyncio.to_thread(embedded.start, pg_dir)
            restarted_at = time.monotonic()

            async def back(d: Daemon) -> float:
                while True:
                    if (await _call(http, "GET", d.url + "/ready"))[0] == 200:
                        return time.monotonic() - restarted_at
                    await asyncio.sleep(0.1)

            ready_after = await asyncio.wait_for(asyncio.gather(back(a), back(b)), timeout=30)
            leader = await _leader(http, [a, b], within=30)
            leader_after = time.monotonic() - restarted_at
            await asyncio.sleep(3)  # service after the outage
            stop.set()
            await asyncio.wait_for(asyncio.gather(*clients), timeout=30)
            resumed_at = time.monotonic()

            conn = await asyncpg.connect(server.url)
            try:
                # The router offers again: every contact is offered once the leader is back.
                deadline = time.monotonic() + 20
                while await conn.fetchval("SELECT count(*) FROM contacts WHERE state = 'queued'"):
                    assert time.monotonic() < deadline, "contacts left unrouted after the outage"
                    await asyncio.sleep(0.1)
                stored = collections.Counter(
                    r["external_id"] for r in await conn.fetch("SELECT external_id FROM contacts")
                )
            finally:
                await conn.close()
        assert "Traceback" not in a.output() + b.output()
        assert await asyncio.to_thread(a.interrupt) == 0
        assert await asyncio.to_thread(b.interrupt) == 0
    finally:
        await asyncio.to_thread(server.stop)
        shutil.rmtree(pg_dir, ignore_errors=True)

    outage = [x for x in answers if stopped_at <= x.at < started_at]
    unavailable = [x for x in answers if x.status == 503]
    after = [x for x in answers if x.at >= restarted_at]
    first_2xx = min((x.at + x.took for x in after if x.status < 300), default=resumed_at)
    print(
        f"\noutage: {len(answers)} requests, {len(unavailable)} answered 503 "
        f"(max {max((x.took for x in unavailable), default=0):.3f} s), statuses "
        f"{dict(collections.Counter(x.status for x in answers))}; PostgreSQL back "
        f"{restarted_at - started_at:.2f} s after its start; then /ready 200 after "
        f"{max(ready_after):.2f} s, first 2xx after {first_2xx - restarted_at:.2f} s, "
        f"leader after {leader_after:.2f} s ({leader.url}); {len(acknowledged)} acknowledged"
    )
    assert not_ready == [503, 503]
    assert outage, "no request was made while PostgreSQL was down"
    # 200: the same external id again, after a commit whose answer was lost.
    assert {x.status for x in answers} <= {200, 201, 503}, "neither a 2xx nor a 503"
    assert any(x.status == 503 for x in outage)
    assert all(x.retry_after == "5" for x in unavailable)
    assert any(x.status == 201 for x in after), "service did not resume"
    assert [e for e in acknowledged if stored[e] != 1] == [], "acknowledged, yet not stored once"
    assert sum(stored.values()) == len(stored), "a contact was stored twice"


# --- 3. Twilio failing and timing out ----------------------------------------------------


async def test_a_frozen_postgres_gets_503s_not_hangs_and_service_resumes_after(
    tmp_path: Path, daemons: list[Daemon]
) -> None:
    """A server that stops answering without closing its connections (every process of it
    SIGSTOPped: as a frozen machine or a network dropping packets looks from contactd)."""
    pg_dir = Path(tempfile.mkdtemp(prefix="contactd-frozen-"))
    server = await asyncio.to_thread(embedded.start, pg_dir)
    frozen: list[psutil.Process] = []
    try:
        env = {
            "CONTACTD_DATABASE_URL": server.url,
            "CONTACTD_DATABASE__STATEMENT_TIMEOUT_SECONDS": "1",  # so a query gives up at 6 s
        }
        daemon = await _start(daemons, "a", tmp_path, env)
        admin = await asyncio.to_thread(staff_token, "ada", "admin", env=env)
        body = {"channel": "email", "case_type": "visa"}
        async with aiohttp.ClientSession() as http:
            status, _, _ = await _call(http, "POST", daemon.url + "/api/contacts", admin, body)
            assert status == 201
            postmaster = psutil.Process(
                int((server.pgdata / "postmaster.pid").read_text().split()[0])
            )
            frozen = [postmaster, *postmaster.children(recursive=True)]
            for process in frozen:
                process.suspend()
            sent = time.monotonic()
            # Not a hang: within the query's bound (1 + 5 s) and asyncpg's cancel request to
            # the frozen server (as long again), well inside 30 s.
            async with http.post(
                daemon.url + "/api/contacts",
                json=body,
                headers={"Authorization": f"Bearer {admin}"},
                timeout=aiohttp.ClientTimeout(total=30),
            ) as response:
                status, answer, headers = response.status, await response.json(), response.headers
            waited = time.monotonic() - sent
            print(f"frozen PostgreSQL: {status} after {waited:.1f} s")
            assert (status, answer["error"]["code"]) == (503, "database_unavailable")
            assert headers["Retry-After"] == "5"
            for process in frozen:
                process.resume()
            frozen = []

            async def served() -> int:
                while True:
                    status, _, _ = await _call(
                        http, "POST", daemon.url + "/api/contacts", admin, body
                    )
                    if status == 201:
                        return status
                    await asyncio.sleep(0.2)

            assert await asyncio.wait_for(served(), timeout=30) == 201
    finally:
        for process in frozen:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.resume()
        for d in daemons:
            d.close()
        await asyncio.to_thread(server.stop)
        shutil.rmtree(pg_dir, ignore_errors=True)


@pytest.mark.timeout(90)
async def test_twilio_500s_and_timeouts_send_each_sms_once_and_never_place_a_call_twice(
    db_url: str, tmp_path: Path, daemons: list[Daemon]
) -> None:
    """Twilio here is a mock in the test, answering from a script: Prism cannot be made to
    fail or hang on demand. The SMS meets a 500, then a request that hangs past
    `phone.api_timeout_seconds` and fails, then success: the outbox tries again until it
    is sent, and it reaches Twilio successfully once. (A timed-out request that Twilio did
    act on would send it twice: SMS go at least once, by design.) The call's first request
    hangs past the timeout and Twilio places it after all: contactd does not ask again, the
    callback goes back to the queue, and the next acceptance places a call of its own."""
    twilio = TwilioDouble(
        answers={"Messages": [500, "hang 503", 201], "Calls": ["hang 201", 201]}, hang_seconds=3
    )
    async with twilio.serving() as api_url, aiohttp.ClientSession() as http:
        env = {
            "CONTACTD_DATABASE_URL": db_url,
            **_twilio_env(
                api_url,
                CONTACTD_PHONE__API_TIMEOUT_SECONDS="1",
                CONTACTD_OUTBOX__BACKOFF_SECONDS="0.2",
            ),
        }
        daemon = await _start(daemons, "d", tmp_path, env)
        admin = await asyncio.to_thread(staff_token, "ada", "admin", env=env)
        capacity = {"call": 1, "callback": 1, "email": 1, "ticket": 1}
        # Two: a callback that comes back is not offered again to the agent who had it.
        agents = await _team(http, daemon.url, admin, 2, capacity=capacity, phones=True)

        # A callback booked on the web for later: its confirmation SMS goes at once.
        _, options, _ = await _call(http, "GET", daemon.url + "/api/callbacks")
        booking = {
            "number": "+4520123456",
            "case_type": "visa",
            "window": options["windows"][-1]["id"],
            "key": "resilience-sms-1",
        }
        status, booked, _ = await _call(http, "POST", daemon.url + "/api/callbacks", None, booking)
        assert status == 202, booked

        # A callback due now: offered, accepted, dialled; the dial hangs, fails, comes back.
        callback = {
            "channel": "callback",
            "case_type": "visa",
            "language": "da",
            "client_address": "+4520654321",
        }
        status, contact, _ = await _call(
            http, "POST", daemon.url + "/api/contacts", admin, callback
        )
        assert status == 201, contact
        reference = contact["reference"]
        accepted = 0
        conn = await asyncpg.connect(db_url)
        try:
            deadline = time.monotonic() + 40
            while True:
                assert time.monotonic() < deadline, f"stuck: {twilio.requests}"
                for agent in agents:
                    _, desk, _ = await _call(http, "GET", daemon.url + "/api/desk", agent)
                    for offered in [c for c in desk["contacts"] if c["state"] == "offered"]:
                        url = f"{daemon.url}/api/desk/contacts/{offered['reference']}/accept"
                        accepted += (await _call(http, "POST", url, agent))[0] == 200
                dials = await conn.fetch("SELECT * FROM outbox WHERE kind = 'dial' ORDER BY id")
                sms = await conn.fetchrow("SELECT * FROM outbox WHERE kind = 'sms'")
                if len(dials) == 2 and dials[1]["sent_at"] and sms and sms["sent_at"]:
                    break
                await asyncio.sleep(0.1)
            events = await conn.fetch(
                "SELECT e.action, e.actor FROM contact_events e JOIN contacts c"
                " ON c.id = e.contact_id WHERE c.reference = $1 ORDER BY e.id",
                reference,
            )
            assert sms is not None
            booked_reference = await conn.fetchval(
                "SELECT reference FROM contacts WHERE external_id = 'booking:resilience-sms-1'"
            )
            await asyncio.sleep(3.5)  # anything still to go would go now (the hang included)
            resent = await conn.fetchval(
                "SELECT count(*) FROM outbox WHERE kind IN ('sms', 'dial')"
            )
        finally:
            await conn.close()
        assert await asyncio.to_thread(daemon.interrupt) == 0

    print(
        f"\ntwilio: SMS answers {[s for _, s in twilio.of('Messages')]} in "
        f"{sms['attempts']} attempts; calls {[s for _, s in twilio.of('Calls')]}, "
        f"dial messages {[(d['attempts'], d['last_error']) for d in dials]}"
    )
    messages = twilio.of("Messages")
    assert [s for _, s in messages] == [500, 503, 201]
    assert {f["To"] for f, _ in messages} == {"+4520123456"}  # all three for the one message
    # The web's answer carries no reference (issue 17): the SMS does, the one booked.
    assert f"Reference: {booked_reference}." in messages[-1][0]["Body"]
    assert (sms["attempts"], sms["failed_at"]) == (3, None)

    calls = twilio.of("Calls")
    assert [(_dialled(f), s) for f, s in calls] == [(reference, 201), (reference, 201)]
    assert len(dials) == 2, "one dial message per acceptance"
    first, second = dials
    assert (first["attempts"], first["sent_at"]) == (1, None), "a dial is tried once"
    assert first["failed_at"] is not None
    assert "TimeoutError" in first["last_error"]
    assert (second["attempts"], second["failed_at"]) == (1, None)
    assert accepted == 2
    assert [e["action"] for e in events] == [
        "created",
        "offer",
        "accept",
        "requeue",
        "offer",
        "accept",
    ]
    assert [e["actor"] for e in events][3] == "outbox"
    assert resent == 3, "nothing more was written or sent"
    assert len(twilio.of("Calls")) == 2
