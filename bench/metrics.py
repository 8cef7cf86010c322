"""/metrics with 50 queues and 500 agents, the leader's statistics pass over a year of
contacts, and the number of time series exported.

    .venv/bin/python -m bench.metrics [--only scrape|statistics|series]
        [--queues 50] [--agents 500] [--waiting 3000] [--scrapes 200] [--statistics-seconds 2]
        [--contacts 1000000] [--passes 30] [--explain]

One embedded PostgreSQL (the wheel's, its default settings) is started in a temporary
directory, with a migrated database per part; everything started is stopped at the end.

1. Scrape: a copy of config/contactd.toml with `--queues` queues q01..q50 instead of the
   agency's seven (each takes two case types; every queue takes calls, callbacks and
   e-mails with the shipped goals, call thresholds of 3, 5 and 10 minutes in turn; the
   first 23 take tickets too: a ticket queue needs its own letter and there are 23 of them,
   A-Z without I, O and Q), `--agents` agents with three skills each (100 offline, 40 away,
   40 in wrap-up, the rest available, 250 of them holding a contact), and the day's traffic
   written straight into the database: `--waiting` contacts waiting across every queue and
   channel, the agents' active ones, some 8,000 answered or abandoned today, callbacks due,
   e-mails answered, satisfaction answers, messages pending in the outbox for every kind.
   `contactd run` (a process, the real HTTP stack) serves it with
   `metrics.statistics_seconds` = `--statistics-seconds` (the pass runs during the scrapes)
   and the classifier off. Once the leader's figures are on /metrics, `--scrapes` GETs
   /metrics one after the other on one keep-alive connection: p50/p99/max, body size,
   sample lines. Twice: a daemon just started (its counters have counted nothing yet), and
   the same daemon's code with every per-instance counter and histogram counted once for
   every label value it can take (`python -m bench.metrics --serve-full-day`, below): the
   scrape of a day on which every queue and channel saw every outcome, the largest it gets.
2. Statistics: the agency's configuration (config/contactd.toml, 7 queues) and `--contacts`
   finished contacts over the 365 days before today (weekdays, in opening hours; calls 68 %,
   callbacks 5 %, e-mails 12 %, tickets 15 %: the agency's 300k calls, 50k e-mails and 60k
   visits a year, scaled up; each with consistent answered_at, closed_at, first_response_at
   and due_at, 8 % of calls abandoned, some callbacks not reached, tickets no-shows), 5 % of
   them asked and answering the satisfaction question, an outbox row for every e-mail and
   callback, 400 agents, and today until 14:00 (1,500 calls, 200 e-mails, 250 tickets, 60
   callbacks; the recent ones still waiting or active), then VACUUM ANALYZE. Timed:
   `statistics.snapshot(conn, settings, now)` `--passes` times (p50/p99, after 3 warm-up
   passes), each query it runs (timed inside the pass), and `statistics.families`. When the
   pass is over its aim (or with `--explain`), EXPLAIN (ANALYZE, BUFFERS) of the slowest
   query goes to stderr.
3. Series: the number of time series (sample lines) by the formula below, for the leader
   and for a follower, against the counts measured in 1.

The formula (no `_created` samples: contactd/metrics.py turns them off; a histogram child is
its buckets, +Inf, `_sum` and `_count`):

    P   queue-channel pairs (sum over queues of the channels each takes; 4Q if all take all)
    Pw  pairs whose goal threshold is wall-clock (calls and tickets as shipped)
    R   pairs given staffing advice: calls and tickets with a wall-clock threshold
    Qcb, Qe, Qs   queues taking callbacks, taking e-mail, with staffing advice
    K   case types; O outbox kinds (email, sms, dial, connect); M rows of channel_status
    B   wait-histogram buckets (metrics.wait_buckets: 11 + thresholds not among them)
    H   handle-histogram buckets (7); the confidence histogram has 11

    per instance (leader and follower), every label value counted at least once:
        P * (B + H + 15) + 6K + 3O + 21
        (offered 1, answered 2, abandoned 3, finished 1, wait B + 3, handle H + 3,
         csat answers and score 2 per pair; received 4K, predictions 2K; outbox sent O,
         errors 2O; live clients 3 (board, status, desk); build info, leader, retention purged,
         csat goal, confidence 17)
    a daemon just started: 9P + 20 (the pairs' counters start at zero)
    leader only, every pair with traffic today:
        13P + Pw + 7R + 2Qcb + Qe + 4Q + Qs + 5 + O + 2M + 3
    all queues taking the 4 channels (P = 4Q, Pw = R = 2Q, Qcb = Qe = Qs = Q):
        per instance 4Q(B + H + 15) + 6K + 3O + 21, leader 76Q + O + 2M + 8

The daemon's own figures (HTTP requests by route, the event loop's lag, the process; issue 22)
grow with the routes used, not with the configuration: they are counted apart
(`series_daemon_itself`), outside the formula.

The per-instance part starts at 9P + 20 and grows during a day, up to the bound, as
histograms and the other labels are first used; the leader part is there from the first
pass.

--serve-full-day: `contactd run` as a child process, the same code, except that the
registry gets every per-instance label value counted once before the server starts (the
hook on contactd.metrics.Metrics, below). Used by part 1; not for production.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import re
import shutil
import statistics as stats
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import asyncpg

from bench import fixtures
from bench.common import ROOT, Daemon, further_names
from channels.ports import OUTBOX_KINDS
from contactd import logs, metrics, settings
from contactd.services import statistics, statistics_export
from contactd.store import database, embedded, migrations, queries
from routing.contact import Channel
from routing.queues import Queue

CHANNELS = ("call", "callback", "email", "ticket")
# contactd/settings/queues.py: the letters a ticket queue is given, A-Z but I O Q
TICKET_LETTERS = 23
LIVE_STREAMS = ("board", "status", "desk")
AGENT_STATES = 5  # available, busy, wrap_up, away, offline
HANDLE_BUCKETS = len(metrics.HANDLE_BUCKETS)
CONFIDENCE_SAMPLES = len(metrics.CONFIDENCE_BUCKETS) + 3  # buckets, +Inf, sum, count
MIB = 2**20
AIM_SCRAPE_MS = 50
AIM_PASS_MS = 200


def log(message: str) -> None:
    print(f"[bench.metrics] {message}", file=sys.stderr, flush=True)


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    return {
        "p50_ms": round(1000 * percentile(seconds, 0.5), 2),
        "p99_ms": round(1000 * percentile(seconds, 0.99), 2),
        "max_ms": round(1000 * max(seconds), 2),
        "min_ms": round(1000 * min(seconds), 2),
    }


def case_types() -> list[str]:
    with (ROOT / "config" / "case_types.toml").open("rb") as f:
        return list(tomllib.load(f))


# --- the server ---------------------------------------------------------------------------


@contextlib.contextmanager
def postgres(folder: Path) -> Iterator[str]:
    """The wheel's PostgreSQL in `folder`, stopped when done."""
    server = embedded.start(folder)
    try:
        yield server.url
    finally:
        server.stop()


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def fresh_database(url: str, name: str) -> str:
    """A new migrated database on the server; its URL."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    target = with_database(url, name)
    await migrations.migrate_database(target)
    return target


# --- 1. the scrape ------------------------------------------------------------------------


def queue_codes(count: int) -> list[str]:
    return [f"q{i:02d}" for i in range(1, count + 1)]


def queue_case_types(count: int, kinds: Sequence[str]) -> dict[str, list[str]]:
    """Two case types per queue; the first 13 queues between them take every one."""
    return {
        code: sorted({kinds[i % len(kinds)], kinds[(i + 5) % len(kinds)]})
        for i, code in enumerate(queue_codes(count))
    }


def fifty_queues_config(folder: Path, count: int, statistics_seconds: float) -> Path:
    """config/contactd.toml with `count` queues instead of the agency's seven."""
    shipped = (ROOT / "config" / "contactd.toml").read_text(encoding="utf-8")
    head = shipped[: shipped.index("[queues.")]
    blocks = []
    for i, (code, types) in enumerate(queue_case_types(count, case_types()).items()):
        channels = ["call", "callback", "email"] + (["ticket"] if i < TICKET_LETTERS else [])
        call_minutes = (5, 3, 10)[i % 3]
        goals = [
            f'goals.call = {{ threshold = "{call_minutes} minutes", target = 0.8, '
            "sl_variant = 1 }",
            'goals.callback = { threshold = "4 working hours", target = 0.9 }',
            'goals.email = { threshold = "5 working days", target = 0.9, calendar = "office" }',
        ]
        if "ticket" in channels:
            goals.append(
                'goals.ticket = { threshold = "30 minutes", target = 0.8, sl_variant = 3, '
                'calendar = "service_centre" }'
            )
        blocks.append(
            f"[queues.{code}]\n"
            f'name_da = "Kø {code}"\nname_en = "Queue {code}"\nnames = {further_names(code)}\n'
            f"case_types = {json.dumps(types)}\nchannels = {json.dumps(channels)}\n"
            f'priority = {(20, 10, 30)[i % 3]}\ncalendar = "phone"\n'
            "bullseye = [[0, 3], [120, 2], [300, 1]]\n" + "\n".join(goals) + "\n"
        )
    text = f"{head}{chr(10).join(blocks)}\n[metrics]\nstatistics_seconds = {statistics_seconds}\n"
    path = folder / "contactd.toml"
    path.write_text(text, encoding="utf-8")
    shutil.copy(ROOT / "config" / "case_types.toml", folder / "case_types.toml")
    return path


class FullDayDaemon(Daemon):
    """`contactd run` with every per-instance label value counted once (--serve-full-day)."""

    def __init__(self, data_dir: Path, env: dict[str, str]) -> None:
        self.data_dir = data_dir
        self.log = Path(tempfile.mkstemp(prefix="contactd-bench-", suffix=".log")[1])
        self._out = self.log.open("wb")
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.metrics", "--serve-full-day", "run",
             "--data-dir", str(data_dir), "--port", "0"],
            stdout=self._out, stderr=subprocess.STDOUT,
            env={**os.environ, "CONTACTD_DAEMON__LOG_LEVEL": "warning", **env},
        )  # fmt: skip
        self.url = ""
        self.ready_after = 0.0


def count_a_full_day(counted: metrics.Metrics, config: settings.Settings) -> None:
    """Every per-instance label value counted once: the largest scrape a day can make."""
    for q in config.queues:
        for each in sorted(q.channels):
            qc = (q.code, str(each))
            counted.offered.labels(*qc).inc()
            counted.finished.labels(*qc).inc()
            for wait in ("within_goal", "after_goal"):
                counted.answered.labels(*qc, wait).inc()
            for wait in ("short", "within_goal", "after_goal"):
                counted.abandoned.labels(*qc, wait).inc()
            counted.wait.labels(*qc).observe(42)
            counted.handle.labels(*qc).observe(300)
            counted.csat_answered(*qc, 4)
    for code in config.case_types:
        for channel in CHANNELS:
            counted.received.labels(channel, code).inc()
        counted.prediction(code, 0.9, routed=True)
        counted.prediction(code, 0.3, routed=False)
    for kind in OUTBOX_KINDS:
        counted.outbox_sent.labels(kind).inc()
        for result in ("retry", "failed"):
            counted.outbox_errors.labels(kind, result).inc()
    counted.live_clients.labels("desk").set(1)


def serve_full_day(argv: list[str]) -> int:
    """The daemon (contactd.cli.main), its registry counted full before it serves."""
    from contactd.cli import main as cli

    config = settings.load()
    made = metrics.Metrics.__init__

    def made_counted(self: metrics.Metrics, queues: Sequence[Queue], **options: float) -> None:
        made(self, queues, **options)
        count_a_full_day(self, config)

    # A hook for this bench only: the daemon's own code, its registry counted as it is made.
    metrics.Metrics.__init__ = made_counted  # type: ignore[method-assign]
    return cli.run_cli(argv)


def scrape_many(base_url: str, count: int) -> tuple[list[float], bytes]:
    """GET /metrics `count` times, one after the other, on one keep-alive connection."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    headers = {"Accept": "text/plain;version=0.0.4", "Connection": "keep-alive"}
    took = []
    body = b""
    try:
        for _ in range(count):
            started = time.perf_counter()
            connection.request("GET", "/metrics", headers=headers)
            response = connection.getresponse()
            body = response.read()
            took.append(time.perf_counter() - started)
            assert response.status == 200, response.status
    finally:
        connection.close()
    return took, body


def samples(body: bytes) -> list[str]:
    return [line for line in body.decode().splitlines() if line and not line.startswith("#")]


def by_family(lines: list[str]) -> Counter[str]:
    return Counter(re.split(r"[{ ]", line, maxsplit=1)[0] for line in lines)


# The daemon's own figures (contactd/http/observed.py): outside the formula, counted apart.
DAEMON_ITSELF = ("contactd_http_", "contactd_event_loop_lag_", "process_", "python_")


def leader_lines(lines: list[str]) -> list[str]:
    """The leader-only samples: the families LeaderFigures yields."""
    names = {
        "queue_waiting", "queue_oldest_wait_seconds", "queue_overdue", "queue_agents", "agents",
        "service_goal_target_ratio", "service_goal_variant", "service_goal_threshold_seconds",
        "today_answered", "today_abandoned", "service_level_ratio", "answer_rate_ratio",
        "abandonment_ratio", "asa_seconds", "callback_compliance_ratio", "callbacks_due",
        "email_first_response_business_seconds", "csat_score", "csat_answers",
        "outbox_pending", "outbox_oldest_pending_seconds", "channel_up",
        "channel_checked_timestamp_seconds",
    }  # fmt: skip
    return [
        line
        for line in lines
        if (name := re.split(r"[{ ]", line, maxsplit=1)[0].removeprefix("contactd_")) in names
        or name.startswith(("staffing_", "statistics_"))
    ]


def wait_for_figures(base_url: str, within: float = 60) -> None:
    """Until the leader's first pass is on /metrics (and one more pass after the router's)."""
    deadline = time.perf_counter() + within
    while time.perf_counter() < deadline:
        _, body = scrape_many(base_url, 1)
        if b"contactd_today_answered{" in body:
            return
        time.sleep(0.2)
    raise SystemExit("the leader's figures did not appear on /metrics")


def measure_scrapes(daemon: Daemon, count: int, settle: float) -> dict[str, Any]:
    daemon.wait_ready()
    wait_for_figures(daemon.url)
    time.sleep(settle)  # a pass or two with the router's first offers made
    scrape_many(daemon.url, 5)  # warm-up
    took, body = scrape_many(daemon.url, count)
    scraped = samples(body)
    own = [line for line in scraped if line.startswith(DAEMON_ITSELF)]
    lines = [line for line in scraped if not line.startswith(DAEMON_ITSELF)]
    durations = [
        float(line.split()[-1])
        for line in lines
        if line.startswith("contactd_statistics_duration_seconds ")
    ]
    return {
        "scrapes": count,
        **summary_ms(took),
        "body_kib": round(len(body) / 1024, 1),
        "series": len(lines),
        "series_leader_only": len(leader_lines(lines)),
        "series_per_instance": len(lines) - len(leader_lines(lines)),
        "series_daemon_itself": len(own),
        "last_statistics_pass_ms": round(1000 * durations[0], 1) if durations else None,
        "_lines": lines,
    }


def scrape(args: argparse.Namespace, folder: Path, url: str) -> dict[str, Any]:
    config_path = fifty_queues_config(folder, args.queues, args.statistics_seconds)
    config = settings.load(config_path, {})
    database_url = asyncio.run(fresh_database(url, "scrape"))
    log("scrape: writing agents and traffic")
    written = asyncio.run(fixtures.traffic(database_url, config, args.agents, args.waiting))
    env = {
        "CONTACTD_CONFIG": str(config_path),
        "CONTACTD_DATABASE_URL": database_url,
        "CONTACTD_CLASSIFIER__ENABLED": "false",
    }
    data = folder / "daemon"
    result: dict[str, Any] = {
        "queues": len(config.queues),
        "queue_channel_pairs": sum(len(q.channels) for q in config.queues),
        "agents": args.agents,
        "database": written,
        "statistics_seconds": args.statistics_seconds,
    }
    for name in ("fresh_daemon", "full_day_counters"):
        log(f"scrape: {name}")
        full = name == "full_day_counters"
        daemon = FullDayDaemon(data, env=env) if full else Daemon(data, env=env)
        try:
            result[name] = measure_scrapes(
                daemon, args.scrapes, settle=min(2 * args.statistics_seconds, 5)
            )
        finally:
            daemon.stop()
    result["_config"] = config
    return result


# --- 2. the statistics pass ---------------------------------------------------------------


class TimedConnection:
    """The connection a pass is given, timing every query the pass runs, by its name in
    contactd/store/sql/*.sql, and keeping its parameters (for EXPLAIN)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn
        self.took: dict[str, list[float]] = defaultdict(list)
        self.runs: dict[str, tuple[str, tuple[Any, ...]]] = {}

    def transaction(self, **options: Any) -> Any:
        return self._conn.transaction(**options)

    async def _timed(self, method: str, sql: str, *args: Any) -> Any:
        started = time.perf_counter()
        out = await getattr(self._conn, method)(sql, *args)
        name = QUERY_NAMES.get(sql, " ".join(sql.split())[:60])
        self.took[name].append(time.perf_counter() - started)
        self.runs[name] = (sql, args)
        return out

    async def fetch(self, sql: str, *args: Any) -> Any:
        return await self._timed("fetch", sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        return await self._timed("fetchrow", sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._timed("fetchval", sql, *args)


QUERY_NAMES = {sql: name for name, sql in queries.QUERIES.items()}


async def time_statistics(
    url: str, config: settings.Settings, now: datetime, passes: int, explain: bool
) -> dict[str, Any]:
    pass_config = statistics.StatisticsConfig.from_settings(config)  # as the leader's loop
    conn = await database.connect(url)
    try:
        for _ in range(3):  # warm-up: plans and buffers
            snap = await statistics.snapshot(conn, pass_config, now)
        took = []
        for _ in range(passes):
            started = time.perf_counter()
            snap = await statistics.snapshot(conn, pass_config, now)
            took.append(time.perf_counter() - started)
        families_took = []
        for _ in range(passes):
            started = time.perf_counter()
            statistics_export.families(snap, config.queues, 0.1)
            families_took.append(time.perf_counter() - started)
        # The same passes again, each query timed where it runs (in the pass's transaction).
        timed = TimedConnection(conn)
        for _ in range(passes):
            await statistics.snapshot(cast(database.Conn, timed), pass_config, now)
        per_query = {
            name: round(1000 * stats.median(values) * len(values) / passes, 2)
            for name, values in timed.took.items()
        }
        slowest = max(per_query, key=lambda k: per_query[k])
        over = 1000 * stats.median(took) > AIM_PASS_MS
        plans = {}
        for name in [slowest] if (over or explain) else []:
            sql, args = timed.runs[name]
            plan = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", *args)
            text = "\n".join(r[0] for r in plan)
            plans[name] = text
            print(f"\n--- EXPLAIN (ANALYZE, BUFFERS) {name}\n{text}\n", file=sys.stderr)
        used = await conn.fetch(
            "SELECT indexrelname, idx_scan FROM pg_stat_user_indexes "
            "WHERE relname = 'contacts' ORDER BY indexrelname"
        )
    finally:
        await conn.close()
    pass_ms = summary_ms(took)
    return {
        "passes": passes,
        "snapshot": pass_ms,
        "families": summary_ms(families_took),
        "families_series": sum(
            len(f.samples) for f in statistics_export.families(snap, config.queues, 0.1)
        ),
        # Per pass: the median of each query times the times a pass runs it.
        "query_median_ms": per_query,
        "queries_sum_ms": round(sum(per_query.values()), 2),
        # The rest of a pass: agents per queue, e-mails' business time, Erlang staffing.
        "python_after_queries_ms": round(pass_ms["p50_ms"] - sum(per_query.values()), 2),
        "slowest_query": slowest,
        "contacts_index_scans": {r["indexrelname"]: r["idx_scan"] for r in used},
        "aim_met": pass_ms["p50_ms"] < AIM_PASS_MS,
        "explained": list(plans),
    }


def bench_statistics(args: argparse.Namespace, url: str) -> dict[str, Any]:
    config = settings.load(ROOT / "config" / "contactd.toml", {})
    tz: ZoneInfo = config.timezone
    local = datetime.now(tz)
    day: date = local.date()
    while day.weekday() >= 5:  # a weekday, at 14:00: most of the day's traffic is in
        day -= timedelta(days=1)
    now = datetime(day.year, day.month, day.day, 14, 0, tzinfo=tz).astimezone(UTC)
    database_url = asyncio.run(fresh_database(url, "statistics"))
    log(f"statistics: writing {args.contacts:,} contacts (a few minutes)")
    started = time.perf_counter()
    written = asyncio.run(fixtures.year_of_contacts(database_url, config, args.contacts, now))
    written["written_in_s"] = round(time.perf_counter() - started)
    log("statistics: timing the pass")
    timed = asyncio.run(time_statistics(database_url, config, now, args.passes, args.explain))
    return {"now": now.isoformat(), "queues": len(config.queues), "database": written, **timed}


# --- 3. the series ------------------------------------------------------------------------


def series_formula(config: settings.Settings, *, mailboxes: int = 0) -> dict[str, Any]:
    """The bound of docs/reference/metrics.md's families, for this configuration."""
    queues = config.queues
    pairs = [(q, ch) for q in queues for ch in q.channels]
    p = len(pairs)
    pw = sum(1 for q, ch in pairs if metrics.threshold_seconds(q, ch) is not None)
    r = sum(
        1
        for q, ch in pairs
        if ch in statistics.REAL_TIME and metrics.threshold_seconds(q, ch) is not None
    )
    qcb = sum(1 for q in queues if Channel.CALLBACK in q.channels)
    qe = sum(1 for q in queues if Channel.EMAIL in q.channels)
    qs = len({q.code for q, ch in pairs if ch in statistics.REAL_TIME})
    q, k, o, m = len(queues), len(config.case_types), len(OUTBOX_KINDS), mailboxes
    b = len(metrics.wait_buckets(queues))
    # offered 1, answered 2, abandoned 3, finished 1, wait B + 3, handle H + 3, csat 2
    per_pair = 1 + 2 + 3 + 1 + (b + 3) + (HANDLE_BUCKETS + 3) + 2
    # build info, leader, retention purged, csat goal, booking SMS capped, desk snapshots;
    # mail quarantined for each mailbox and reason
    per_instance = p * per_pair + 6 * k + 3 * o + len(LIVE_STREAMS) + 6 + CONFIDENCE_SAMPLES + 2 * m
    leader = 13 * p + pw + 7 * r + 2 * qcb + qe + 4 * q + qs + AGENT_STATES + o + 2 * m + 3
    return {
        "terms": dict(Q=q, P=p, Pw=pw, R=r, Qcb=qcb, Qe=qe, Qs=qs, K=k, O=o, M=m, B=b),
        "per_instance_full_day": per_instance,
        "per_instance_per_pair": per_pair,
        "leader_only": leader,
        "leader_total": per_instance + leader,
        "follower_total": per_instance,
    }


def fresh_per_instance(config: settings.Settings) -> int:
    """A daemon just started: the 9 counters of every queue and channel (started at zero),
    the confidence histogram, board and status, build info, leader, retention purged, csat
    goal, booking SMS capped and desk snapshots."""
    pairs = sum(len(q.channels) for q in config.queues)
    return 9 * pairs + 3 + CONFIDENCE_SAMPLES + 5


def check_series(scraped: dict[str, Any]) -> dict[str, Any]:
    config: settings.Settings = scraped["_config"]
    formula = series_formula(config)
    out: dict[str, Any] = {"formula": formula}
    for name, per_instance in (
        ("fresh_daemon", fresh_per_instance(config)),
        ("full_day_counters", formula["per_instance_full_day"]),
    ):
        measured = scraped.get(name)
        if measured is None:
            continue
        expected = per_instance + formula["leader_only"]
        out[name] = {
            "measured": measured["series"],
            "formula": expected,
            "measured_leader_only": measured["series_leader_only"],
            "formula_leader_only": formula["leader_only"],
            "measured_per_instance": measured["series_per_instance"],
            "formula_per_instance": per_instance,
            "follower_would_export": per_instance,
            "match": measured["series"] == expected,
        }
        if measured["series"] != expected:
            out[name]["samples_by_family"] = dict(sorted(by_family(measured["_lines"]).items()))
    return out


# --- the command --------------------------------------------------------------------------


def table(result: dict[str, Any]) -> str:
    rows = [("figure", "value", "aim")]
    for name in ("fresh_daemon", "full_day_counters"):
        s = result.get("scrape", {}).get(name)
        if s:
            rows.append((
                f"GET /metrics, {result['scrape']['queues']} queues, {result['scrape']['agents']}"
                f" agents, {name.replace('_', ' ')}: p50 / p99 / max",
                f"{s['p50_ms']} / {s['p99_ms']} / {s['max_ms']} ms", f"< {AIM_SCRAPE_MS} ms",
            ))  # fmt: skip
            rows.append((
                "  body, series (leader-only + per-instance), last pass",
                f"{s['body_kib']} KiB, {s['series']} ({s['series_leader_only']} + "
                f"{s['series_per_instance']}), {s['last_statistics_pass_ms']} ms", "",
            ))  # fmt: skip
    st = result.get("statistics")
    if st:
        db = st["database"]
        rows.append((
            f"statistics pass, {db.get('contacts_finished', 0):,} finished + "
            f"{db.get('contacts_live', 0):,} live contacts: p50 / p99 / max",
            f"{st['snapshot']['p50_ms']} / {st['snapshot']['p99_ms']} / "
            f"{st['snapshot']['max_ms']} ms", f"< {AIM_PASS_MS} ms",
        ))  # fmt: skip
        rows.append((
            "  families() p50 / p99",
            f"{st['families']['p50_ms']} / {st['families']['p99_ms']} ms", "",
        ))  # fmt: skip
        rows.append((
            "  of which: SQL (sum of the queries' medians) / Python after them",
            f"{st['queries_sum_ms']} / {st['python_after_queries_ms']} ms", "",
        ))  # fmt: skip
        for name, ms in sorted(st["query_median_ms"].items(), key=lambda kv: -kv[1]):
            rows.append((f"  {name} (median)", f"{ms} ms", ""))
    se = result.get("series")
    if se:
        f = se["formula"]
        terms = ", ".join(f"{k}={v}" for k, v in f["terms"].items())
        rows.append((
            f"series bound, leader / follower ({terms})",
            f"{f['leader_total']} / {f['follower_total']}", "bounded",
        ))  # fmt: skip
        for name in ("fresh_daemon", "full_day_counters"):
            if name in se:
                c = se[name]
                rows.append((
                    f"  series measured / formula, {name.replace('_', ' ')}",
                    f"{c['measured']} / {c['formula']}"
                    + (" (match)" if c["match"] else " (DIFFER)"),
                    "",
                ))  # fmt: skip
    width = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join(" | ".join(c.ljust(w) for c, w in zip(r, width, strict=True)) for r in rows)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve-full-day":
        sys.exit(serve_full_day(sys.argv[2:]))
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=["scrape", "statistics", "series"])
    parser.add_argument("--queues", type=int, default=50)
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--waiting", type=int, default=3000)
    parser.add_argument("--scrapes", type=int, default=200)
    parser.add_argument("--statistics-seconds", type=float, default=2)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--passes", type=int, default=30)
    parser.add_argument("--explain", action="store_true", help="EXPLAIN the slowest query")
    args = parser.parse_args()
    # The embedded server's and the migrations' log lines: warnings only, and to stderr, so
    # that stdout is the figures.
    logs.configure(format="console", level="warning", stream=sys.stderr)
    if args.agents < 500:
        parser.error("--agents: at least 500 (180 offline, away or in wrap-up, 250 busy)")
    folder = Path(tempfile.mkdtemp(prefix="contactd-bench-metrics-"))
    result: dict[str, Any] = {}
    try:
        with postgres(folder) as url:
            if args.only in (None, "scrape", "series"):
                result["scrape"] = scrape(args, folder, url)
                result["series"] = check_series(result["scrape"])
            if args.only in (None, "statistics"):
                result["statistics"] = bench_statistics(args, url)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if args.only == "series":
        del result["scrape"]
    for part in result.values():
        for key in [k for k in part if k.startswith("_")]:
            del part[key]
        for value in part.values():
            if isinstance(value, dict):
                for key in [k for k in value if k.startswith("_")]:
                    del value[key]
    print(json.dumps(result, indent=2, default=str))
    print()
    print(table(result))


if __name__ == "__main__":
    main()
