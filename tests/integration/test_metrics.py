"""/metrics and the leader's statistics on a real PostgreSQL.

The figures are checked against the contacts they were computed from: the worked example
of kpi.md (all five SL variants), callbacks in and out of their window, e-mails answered in
business time, a queue with no traffic (no NaN), DST days, and the per-instance counters as
contacts go through the daemon's own API. The exposition is checked by Prometheus's own
`promtool check metrics`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from ipaddress import ip_network
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from contactd.app import create_app
from contactd.clock import Clock, wall_clock
from contactd.http.appkeys import METRICS, POOL
from contactd.services import statistics, statistics_export
from contactd.settings import ConfigError, MetricsConfig, Settings, load
from contactd.settings.sections import OPERATOR_NETWORKS
from contactd.store import contacts as store
from contactd.store.staff import Role
from routing import erlang, figures
from routing.contact import REFERENCE_ALPHABET, Channel
from tests.conftest import ROOT, token_for
from tests.integration.history import insert_contacts as _contact

Client = TestClient[web.Request, web.Application]
CPH = ZoneInfo("Europe/Copenhagen")
TUESDAY_11 = datetime(2026, 11, 24, 11, 0, tzinfo=CPH)
START = datetime(2026, 11, 24, 0, 0, tzinfo=CPH)


async def _kpi_example(pool: asyncpg.Pool, at: datetime) -> None:
    """kpi.md's example in the family queue's calls: 1,000 answered, 860 within the 5-minute
    goal; 60 abandoned: 10 within 5 s, 10 more within the goal, 40 after it."""
    t, due = at, at + timedelta(minutes=5)
    s = timedelta(seconds=1)
    await _contact(pool, created=t, due=due, answered=t + 60 * s, closed=t + 400 * s, count=860)
    await _contact(pool, created=t, due=due, answered=t + 600 * s, closed=t + 900 * s, count=140)
    for left, count in ((3, 10), (100, 10), (500, 40)):
        await _contact(
            pool, created=t, due=due, state="abandoned", closed=t + left * s, outcome="abandoned",
            count=count,
        )  # fmt: skip


async def test_the_kpi_example_gives_each_sl_variant_the_published_figure(
    pool: asyncpg.Pool, config: Settings
) -> None:
    await _kpi_example(pool, TUESDAY_11 - timedelta(hours=2))
    counts = await statistics.counts_between(pool, START, TUESDAY_11)
    family = counts[("family", Channel.CALL)]
    assert (family.answered, family.answered_within) == (1000, 860)
    assert (family.abandoned, family.abandoned_short, family.abandoned_within) == (60, 10, 10)
    levels = [round(figures.service_level(family, v) or 0, 3) for v in range(1, 6)]
    assert levels == [0.830, 0.860, 0.811, 0.827, 0.821]
    assert figures.average_speed_of_answer(family) == pytest.approx((860 * 60 + 140 * 600) / 1000)
    assert figures.answer_rate(family) == pytest.approx(1000 / 1060)

    snap = await _snapshot(pool, config)
    exported = _samples(statistics_export.families(snap, config.queues, 0.01))
    call = {"queue": "family", "channel": "call"}
    assert exported["contactd_service_level_ratio", _key(call)] == pytest.approx(880 / 1060)
    assert exported["contactd_abandonment_ratio", _key(call)] == pytest.approx(60 / 1060)
    assert exported["contactd_today_answered", _key(call)] == 1000
    # Tickets are measured with variant 3 (config/contactd.toml): every abandon is a miss.
    assert exported["contactd_service_goal_variant", _key(call | {"channel": "ticket"})] == 3


async def test_a_queue_with_no_traffic_has_counts_but_no_ratios(
    pool: asyncpg.Pool, config: Settings
) -> None:
    snap = await _snapshot(pool, config)
    exported = _samples(statistics_export.families(snap, config.queues, 0.01))
    quiet = _key({"queue": "visa", "channel": "call"})
    assert exported["contactd_queue_waiting", quiet] == 0
    assert exported["contactd_today_answered", quiet] == 0
    for ratio in ("contactd_service_level_ratio", "contactd_answer_rate_ratio"):
        assert (ratio, quiet) not in exported
    assert all(value == value for value in exported.values())  # no NaN anywhere
    # Staffing with no arrivals: no one needed, and the goal is met.
    assert exported["contactd_staffing_agents_required", _key(
        {"queue": "visa", "channel": "call", "model": "erlang_c"}
    )] == 0  # fmt: skip


async def test_yesterday_does_not_count_today_and_waiting_contacts_show_now(
    pool: asyncpg.Pool, config: Settings
) -> None:
    yesterday = TUESDAY_11 - timedelta(days=1)
    await _contact(
        pool, created=yesterday, due=yesterday + timedelta(minutes=5),
        answered=yesterday + timedelta(minutes=1), closed=yesterday + timedelta(minutes=9),
    )  # fmt: skip
    waiting_since = TUESDAY_11 - timedelta(minutes=7)
    await _contact(
        pool, created=waiting_since, due=waiting_since + timedelta(minutes=5), state="queued"
    )
    await _contact(
        pool, created=TUESDAY_11 - timedelta(minutes=2), due=TUESDAY_11 + timedelta(minutes=3),
        state="queued",
    )  # fmt: skip
    snap = await _snapshot(pool, config)
    assert ("family", Channel.CALL) not in snap.today
    now = snap.live["family", Channel.CALL]
    assert (now.waiting, now.overdue) == (2, 1)
    assert now.oldest_wait_seconds == pytest.approx(420)


async def test_callback_compliance_and_answer_rate_count_the_promised_window(
    pool: asyncpg.Pool, config: Settings
) -> None:
    opens = TUESDAY_11 - timedelta(hours=3)
    closes = TUESDAY_11 - timedelta(hours=1)
    h = timedelta(hours=1)
    booked = opens - 20 * h
    # Reached in the window; reached after it; not reached; still waiting past its window.
    await _contact(
        pool, channel="callback", created=booked, due=closes, not_before=opens,
        answered=opens + h / 2, closed=opens + h, outcome="answered",
    )  # fmt: skip
    await _contact(
        pool, channel="callback", created=booked, due=closes, not_before=opens,
        answered=closes + h / 4, closed=closes + h / 2, outcome="answered",
    )  # fmt: skip
    await _contact(
        pool, channel="callback", created=booked, due=closes, not_before=opens,
        answered=opens + h / 4, closed=opens + h, outcome="not_reached",
    )  # fmt: skip
    await _contact(
        pool, channel="callback", created=booked, due=closes, not_before=opens, state="queued"
    )
    snap = await _snapshot(pool, config)
    assert snap.callbacks["family"] == (4, 1)
    exported = _samples(statistics_export.families(snap, config.queues, 0.01))
    assert exported["contactd_callback_compliance_ratio", _key({"queue": "family"})] == 0.25
    callbacks = _key({"queue": "family", "channel": "callback"})
    assert exported["contactd_answer_rate_ratio", callbacks] == 0.25
    assert exported["contactd_queue_overdue", callbacks] == 1
    assert exported["contactd_callbacks_due", _key({"queue": "family"})] == 1


async def test_email_first_response_is_counted_in_business_time(
    pool: asyncpg.Pool, config: Settings
) -> None:
    # Friday 14:00 to Tuesday 09:00: the office (08-16, Friday 08-15:30) is open 1.5 h on
    # Friday and 8 h on Monday and 1 h on Tuesday = 10.5 h.
    friday = datetime(2026, 11, 20, 14, 0, tzinfo=CPH)
    answered = datetime(2026, 11, 24, 9, 0, tzinfo=CPH)
    await _contact(
        pool, channel="email", created=friday, due=friday + timedelta(days=7), state="active",
        answered=answered - timedelta(minutes=5), first_response=answered,
    )  # fmt: skip
    snap = await _snapshot(pool, config)
    assert snap.email_response["family"] == pytest.approx(10.5 * 3600)
    assert snap.today["family", Channel.EMAIL].answered_within == 1


async def test_a_dst_day_has_its_own_length(pool: asyncpg.Pool, config: Settings) -> None:
    # 25 October 2026: Copenhagen's clocks go back, the day has 25 hours.
    late = datetime(2026, 10, 25, 23, 30, tzinfo=CPH)
    early = datetime(2026, 10, 25, 0, 30, tzinfo=CPH)
    for at in (early, late):
        await _contact(
            pool, created=at, due=at + timedelta(minutes=5), answered=at + timedelta(seconds=30),
            closed=at + timedelta(minutes=3),
        )  # fmt: skip
    start = statistics.local_midnight(early.date(), config.timezone)
    end = statistics.local_midnight(early.date() + timedelta(days=1), config.timezone)
    assert end - start == timedelta(hours=25)
    counts = await statistics.counts_between(pool, start, end)
    assert counts["family", Channel.CALL].answered == 2


@pytest.fixture
async def daemon(config: Settings, clock: Clock) -> AsyncIterator[Client]:
    fast = dataclasses.replace(config, metrics=MetricsConfig(statistics_seconds=1))
    async with TestClient(TestServer(create_app(fast, clock=clock))) as client:
        yield client


async def test_metrics_count_what_the_api_does_and_pass_promtool(
    daemon: Client, clock: Clock
) -> None:
    pool: asyncpg.Pool = daemon.app[POOL]
    supervisor = await token_for(pool, "sofie", Role.SUPERVISOR, now=clock())
    karin = await token_for(pool, "karin", Role.AGENT, now=clock())
    front = await token_for(pool, "frida", Role.FRONTDESK, now=clock())
    profile = {"skills": {"family": 4}, "languages": ["da", "en"]}
    assert (await daemon.put("/api/agents/karin", json=profile, headers=supervisor)).status == 200
    await daemon.post("/api/desk/state", json={"state": "available"}, headers=karin)
    created = await daemon.post(
        "/api/contacts", json={"channel": "call", "case_type": "family"}, headers=front
    )
    ref = (await created.json())["reference"]
    for _ in range(100):
        desk = await (await daemon.get("/api/desk", headers=karin)).json()
        if desk["contacts"]:
            break
        await asyncio.sleep(0.05)
    assert (await daemon.post(f"/api/desk/contacts/{ref}/accept", headers=karin)).status == 200
    finish = await daemon.post(
        f"/api/desk/contacts/{ref}/finish", json={"outcome": "answered"}, headers=karin
    )
    assert finish.status == 200
    lost = await daemon.post(
        "/api/contacts", json={"channel": "call", "case_type": "visa"}, headers=front
    )
    hung_up = await store.get_by_reference(pool, (await lost.json())["reference"])
    await store.abandon(
        pool,
        hung_up.id,
        now=clock(),
        actor="test",
        why="hung up",
        recorder=daemon.app[METRICS],
    )

    # The leader's next statistics pass (every second here) has seen the abandon.
    text = await _scrape_when(daemon, 'contactd_today_abandoned{channel="call",queue="visa"} 1.0')
    exported = _samples(list(text_string_to_metric_families(text)))
    family = {"queue": "family", "channel": "call"}
    assert exported["contactd_contacts_received_total", _key(
        {"channel": "call", "case_type": "family"}
    )] == 1  # fmt: skip
    assert exported["contactd_contacts_answered_total", _key(family | {"wait": "within_goal"})] == 1
    assert exported["contactd_contacts_finished_total", _key(family)] == 1
    visa = {"queue": "visa", "channel": "call"}
    assert exported["contactd_contacts_abandoned_total", _key(visa | {"wait": "short"})] == 1
    assert exported["contactd_wait_seconds_count", _key(family)] == 1
    # Every goal threshold is a bucket: 300 s (5 minutes) and 180 s (3 minutes).
    assert (
        "contactd_wait_seconds_bucket",
        _key(family | {"le": "300.0"}),
    ) in exported
    assert exported["contactd_leader", ()] == 1
    assert exported["contactd_today_answered", _key(family)] == 1
    assert exported["contactd_service_level_ratio", _key(family)] == 1.0
    assert exported["contactd_service_level_ratio", _key(visa)] == 1.0  # a short abandon
    assert exported["contactd_queue_agents", _key({"queue": "family", "state": "wrap_up"})] == 1
    screen = await daemon.get("/api/board/events")
    await screen.content.readline()  # the stream is open
    with_screen = await _scrape_when(daemon, 'contactd_live_clients{stream="board"} 1.0')
    assert 'contactd_live_clients{stream="status"} 0.0' in with_screen
    screen.close()
    for text_part in (ref, "frida", "karin"):  # no reference or person in any label
        assert text_part not in text
    _promtool_check(text)


async def test_only_the_leader_exports_the_queue_figures(config: Settings, clock: Clock) -> None:
    fast = dataclasses.replace(config, metrics=MetricsConfig(statistics_seconds=1))
    async with (
        TestClient(TestServer(create_app(fast, clock=clock))) as first,
        TestClient(TestServer(create_app(fast, clock=clock))) as second,
    ):
        await _scrape_when(first, "contactd_queue_waiting{", second)
        texts = [await (await c.get("/metrics")).text() for c in (first, second)]
        with_figures = ["contactd_queue_waiting{" in t for t in texts]
        assert sorted(with_figures) == [False, True]
        assert all("contactd_build_info{" in t for t in texts)
        leaders = [
            _samples(list(text_string_to_metric_families(t)))["contactd_leader", ()] for t in texts
        ]
        assert sorted(leaders) == [0, 1]


async def _scrape_when(client: Client, line: str, *others: Client) -> str:
    for _ in range(100):
        for c in (client, *others):
            text = await (await c.get("/metrics")).text()
            if line in text:
                return text
        await asyncio.sleep(0.1)
    raise AssertionError(f"{line} never appeared on /metrics")


def _promtool_check(text: str) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (scripts/bootstrap installs Debian's prometheus)")
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


async def _snapshot(pool: asyncpg.Pool, config: Settings) -> statistics.Snapshot:
    async with pool.acquire() as conn:
        return await statistics.snapshot(
            conn, statistics.StatisticsConfig.from_settings(config), TUESDAY_11
        )


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _key(labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


def _samples(families: list) -> Samples:  # type: ignore[type-arg]
    return {(s.name, _key(s.labels)): s.value for family in families for s in family.samples}


async def test_contactd_staffing_prints_the_erlang_advice_from_live_traffic(
    pool: asyncpg.Pool, db_url: str
) -> None:
    # `contactd staffing` measures the live traffic at the real time: it reads the wall
    # clock, not CONTACTD_CLOCK_START (contactd/cli/main.py, _staffing). The history is written
    # relative to that same clock, so the advice is the same at any date and hour.
    now = wall_clock()
    # 60 calls in the last 30 minutes (120 an hour); 20 handled in 270 s each.
    for minutes in range(60):
        at = now - timedelta(seconds=30 * minutes + 10)
        await _contact(pool, created=at, due=at + timedelta(minutes=5), state="queued")
    done = now - timedelta(minutes=20)
    await _contact(
        pool, created=done, due=done + timedelta(minutes=5), answered=done,
        closed=done + timedelta(seconds=270), count=20,
    )  # fmt: skip
    env = {**os.environ, "CONTACTD_DATABASE_URL": db_url, "CONTACTD_DAEMON__LOG_LEVEL": "error"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "contactd", "staffing",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    rows = {tuple(line.split()[:2]): line.split() for line in out.decode().splitlines()}
    family = rows["family", "call"]
    rate = (60 + 20) / 1800  # the 20 handled ones arrived in the window too
    handle = 270 + 30  # with the 30 s wrap-up of config/contactd.toml
    need = erlang.agents_required(rate * handle, handle, 300, 0.8, max_occupancy=0.9)
    assert family[3:5] == [f"{rate * 3600:.1f}", "300"]
    assert need > 1
    assert family[7] == str(need)
    assert rows["visa", "call"][7] == "0"


# --- who may read /metrics, /health and /ready ------------------------------------------------

OPERATIONAL = ("/metrics", "/health", "/ready")


def _settings(db_url: str, **env: str) -> Settings:
    return load(
        ROOT / "config" / "contactd.toml",
        environ={
            "CONTACTD_DATABASE_URL": db_url,
            "CONTACTD_CLASSIFIER__ENABLED": "false",
            **env,
        },
    )


async def _refused(client: Client, path: str, headers: dict[str, str]) -> bool:
    response = await client.get(path, headers=headers)
    if response.status == 200:
        return False
    body = await response.json()
    assert (response.status, body["error"]["code"]) == (403, "address_not_allowed"), body
    assert "metrics.allow_from" in body["error"]["message"]
    return True


async def test_the_operational_endpoints_answer_the_operator_not_the_internet(
    db_url: str, clock: Clock
) -> None:
    """Behind a reverse proxy on this host (a trusted proxy), a client on the internet
    asks for /metrics, /health and /ready through it: refused, by default. Prometheus on
    the private network, straight or through the proxy, gets them."""
    config = _settings(db_url, CONTACTD_DAEMON__TRUSTED_PROXIES='["127.0.0.1/32", "::1/128"]')
    internet = {"X-Forwarded-For": "203.0.113.7"}
    prometheus = {"X-Forwarded-For": "10.1.2.3"}
    async with TestClient(TestServer(create_app(config, clock=clock))) as client:
        refused = {path: await _refused(client, path, internet) for path in OPERATIONAL}
        spoofed = await _refused(client, "/metrics", {"X-Forwarded-For": "10.1.2.3, 203.0.113.7"})
        through_proxy = await client.get("/metrics", headers=prometheus)
        straight = await client.get("/metrics")
        text = await straight.text()
    assert refused == dict.fromkeys(OPERATIONAL, True)
    assert spoofed  # the earlier entries are the client's to write
    assert (through_proxy.status, straight.status) == (200, 200)
    for endpoint in ("metrics", "health", "ready"):
        assert f'contactd_operational_refused_total{{endpoint="{endpoint}"}}' in text
    assert "203.0.113.7" not in text


async def test_a_request_forwarded_by_a_proxy_that_is_not_trusted_is_refused(
    db_url: str, clock: Clock
) -> None:
    """A reverse proxy on the private network that is not among daemon.trusted_proxies
    would pass the internet's requests from an allowed address: a forwarded request from
    an untrusted peer is refused, its client being unknown."""
    async with TestClient(TestServer(create_app(_settings(db_url), clock=clock))) as client:
        forwarded = await _refused(client, "/health", {"X-Forwarded-For": "203.0.113.7"})
        standard = await _refused(client, "/health", {"Forwarded": "for=203.0.113.7"})
        direct = await client.get("/health")
    assert (forwarded, standard) == (True, True)
    assert direct.status == 200


async def test_the_allow_list_is_the_operators(db_url: str, clock: Clock) -> None:
    config = _settings(db_url, CONTACTD_METRICS__ALLOW_FROM='["10.0.0.0/8"]')
    async with TestClient(TestServer(create_app(config, clock=clock))) as client:
        loopback = await _refused(client, "/metrics", {})
        board = await client.get("/api/board")  # the public routes are not concerned
    assert loopback
    assert board.status == 200
    assert MetricsConfig().allow_from == [ip_network(n) for n in OPERATOR_NETWORKS]
    with pytest.raises(ConfigError, match="allow_from"):
        _settings(db_url, CONTACTD_METRICS__ALLOW_FROM='["the internet"]')


# --- the daemon seen from outside: HTTP requests, the event loop, the process ------------------


def _route_templates(app: web.Application) -> set[str]:
    """Every route's template, the sub-applications' (/twilio) included."""
    found = set()
    for resource in app.router.resources():
        if isinstance(resource, web.PrefixedSubAppResource):
            found |= _route_templates(resource.get_info()["app"])
        else:
            found.add(resource.canonical)
    return found


def _labels_of(text: str, name: str, label: str) -> set[str]:
    return {
        s.labels[label]
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    }


async def test_http_requests_are_counted_by_route_template_never_by_path(
    daemon: Client, clock: Clock
) -> None:
    pool: asyncpg.Pool = daemon.app[POOL]
    front = await token_for(pool, "frida", Role.FRONTDESK, now=clock())
    karin = await token_for(pool, "karin", Role.AGENT, now=clock())
    new = {"channel": "call", "case_type": "family", "client_address": "+4520123456"}
    created = await daemon.post("/api/contacts", json=new, headers=front)
    assert created.status == 201
    ref = (await created.json())["reference"]
    looked_up = await daemon.get(f"/api/contacts/{ref}", headers=front)
    not_offered = await daemon.post(f"/api/desk/contacts/{ref}/accept", headers=karin)
    invalid = await daemon.post("/api/contacts", json={"channel": "fax"}, headers=front)
    missing = await daemon.get(f"/no-such-page/{ref}")
    webdav = await daemon.request("PROPFIND", "/api/contacts")
    assert (invalid.status, missing.status, webdav.status) == (422, 404, 405)

    text = await (await daemon.get("/metrics")).text()
    exported = _samples(list(text_string_to_metric_families(text)))
    # Each with the status the client got, the error middleware's JSON errors included.
    for route, method, status in [
        ("/api/contacts", "POST", 201),
        ("/api/contacts", "POST", 422),
        ("/api/contacts/{reference}", "GET", looked_up.status),
        ("/api/desk/contacts/{reference}/accept", "POST", not_offered.status),
        ("unmatched", "GET", 404),
        ("unmatched", "other", 405),
    ]:
        labels = {"route": route, "method": method, "status": str(status)}
        assert exported["contactd_http_requests_total", _key(labels)] == 1, labels
    timed = {"route": "/api/contacts", "method": "POST"}
    assert exported["contactd_http_request_duration_seconds_count", _key(timed)] == 2
    assert ("contactd_http_request_duration_seconds_bucket", _key(timed | {"le": "0.005"})) in (
        exported
    )
    # Only the daemon's own templates: never a reference, a path nobody routes, a method.
    routes = _labels_of(text, "contactd_http_requests_total", "route")
    assert routes <= _route_templates(daemon.app) | {"unmatched"}
    assert _labels_of(text, "contactd_http_requests_total", "method") <= {
        "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "other",
    }  # fmt: skip
    for personal in (ref, "no-such-page", "PROPFIND", "+4520123456", "frida", "karin"):
        assert personal not in text
    _promtool_check(text)


def test_no_route_template_holds_personal_data(config: Settings) -> None:
    """A route's template is the whole of its label: every part of it is fixed text or a
    {placeholder}, and no fixed part is a reference, a phone number or an address."""
    templates = _route_templates(create_app(config))
    assert "/api/desk/contacts/{reference}/accept" in templates
    assert "/twilio/voice" in templates  # the phone's sub-application is measured too
    reference = re.compile(rf"[{REFERENCE_ALPHABET}]{{4}}-?[{REFERENCE_ALPHABET}]{{4}}")
    for template in templates:
        for part in template.strip("/").split("/"):
            if part.startswith("{"):
                assert re.fullmatch(r"\{\w+\}", part), template
                continue
            assert not reference.fullmatch(part.upper()), template
            assert not re.search(r"\d{6}|@", part), template


async def test_an_event_stream_is_counted_and_timed_once_when_it_opens(
    config: Settings, clock: Clock
) -> None:
    """A stream lasts as long as its screen: it would make every latency look like hours."""
    stream = {"route": "/api/board/events", "method": "GET"}
    async with TestClient(TestServer(create_app(config, clock=clock))) as client:
        screen = await client.get("/api/board/events")
        await screen.content.readline()  # open, and staying open
        exported = _samples(
            list(text_string_to_metric_families(await (await client.get("/metrics")).text()))
        )
        assert exported["contactd_http_requests_total", _key(stream | {"status": "200"})] == 1
        assert exported["contactd_http_request_duration_seconds_count", _key(stream)] == 1
        screen.close()
        registry = client.app[METRICS].registry
    # The daemon has stopped, and the stream with it: still once.
    after = _samples(list(text_string_to_metric_families(generate_latest(registry).decode())))
    assert after["contactd_http_requests_total", _key(stream | {"status": "200"})] == 1
    assert after["contactd_http_request_duration_seconds_count", _key(stream)] == 1


async def test_metrics_show_the_process_and_the_event_loops_lag(daemon: Client) -> None:
    health = await (await daemon.get("/health")).json()
    assert "event_loop_lag" in health["tasks"]  # supervised, stopped with the daemon
    for _ in range(100):  # measured every quarter of a second
        text = await (await daemon.get("/metrics")).text()
        exported = _samples(list(text_string_to_metric_families(text)))
        if exported["contactd_event_loop_lag_seconds_count", ()] > 0:
            break
        await asyncio.sleep(0.1)
    assert exported["contactd_event_loop_lag_seconds_count", ()] > 0
    assert ("contactd_event_loop_lag_seconds_bucket", _key({"le": "0.001"})) in exported
    assert exported["process_resident_memory_bytes", ()] > 0
    assert exported["process_open_fds", ()] > 0
    assert ("process_cpu_seconds_total", ()) in exported
    assert any(name == "python_info" for name, _ in exported)
    assert any(name == "python_gc_collections_total" for name, _ in exported)
    _promtool_check(text)
