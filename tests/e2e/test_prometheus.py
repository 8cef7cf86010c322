"""A real Prometheus scrapes a real daemon with traffic: every query of the Grafana dashboards
returns data, the wallboard shows each tile once in the colour the figures call for, and the
recording rules of docker/prometheus/rules produce their series.

The daemon runs as an operator runs it (embedded PostgreSQL); Debian's prometheus binary
scrapes it every second on a free loopback port, with the repository's rule files. Traffic
goes through the HTTP API: tickets served and finished at a counter, one ticket a no-show,
an e-mail taken. Prometheus itself parses each dashboard expression here (the unit test's
reader only checks names and labels).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.daemon import Daemon, staff_token
from tests.processes import stop

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
RULES = sorted((ROOT / "docker" / "prometheus" / "rules").glob("*.yml"))
DASHBOARDS = sorted((ROOT / "docker" / "grafana" / "dashboards").glob("*.json"))
QUEUE = "family"
# Grafana's variables as Grafana would fill them in. The rate window spans the whole test,
# so counters that moved at any point give a rate. The wallboard shows one channel: tickets,
# the traffic here.
VARIABLES = {
    "$__rate_interval": "10m",
    "$__interval": "1s",
    "$__range": "1h",
    "$queue": QUEUE,
    "$channel": "ticket",
}
WALLBOARD = "wallboard.json"
# Figures this test cannot produce, and why: each needs a channel or a client that is not
# here. Their queries must still parse and run; they may come back empty.
NEEDS_MORE = {
    "contactd:callback_compliance:ratio_today": "a callback due today (Twilio)",
    "contactd_email_first_response_business_seconds": "an e-mail answer sent by SMTP",
    "contactd_csat_score": "a client's answer to the satisfaction question",
    "contactd_channel_up": "a configured mailbox or Twilio account",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def until(what: str, check: Callable[[], Any], within: float = 30) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.2)
    raise AssertionError(f"not within {within} s: {what}")


class Prometheus:
    def __init__(self, binary: str, target: str, directory: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = directory / "prometheus.yml"
        # JSON is YAML: no YAML writer needed. Absolute rule paths: the config is elsewhere.
        config.write_text(
            json.dumps(
                {
                    "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                    "rule_files": [str(p) for p in RULES],
                    "scrape_configs": [
                        {"job_name": "contactd", "static_configs": [{"targets": [target]}]}
                    ],
                }
            )
        )
        self.log = (directory / "prometheus.log").open("wb")
        self.process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={directory / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def query(self, expr: str) -> list[dict[str, Any]]:
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        try:
            with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - our loopback server
                body = json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise AssertionError(f"{expr}: {error.read().decode()}") from None
        assert body["status"] == "success", body
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:  # noqa: S310
                return bool(response.status == 200)
        except OSError:
            assert self.process.poll() is None, "prometheus exited; see prometheus.log"
            return False

    def close(self) -> None:
        stop(self.process)
        self.log.close()


@pytest.fixture
def prometheus_binary() -> str:
    binary = shutil.which("prometheus")
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Debian's prometheus is missing; scripts/bootstrap --dev installs it")
        pytest.skip("Debian's prometheus is not installed (apt-get install prometheus)")
    return binary


@dataclasses.dataclass
class Scene:
    daemon: Daemon
    prometheus: Prometheus
    tokens: dict[str, str]


@pytest.fixture
def scene(tmp_path: Path, prometheus_binary: str) -> Iterator[Scene]:
    """A daemon with a supervisor, a caseworker and a front-desk token, scraped by Prometheus
    once it is ready."""
    data = tmp_path / "data"
    tokens = {
        role: staff_token(login, role, data_dir=data)
        for login, role in [("sofie", "supervisor"), ("karin", "agent"), ("frida", "frontdesk")]
    }
    # The shipped configuration, on the daemon's clock (tests/e2e/daemon.py): a Tuesday at
    # 10:00 in Copenhagen, when the service centre issues tickets, whatever the time really is.
    daemon = Daemon(
        ["run", "--data-dir", str(data), "--port", "0"],
        tmp_path / "daemon.log",
        env={
            "CONTACTD_METRICS__STATISTICS_SECONDS": "1",
            "CONTACTD_ROUTING__WRAP_UP_SECONDS": "0",
            "CONTACTD_TICKETS__NO_SHOW_AFTER_CALLS": "1",
        },
    )
    prometheus = None
    try:
        url = urllib.parse.urlsplit(daemon.wait_ready(60))
        prometheus = Prometheus(prometheus_binary, f"127.0.0.1:{url.port}", tmp_path)
        until("prometheus ready", prometheus.ready)
        until("the daemon scraped", lambda: prometheus.query('up{job="contactd"} == 1'))
        yield Scene(daemon, prometheus, tokens)
    finally:
        if prometheus is not None:
            prometheus.close()
        # Ctrl-C, as an operator stops it: the daemon also stops its embedded PostgreSQL,
        # which a kill would leave running.
        if daemon.process.poll() is None:
            daemon.interrupt()
        daemon.close()


def serve(daemon: Daemon, tokens: dict[str, str]) -> None:
    """A caseworker at counter 3 serves tickets and takes an e-mail; one visitor is a
    no-show."""
    agent, front = tokens["agent"], tokens["frontdesk"]
    profile = {"skills": {QUEUE: 4}, "languages": ["da", "en"], "counter": "3"}
    body = json.dumps(profile).encode()
    put = daemon.request("/api/agents/karin", body=body, token=tokens["supervisor"], method="PUT")
    assert put[0] == 200, put
    assert daemon.post("/api/desk/state", {"state": "available"}, agent)[0] == 200

    def take(channel: str) -> str:
        if channel == "ticket":  # issued at the kiosk, with a number to call
            ticket = {"case_type": QUEUE, "request_id": uuid.uuid4().hex}
            status, contact = daemon.post("/api/tickets", ticket, front)
        else:
            new = {"channel": channel, "case_type": QUEUE, "external_id": uuid.uuid4().hex}
            status, contact = daemon.post("/api/contacts", new, front)
        assert status == 201, contact
        reference: str = contact["reference"]

        def offered() -> bool:
            contacts = daemon.get("/api/desk", agent)[1]["contacts"]
            return any(c["reference"] == reference and c["state"] == "offered" for c in contacts)

        until(f"{channel} {reference} offered", offered)
        accepted = daemon.post(f"/api/desk/contacts/{reference}/accept", {}, agent)
        assert accepted[0] == 200, accepted
        return reference

    for _ in range(3):
        reference = take("ticket")
        time.sleep(1)  # a handling time above 0
        finished = daemon.post(
            f"/api/desk/contacts/{reference}/finish", {"outcome": "answered"}, agent
        )
        assert finished[0] == 200, finished
    no_show = take("ticket")
    # Called to the counter (again), and nobody comes.
    assert daemon.post(f"/api/desk/contacts/{no_show}/recall", {}, agent)[0] == 200
    gone = daemon.post(f"/api/desk/contacts/{no_show}/no-show", {}, agent)
    assert gone[0] == 200, gone
    take("email")


def grafana_to_promql(expr: str) -> str:
    for variable, value in VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


@dataclasses.dataclass(frozen=True)
class Query:
    dashboard: str
    panel: str
    expr: str
    tile: str = ""  # the wallboard's: the panel and legend of the tile it shows
    ref: str = ""


def dashboard_queries() -> list[Query]:
    """Every query of the dashboards, and each query variable's label_values() as the query
    Grafana makes of it (the datasource variable lists datasources, not series)."""
    found = []
    for path in DASHBOARDS:
        document = json.loads(path.read_text(encoding="utf-8"))
        for panel in document["panels"]:
            for target in panel.get("targets", []):
                tile = f"{panel['id']} {target['legendFormat']}"
                expr = grafana_to_promql(target["expr"])
                found.append(Query(path.name, panel["title"], expr, tile, target["refId"]))
        for variable in document["templating"]["list"]:
            if variable["type"] == "datasource":
                continue
            metric, label = (
                variable["query"]["query"].removeprefix("label_values(")[:-1].split(", ")
            )
            query = f"group by ({label}) ({grafana_to_promql(metric)})"
            found.append(Query(path.name, f"${variable['name']}", query))
    assert len(found) > 40
    return found


@pytest.mark.timeout(180)
def test_every_dashboard_query_returns_data_from_a_real_prometheus(scene: Scene) -> None:
    # The counters must move while Prometheus watches, or a rate over them is 0 and the
    # ratios' `> 0` filters leave nothing.
    serve(scene.daemon, scene.tokens)
    # A counter series appears at its first count: a rate needs two scrapes of it.
    for selector in [
        f'rate(contactd_contacts_abandoned_total{{queue="{QUEUE}"}}[1m])',
        f'contactd:service_level:ratio_rate15m{{queue="{QUEUE}"}}',
        f'contactd:service_level:ratio_today{{queue="{QUEUE}"}}',
    ]:
        until(selector, functools.partial(scene.prometheus.query, selector))

    empty = []
    for query in dashboard_queries():
        result = scene.prometheus.query(query.expr)  # fails on what Prometheus cannot parse
        # The wallboard's tiles have one query per colour, and only one shows: below.
        tile = query.dashboard == WALLBOARD and query.ref
        if not result and not tile and not any(name in query.expr for name in NEEDS_MORE):
            empty.append(f"{query.dashboard} / {query.panel}: {query.expr}")
    assert not empty, "queries without data:\n" + "\n".join(empty)


@pytest.mark.timeout(180)
def test_every_recording_rule_produces_series_and_every_alert_evaluates(scene: Scene) -> None:
    serve(scene.daemon, scene.tokens)
    url = f"{scene.prometheus.url}/api/v1/rules"
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - our loopback server
        groups = json.loads(response.read())["data"]["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    recorded = [r["name"] for r in rules if r["type"] == "recording"]
    assert len(recorded) == (RULES[0].parent / "recording.yml").read_text().count("- record:")
    expected = [n for n in recorded if n not in NEEDS_MORE]

    def without_series() -> list[str]:
        return [n for n in expected if not scene.prometheus.query(f'{n}{{queue="{QUEUE}"}}')]

    try:
        until("every recording rule has series", lambda: not without_series())
    except AssertionError:
        pytest.fail(f"recording rules without series for {QUEUE}: {without_series()}")
    broken = [r["name"] for r in rules if r["health"] not in {"ok", "unknown"}]
    assert not broken, f"rules that fail to evaluate: {broken}"
    # What the daemon counted, once scraped: 3 tickets answered, 1 no-show.
    for counter, count in [("answered", 3), ("abandoned", 1)]:
        selector = f'sum(contactd_contacts_{counter}_total{{queue="{QUEUE}", channel="ticket"}})'
        until(
            f"{selector} == {count}",
            functools.partial(scene.prometheus.query, f"{selector} == {count}"),
        )


@pytest.mark.timeout(180)
def test_the_wallboard_shows_each_tile_once_in_the_colour_of_its_goal(scene: Scene) -> None:
    """Each tile of the wallboard has a query per colour (green: the goal met, red: missed);
    for a queue with traffic exactly one of them answers. Here 3 tickets of 4 were served
    within the goal, 75 % against a target of 80 %: red; nobody waits: green."""
    serve(scene.daemon, scene.tokens)
    ticket = f'queue="{QUEUE}", channel="ticket"'
    settled = (  # the no-show counted, and the rules caught up with the leader's figures
        f"max(contactd_today_abandoned{{{ticket}}}) == 1 and on () "
        f"(max(contactd:service_level:ratio_today{{{ticket}}}) "
        f"== max(contactd_service_level_ratio{{{ticket}}}))"
    )
    until("today's figures settled", functools.partial(scene.prometheus.query, settled))
    document = json.loads((DASHBOARDS[0].parent / WALLBOARD).read_text(encoding="utf-8"))
    colours = {
        (panel["id"], override["matcher"]["options"]): prop["value"]["steps"][0]["color"]
        for panel in document["panels"]
        for override in panel.get("fieldConfig", {}).get("overrides", [])
        for prop in override["properties"]
        if override["matcher"]["id"] == "byFrameRefID" and prop["id"] == "thresholds"
    }
    shown: dict[str, list[str]] = {}
    for query in dashboard_queries():
        if query.dashboard == WALLBOARD and query.ref and scene.prometheus.query(query.expr):
            panel = int(query.tile.split()[0])
            shown.setdefault(query.tile, []).append(colours.get((panel, query.ref), "neutral"))
    assert shown == {
        "1 {{state}}": ["neutral"],
        "3 service level": ["red"],
        "5 waiting": ["neutral"],
        "5 oldest wait": ["green"],
        "7 answered": ["neutral"],
        "7 abandoned": ["neutral"],
    }
