"""The service centre: tickets issued per second, the board's call-to-screen latency, and
the board connections one daemon holds.

    .venv/bin/python -m bench.tickets [--only issue|latency|held]
        [--seconds 20] [--clients 50] [--case-types family,work,...] [--no-pgbench]
        [--screens 100] [--recalls 200] [--spacing 0.05-0.1]
        [--held 1000] [--updates 20] [--update-every 1.0]

Each part starts `contactd run` on a fresh embedded PostgreSQL (its default settings, fsync
on) with a copy of config/contactd.toml in which the service centre's ticket calendar is open
every day, all day (00:00-23:59, no holidays, no closed days), so the kiosk answers at any
hour; wrap-up is 0 s and the classifier is off (tickets carry their case type). Staff are
added with `contactd staff add`, as an operator does.

1. Issue: wrk (Debian package) POSTs /api/tickets from `--clients` connections for
   `--seconds`, as a front-desk kiosk, each request with its own request_id (wrk thread and
   count), the case types taken in turn from `--case-types` (default: one of each ticket
   queue; `--case-types family` puts every ticket in one queue). wrk notes the number of
   every 201. Checked after: per queue (its letter), the numbers in the database are 1..N
   without a gap or a repeat, N is the letter's counter for the day, every number wrk saw is
   there and was seen once; tickets the daemon committed while wrk was stopping (at most one
   per connection) are stored without wrk reading their 201. Every issue counts the tickets
   waiting ahead of the new one (its place), and none is served here, so the rate falls as
   the queues grow (at 500/s, 10,000 wait after 20 s); `--seconds 5` shows it with fewer
   waiting. The CPU of the daemon, of PostgreSQL and of wrk over the run is reported (two
   cores for all three).
   Then, unless `--no-pgbench`, the HTTP run's tickets are cancelled (through the store's
   transition, in one transaction; so that nothing waits, as when wrk started) and pgbench
   runs on the same server, with as many clients and for as long, the statements one issue
   runs: the token look-up; the look-up of the request id (a
   press answered before?); the contact (with its event and NOTIFY), the letter's next number
   and the ticket in one transaction; the ticket read back; its place. Its tickets are
   numbered on 2000-01-01, apart from the daemon's.
2. Latency: `--screens` clients (aiohttp, in this process) hold /api/board/events open; one
   ticket is called to counter 3 by a caseworker, then recalled `--recalls` times, a random
   `--spacing` seconds apart. For each recall and screen: from the recall's HTTP response
   (and from sending it) to the first board event whose first entry shows that call (its
   `calls`). The daemon reads the board 0.2 s after it is woken (contactd/http/live.py:
   changes in a burst make one snapshot), so recalls closer than that share an event and
   `--spacing 0.5` shows each call on its own.
3. Held: `--held` screens connect (100 at a time), then `--updates` recalls are made
   `--update-every` seconds apart (apart enough that each is its own snapshot). Checked: every
   screen got every update. Reported: delivery latency as in 2, the daemon's RSS before and
   with the connections, its CPU (and the embedded PostgreSQL's) while connecting and during
   the updates.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import psutil

from bench.common import ROOT, Daemon, apt_install, fill, pg_bin, store_connection
from contactd import settings
from contactd.clock import wall_clock
from contactd.metrics import NOT_RECORDED
from contactd.store import contacts, queries
from routing.calendar import WEEKDAYS
from routing.contact import Action

# One case type of each queue that takes tickets (config/contactd.toml, in queue order).
EVERY_QUEUE = "family,work,asylum,residence_card,visa,appeal,general"
ALL_DAY = "".join(f'{day} = ["00:00-23:59"]\n' for day in WEEKDAYS)
SERVICE_CENTRE = re.compile(r"^\[calendars\.service_centre\]\n(?:.+\n)*", re.MULTILINE)
BASE_ENV = {
    "CONTACTD_CLASSIFIER__ENABLED": "false",
    "CONTACTD_ROUTING__WRAP_UP_SECONDS": "0",
}
MIB = 2**20

WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {token}"
local case_types = {{{case_types}}}
local threads = {{}}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  n = 0
  created = 0
  seen = {{}}
end

function request()
  n = n + 1
  local body = string.format('{{"case_type": "%s", "language": "da", "priority": "normal", ' ..
    '"request_id": "kiosk-%d-%09d"}}', case_types[n % #case_types + 1], id, n)
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if status == 201 then
    created = created + 1
    seen[created] = string.match(body, '"number": "(%u%d+)"') or "?"
  end
end

function done(summary, latency, requests)
  local out = io.open("{numbers}", "w")
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("created")
    for _, number in ipairs(thread:get("seen")) do out:write(number, "\\n") end
  end
  out:close()
  io.write(string.format("JSON %d %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout, total))
end
"""


# --- the daemon ---------------------------------------------------------------------------


def kiosk_config(folder: Path) -> Path:
    """config/contactd.toml with the service centre open every day, all day; its case types
    file next to it."""
    text = (ROOT / "config" / "contactd.toml").read_text(encoding="utf-8")
    block = f'[calendars.service_centre]\n{ALL_DAY}holidays = "none"\nclosed_days = []\n'
    text, found = SERVICE_CENTRE.subn(block, text)
    assert found == 1, "config/contactd.toml has no [calendars.service_centre]"
    path = folder / "contactd.toml"
    path.write_text(text, encoding="utf-8")
    shutil.copy(ROOT / "config" / "case_types.toml", folder / "case_types.toml")
    return path


def wait_until_open(config: Path, seconds: float) -> None:
    """The one closed minute (23:59-00:00) must not fall within the run."""
    calendar = settings.load(config, {}).calendars["service_centre"]
    now = datetime.now(UTC)
    if calendar.is_open(now) and calendar.is_open(now + timedelta(seconds=seconds)):
        return
    opens = calendar.next_open(now + timedelta(seconds=seconds))
    assert opens is not None
    time.sleep((opens - now).total_seconds() + 1)


def staff_token(config: Path, data: Path, login: str, role: str) -> str:
    """Added with the CLI, as an operator does; the token it prints."""
    out = subprocess.run(
        [sys.executable, "-m", "contactd", "--config", str(config), "staff", "add", login,
         "--name", login.title(), "--role", role, "--data-dir", str(data)],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return out.strip().splitlines()[-1]


@dataclass
class Centre:
    daemon: Daemon
    data: Path
    config: Path
    tokens: dict[str, str]

    @property
    def url(self) -> str:
        return self.daemon.url

    def socket_dir(self) -> str:
        return (self.data / "pgdata" / "postmaster.pid").read_text().splitlines()[4]

    def sql(self, query: str) -> str:
        """The result of one statement on the daemon's embedded server, through psql."""
        command = [pg_bin("psql"), "-h", self.socket_dir(), "-U", "postgres", "-d", "postgres",
                   "-v", "ON_ERROR_STOP=1", "-Atc", query]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode:
            raise SystemExit(f"psql: {done.stderr.strip()}\n{query}")
        return done.stdout.strip()

    def postgres(self) -> psutil.Process:
        return psutil.Process(int((self.data / "pgdata" / "postmaster.pid").read_text().split()[0]))


@contextlib.contextmanager
def service_centre(run_seconds: float) -> Iterator[Centre]:
    folder = Path(tempfile.mkdtemp(prefix="contactd-bench-tickets-"))
    config = kiosk_config(folder)
    data = folder / "data"
    tokens = {
        login: staff_token(config, data, login, role)
        for login, role in (("kiosk", "frontdesk"), ("lead", "supervisor"), ("karin", "agent"))
    }
    wait_until_open(config, run_seconds)
    daemon = Daemon(data, env={**BASE_ENV, "CONTACTD_CONFIG": str(config)})
    try:
        daemon.wait_ready()
        yield Centre(daemon=daemon, data=data, config=config, tokens=tokens)
    finally:
        daemon.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _cpu(processes: list[psutil.Process]) -> float:
    total = 0.0
    for p in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = p.cpu_times()
            total += times.user + times.system
    return total


def _postgres_processes(centre: Centre) -> list[psutil.Process]:
    postmaster = centre.postgres()
    return [postmaster, *postmaster.children(recursive=True)]


class CpuMeter:
    """CPU seconds of the daemon and of the embedded PostgreSQL (all its backends) over a
    stretch of wall time, as a share of one core."""

    def __init__(self, centre: Centre) -> None:
        self.centre = centre
        self.daemon = psutil.Process(centre.daemon.process.pid)
        self.started = time.perf_counter()
        self.daemon_cpu = _cpu([self.daemon])
        self.pg_cpu = _cpu(_postgres_processes(centre))

    def read(self) -> dict[str, float]:
        wall = time.perf_counter() - self.started
        daemon = _cpu([self.daemon]) - self.daemon_cpu
        pg = _cpu(_postgres_processes(self.centre)) - self.pg_cpu  # ended backends not counted
        return {
            "wall_s": round(wall, 2),
            "daemon_cpu_percent_of_a_core": round(100 * daemon / wall, 1),
            "postgres_cpu_percent_of_a_core": round(100 * pg / wall, 1),
        }


# --- 1. issuing tickets -------------------------------------------------------------------


def settle(centre: Centre) -> None:
    """Until the requests wrk left in flight are done: the count of tickets stays the same."""
    count = ""
    while (now := centre.sql("SELECT count(*) FROM tickets")) != count:
        count = now
        time.sleep(0.5)


def check_numbers(centre: Centre, seen: list[str]) -> dict[str, Any]:
    """Per queue (its letter): the numbers stored are 1..N, N is the letter's counter; what
    wrk saw is a subset, seen once each."""
    settle(centre)
    rows = centre.sql(
        "SELECT t.queue, d.letter, d.last, string_agg(t.number, ',') FROM tickets t "
        "JOIN ticket_days d ON d.day = t.day AND d.letter = left(t.number, 1) "
        "GROUP BY t.queue, d.letter, d.last"
    ).splitlines()
    stored: list[str] = []
    missing: list[str] = []
    per_queue: dict[str, int] = {}
    gapless = True
    for line in rows:
        queue, letter, last, numbers = line.split("|")
        these = numbers.split(",")
        counts = sorted(int(n[1:]) for n in these)
        per_queue[f"{queue} ({letter})"] = per_queue.get(f"{queue} ({letter})", 0) + len(counts)
        gapless &= counts == list(range(1, int(last) + 1))
        missing += [f"{letter}{n:03d}" for n in sorted(set(range(1, int(last) + 1)) - set(counts))]
        stored += these
    tickets = int(centre.sql("SELECT count(*) FROM tickets"))
    contacts = int(centre.sql("SELECT count(*) FROM contacts"))
    counters = centre.sql("SELECT letter, day, last FROM ticket_days ORDER BY letter, day")
    days = centre.sql("SELECT day, count(*) FROM tickets GROUP BY day ORDER BY day")
    unnumbered = centre.sql(
        "SELECT number, day FROM tickets t WHERE NOT EXISTS (SELECT FROM ticket_days d "
        "WHERE d.letter = left(t.number, 1) AND d.day = t.day) ORDER BY number LIMIT 20"
    )
    return {
        "tickets_stored": tickets,
        "contacts_stored": contacts,
        "per_queue": per_queue,
        "counters (letter|day|last)": counters.splitlines(),
        "tickets per day": days.splitlines(),
        "numbers missing (first 20)": missing[:20],
        "tickets without a counter (first 20)": unnumbered.splitlines(),
        "numbers_1_to_n_without_gaps_or_repeats": gapless and len(stored) == tickets,
        "created_201_seen_by_wrk": len(seen),
        "every_201_number_stored_once": len(set(seen)) == len(seen) and set(seen) <= set(stored),
        "stored_without_a_201_read (in flight when wrk stopped)": len(set(stored) - set(seen)),
    }


def run_wrk(centre: Centre, case_types: list[str], clients: int, seconds: int) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="contactd-bench-wrk-"))
    numbers = folder / "numbers.txt"
    script = folder / "issue.lua"
    script.write_text(
        WRK_SCRIPT.format(
            token=centre.tokens["kiosk"],
            case_types=", ".join(f'"{c}"' for c in case_types),
            numbers=numbers,
        )
    )
    meter = CpuMeter(centre)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(
        ["wrk", "-t2", f"-c{clients}", f"-d{seconds}s", "-s", str(script),
         f"{centre.url}/api/tickets"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    cpu = meter.read()
    ended = resource.getrusage(resource.RUSAGE_CHILDREN)
    wrk_cpu = ended.ru_utime + ended.ru_stime - children.ru_utime - children.ru_stime
    cpu["wrk_cpu_percent_of_a_core"] = round(100 * wrk_cpu / cpu["wall_s"], 1)
    found = re.search(r"JSON (.*)", out)
    assert found, out
    n, duration_us, p50, p99, status_errors, socket_errors, created = (
        int(x) for x in found.group(1).split()
    )
    seen = numbers.read_text().split()
    shutil.rmtree(folder, ignore_errors=True)
    assert len(seen) == created
    return {
        "tickets_per_s": round(n / (duration_us / 1e6), 1),
        "p50_ms": round(p50 / 1000, 2),
        "p99_ms": round(p99 / 1000, 2),
        "responses": n,
        "non_2xx": status_errors,
        "socket_errors": socket_errors,
        "cpu_during_run": cpu,
        "seen": seen,
    }


def pgbench_script(token_hash_hex: str, case_types: list[str], queue_of: dict[str, str],
                   letter_of: dict[str, str], priority_of: dict[str, int],
                   served_by: dict[str, str]) -> str:  # fmt: skip
    """The statements of one issue, for pgbench: the token look-up; the look-up of the
    press's request id; in one transaction the contact (with its event and NOTIFY), the
    letter's next number and the ticket; the ticket read back; its place. Numbered on
    2000-01-01, so they do not mix with the daemon's."""

    def pick(values: list[str]) -> str:
        return "(ARRAY[" + ", ".join(values) + "])[CAST(:k AS integer)]"

    def one_line(sql: str) -> str:
        return " ".join(
            " ".join(
                line for line in sql.splitlines() if not line.lstrip().startswith("--")
            ).split()
        )

    case_type = pick([f"'{c}'" for c in case_types])
    queue = pick([f"'{queue_of[c]}'" for c in case_types])
    letter = pick([f"'{letter_of[queue_of[c]]}'" for c in case_types])
    priority = pick([str(priority_of[queue_of[c]]) for c in case_types])
    served = (
        "string_to_array(" + pick([f"'{served_by[queue_of[c]]}'" for c in case_types]) + ", ',')"
    )
    external_id = "'kiosk' || chr(58) || 'pgbench-' || CAST(:r AS text)"  # no ':' for pgbench
    known = fill(queries.get("contact_by_external_id"), {"$1": "'ticket'", "$2": external_id})
    values = {
        "$1": "'P' || CAST(:r AS text)",
        "$2": "'ticket'",
        "$3": external_id,
        "$4": case_type,
        "$5": "'staff'",
        "$6": "NULL",
        "$7": "'da'",
        "$8": queue,
        "$9": priority,
        "$10": "now() + interval '30 minutes'",
        "$11": "NULL",
        "$12": "NULL",
        "$13": "NULL",
        "$14": "now()",
        "$15": "'staff-kiosk'",  # not 'staff:kiosk': pgbench would read ':kiosk' as a variable
        "$16": '\'{"queue_rule": "case_type"}\'',
        "$17": "NULL",
        "$18": "NULL",
        "$19": "'da'",  # the language the client reads, chosen at the kiosk
    }
    insert = fill(queries.get("insert_contact"), values)
    ticket = fill(
        queries.get("number_ticket"),
        {"$1": ":id", "$2": letter, "$3": "'2000-01-01'", "$4": queue, "$5": ":s_id"},
    )
    place = fill(
        queries.get("ticket_place"),
        {"$1": ":id", "$2": served, "$3": "now() - interval '120 minutes'"},
    )
    lookup = fill(
        queries.get("staff_by_token"), {"$1": f"'\\x{token_hash_hex}'::bytea", "$2": "now()"}
    )
    of = fill(queries.get("ticket_of"), {"$1": ":id"})
    return "\n".join(
        [
            "\\set r random(1, 999999999999999)",
            f"\\set k random(1, {len(case_types)})",
            one_line(lookup).rstrip(";"),
            "\\gset s_",
            one_line(known),
            "BEGIN;",
            one_line(insert).rstrip(";"),
            "\\gset",
            one_line(ticket),
            "COMMIT;",
            one_line(of),
            one_line(place),
            "",
        ]
    )


async def cancel_waiting(data: Path) -> None:
    """Every waiting contact cancelled, one store transition each (contactd.store.contacts),
    in one transaction: the daemon is woken once per queue, not once per contact."""
    conn = await store_connection(data)
    try:
        waiting = await conn.fetch("SELECT id FROM contacts WHERE state = 'queued'")
        now = wall_clock()
        async with conn.transaction():
            for row in waiting:
                await contacts.transition(
                    conn, row["id"], Action.CANCEL, now=now, actor="bench", recorder=NOT_RECORDED
                )
    finally:
        await conn.close()


def run_pgbench(centre: Centre, case_types: list[str], clients: int, seconds: int) -> float:
    config = settings.load(centre.config, {})
    queue_of = {
        c: next(q.code for q in config.queues if c in q.case_types and q.ticket_letter)
        for c in case_types
    }
    letter_of = {q.code: q.ticket_letter or "X" for q in config.queues}
    priority_of = {q.code: q.priority for q in config.queues}
    served_by = {q.code: ",".join(sorted(q.case_types)) for q in config.queues}
    token_hash = centre.sql("SELECT encode(token_hash, 'hex') FROM staff WHERE login = 'kiosk'")
    # Counting a ticket's place costs more the more wait ahead of it: start as wrk started,
    # with none waiting.
    asyncio.run(cancel_waiting(centre.data))
    sql = Path(tempfile.mkstemp(suffix=".sql")[1])
    sql.write_text(
        pgbench_script(token_hash, case_types, queue_of, letter_of, priority_of, served_by)
    )
    bench = subprocess.run(
        [pg_bin("pgbench"), "-h", centre.socket_dir(), "-U", "postgres", "-n", "-M", "prepared",
         "-c", str(clients), "-j", "2", "-T", str(seconds), "-f", str(sql), "postgres"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    sql.unlink()
    if bench.returncode:
        raise SystemExit(f"pgbench failed:\n{bench.stdout}\n{bench.stderr}")
    found = re.search(r"tps = ([\d.]+)", bench.stdout)
    assert found, bench.stdout
    return float(found.group(1))


def issue(args: argparse.Namespace) -> dict[str, Any]:
    case_types = args.case_types.split(",")
    with service_centre(args.seconds * 2 + 30) as centre:
        run = run_wrk(centre, case_types, args.clients, args.seconds)
        seen = run.pop("seen")
        checked = check_numbers(centre, seen)
        pg_rate = (
            None if args.no_pgbench else run_pgbench(centre, case_types, args.clients, args.seconds)
        )
    result: dict[str, Any] = {
        "clients": args.clients,
        "seconds": args.seconds,
        "case_types": case_types,
        **run,
        "check": checked,
    }
    in_flight = checked["stored_without_a_201_read (in flight when wrk stopped)"]
    if not (
        checked["numbers_1_to_n_without_gaps_or_repeats"]
        and checked["every_201_number_stored_once"]
        and 0 <= in_flight <= args.clients
    ):
        raise SystemExit(f"the tickets are not numbered as they should be:\n{json.dumps(result)}")
    if pg_rate is not None:
        result["pgbench_tickets_per_s"] = round(pg_rate, 1)
        result["ratio_http_to_pgbench"] = round(run["tickets_per_s"] / pg_rate, 2)
    return result


# --- the board ----------------------------------------------------------------------------


@dataclass
class Screen:
    """One board client: the raw `data:` lines it received, with when."""

    events: list[tuple[float, bytes]] = field(default_factory=list)
    first: asyncio.Event = field(default_factory=asyncio.Event)

    def calls(self) -> list[tuple[float, int, str]]:
        """(received at, calls of the first entry, its number) per event."""
        out = []
        for at, line in self.events:
            called = json.loads(line[6:])["called"]
            if called:
                out.append((at, int(called[0]["calls"]), str(called[0]["number"])))
        return out


async def watch(session: aiohttp.ClientSession, url: str, screen: Screen) -> None:
    async with session.get(url + "/api/board/events") as response:
        assert response.status == 200, response.status
        async for line in response.content:
            if line.startswith(b"data: "):
                screen.events.append((time.perf_counter(), line))
                screen.first.set()


async def connect(
    session: aiohttp.ClientSession, url: str, n: int, at_once: int = 100
) -> tuple[list[Screen], list[asyncio.Task[None]]]:
    """`n` screens, each holding the board's stream, `at_once` connecting at a time (the
    listen backlog is 128); returns when each has its first snapshot."""
    screens = [Screen() for _ in range(n)]
    tasks: list[asyncio.Task[None]] = []
    gate = asyncio.Semaphore(at_once)

    async def open_one(screen: Screen) -> None:
        async with gate:
            tasks.append(asyncio.create_task(watch(session, url, screen)))
            async with asyncio.timeout(30):
                await screen.first.wait()

    try:
        await asyncio.gather(*(open_one(s) for s in screens))
    except TimeoutError:
        dead = [t for t in tasks if t.done()]
        why = dead[0].exception() if dead else "no first snapshot within 30 s"
        raise SystemExit(f"a screen did not connect: {why}") from None
    return screens, tasks


async def call_a_ticket(session: aiohttp.ClientSession, centre: Centre) -> tuple[str, str]:
    """A ticket issued and called to counter 3 by karin; (its reference, its number)."""
    url, tokens = centre.url, centre.tokens

    def auth(login: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[login]}"}

    async with session.post(
        url + "/api/tickets",
        json={"case_type": "family", "request_id": "bench-board-1"},
        headers=auth("kiosk"),
    ) as r:
        assert r.status == 201, await r.text()
        number = (await r.json())["number"]
    profile = {"skills": {"family": 3}, "languages": ["da"], "counter": "3"}
    async with session.put(url + "/api/agents/karin", json=profile, headers=auth("lead")) as r:
        assert r.status == 200, await r.text()
    async with session.post(
        url + "/api/desk/state", json={"state": "available"}, headers=auth("karin")
    ) as r:
        assert r.status == 200, await r.text()
    async with asyncio.timeout(20):
        while True:
            async with session.get(url + "/api/desk", headers=auth("karin")) as r:
                desk = await r.json()
            if desk["contacts"]:
                reference = str(desk["contacts"][0]["reference"])
                break
            await asyncio.sleep(0.05)
    async with session.post(
        url + f"/api/desk/contacts/{reference}/accept", headers=auth("karin")
    ) as r:
        assert r.status == 200, await r.text()
    return reference, number


@dataclass
class Recall:
    sent: float
    answered: float
    calls: int


async def recall(session: aiohttp.ClientSession, centre: Centre, reference: str) -> Recall:
    headers = {"Authorization": f"Bearer {centre.tokens['karin']}"}
    sent = time.perf_counter()
    async with session.post(
        centre.url + f"/api/desk/contacts/{reference}/recall", headers=headers
    ) as r:
        body = await r.json()
    answered = time.perf_counter()
    assert r.status == 200, body
    return Recall(sent=sent, answered=answered, calls=int(body["calls"]))


def latencies(
    screens: list[Screen], recalls: list[Recall], number: str
) -> tuple[list[float], list[float], int]:
    """Per recall and screen, seconds from the recall's response (and from sending it) to the
    first event showing it; how many (recall, screen) pairs never showed."""
    from_response, from_sent, missing = [], [], 0
    for screen in screens:
        shown = [(at, calls) for at, calls, n in screen.calls() if n == number]
        for made in recalls:
            at = next((at for at, calls in shown if calls >= made.calls), None)
            if at is None:
                missing += 1
                continue
            from_response.append(at - made.answered)
            from_sent.append(at - made.sent)
    return from_response, from_sent, missing


def summary_ms(values: list[float]) -> dict[str, float]:
    ms = sorted(v * 1000 for v in values)
    return {
        "p50": round(statistics.median(ms), 1),
        "p99": round(statistics.quantiles(ms, n=100, method="inclusive")[98], 1),
        "max": round(ms[-1], 1),
        "min": round(ms[0], 1),
    }


def _spacing(text: str) -> tuple[float, float]:
    low, _, high = text.partition("-")
    return float(low), float(high or low)


def _session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0),
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=30),
    )


async def _stop(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


# --- 2. call to screen --------------------------------------------------------------------


async def board_latency(centre: Centre, args: argparse.Namespace) -> dict[str, Any]:
    low, high = _spacing(args.spacing)
    rng = random.Random(7)
    async with _session() as session:
        reference, number = await call_a_ticket(session, centre)
        screens, tasks = await connect(session, centre.url, args.screens)
        for _ in range(3):  # warm: the recall path and the broadcast
            await recall(session, centre, reference)
            await asyncio.sleep(0.5)
        meter = CpuMeter(centre)
        made = []
        for _ in range(args.recalls):
            made.append(await recall(session, centre, reference))
            await asyncio.sleep(rng.uniform(low, high))
        await asyncio.sleep(1)  # the last one reaches every screen
        cpu = meter.read()
        await _stop(tasks)
    from_response, from_sent, missing = latencies(screens, made, number)
    events = [len(s.events) for s in screens]
    return {
        "screens": args.screens,
        "recalls": args.recalls,
        "spacing_s": [low, high],
        "recall_http_ms": summary_ms([m.answered - m.sent for m in made]),
        "board_events_per_screen": [min(events), max(events)],
        "response_to_screen_ms": summary_ms(from_response),
        "sent_to_screen_ms": summary_ms(from_sent),
        "never_shown": missing,
        "cpu": cpu,
    }


# --- 3. connections held ------------------------------------------------------------------


def raise_fd_limit(needed: int) -> int:
    """This process's open-file limit, raised (within the hard limit) to `needed`; the
    daemon started after inherits it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


async def held(centre: Centre, args: argparse.Namespace) -> dict[str, Any]:
    daemon = psutil.Process(centre.daemon.process.pid)
    async with _session() as session:
        reference, number = await call_a_ticket(session, centre)
        for _ in range(3):
            await recall(session, centre, reference)
        await asyncio.sleep(1)
        rss_before = daemon.memory_info().rss
        meter = CpuMeter(centre)
        started = time.perf_counter()
        screens, tasks = await connect(session, centre.url, args.held)
        connect_s = time.perf_counter() - started
        connecting_cpu = meter.read()
        await asyncio.sleep(2)
        rss_connected = daemon.memory_info().rss
        fds = daemon.num_fds()
        meter = CpuMeter(centre)
        made = []
        for _ in range(args.updates):
            made.append(await recall(session, centre, reference))
            await asyncio.sleep(args.update_every)
        updates_cpu = meter.read()
        rss_after = daemon.memory_info().rss
        await _stop(tasks)
    from_response, from_sent, missing = latencies(screens, made, number)
    got_all = sum(
        1
        for s in screens
        if {calls for _, calls, n in s.calls() if n == number} >= {m.calls for m in made}
    )
    return {
        "screens": args.held,
        "updates": args.updates,
        "update_every_s": args.update_every,
        "connect_all_s": round(connect_s, 2),
        "screens_with_every_update": got_all,
        "never_shown": missing,
        "events_per_screen": [
            min(len(s.events) for s in screens),
            max(len(s.events) for s in screens),
        ],
        "response_to_screen_ms": summary_ms(from_response),
        "sent_to_screen_ms": summary_ms(from_sent),
        "daemon_open_fds_with_screens": fds,
        "daemon_rss_mib": {
            "before": round(rss_before / MIB, 1),
            "with_screens": round(rss_connected / MIB, 1),
            "after_updates": round(rss_after / MIB, 1),
            "per_screen_kib": round((rss_connected - rss_before) / args.held / 1024, 1),
        },
        "cpu_while_connecting": connecting_cpu,
        "cpu_during_updates": updates_cpu,
    }


# --- the command --------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=["issue", "latency", "held"])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--case-types", default=EVERY_QUEUE)
    parser.add_argument("--no-pgbench", action="store_true")
    parser.add_argument("--screens", type=int, default=100)
    parser.add_argument("--recalls", type=int, default=200)
    parser.add_argument("--spacing", default="0.05-0.1", help="seconds between recalls: a-b")
    parser.add_argument("--held", type=int, default=1000)
    parser.add_argument("--updates", type=int, default=20)
    parser.add_argument("--update-every", type=float, default=1.0)
    args = parser.parse_args()
    result: dict[str, Any] = {"open_files_limit": raise_fd_limit(args.held + args.screens + 1024)}
    if args.only in (None, "issue"):
        apt_install("wrk")
        result["issue"] = issue(args)
    if args.only in (None, "latency"):
        seconds = args.recalls * _spacing(args.spacing)[1] + 60
        with service_centre(seconds) as centre:
            result["board_latency"] = asyncio.run(board_latency(centre, args))
    if args.only in (None, "held"):
        with service_centre(args.updates * args.update_every + 120) as centre:
            result["board_held"] = asyncio.run(held(centre, args))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
