"""Alerts reach people: a firing alert goes through a real Alertmanager to a real SMTP server.

Debian's Alertmanager binary (prometheus-alertmanager) runs on a free loopback port with the
shipped docker/alertmanager/alertmanager.yml and its mail templates, changed only where a
test must: the SMTP server is the test's aiosmtpd (plain, on loopback) and the groups wait a
second instead of minutes. The test posts alerts to its API as Prometheus does, with the
severity and runbook link of the shipped rules, and reads the mail that arrives.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from tests import mailserver
from tests.processes import stop
from tests.unit.test_docker_files import parse_yaml_subset

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "docker" / "alertmanager" / "alertmanager.yml"
ALERTS = ROOT / "docker" / "prometheus" / "rules" / "alerts.yml"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def until(what: str, check: Callable[[], Any], within: float = 30) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s: {what}")
        time.sleep(0.2)


def shipped_rule(name: str) -> dict[str, Any]:
    groups = parse_yaml_subset(ALERTS.read_text(encoding="utf-8"))["groups"]
    [rule] = [r for g in groups for r in g["rules"] if r.get("alert") == name]
    assert isinstance(rule, dict)
    return rule


def yaml_values(node: Any) -> Any:
    """The test's YAML reader keeps every scalar a string: give Alertmanager its booleans."""
    if isinstance(node, dict):
        return {key: yaml_values(value) for key, value in node.items()}
    if isinstance(node, list):
        return [yaml_values(value) for value in node]
    return {"true": True, "false": False}.get(node, node)


def config_for_test(smtp_port: int, directory: Path) -> Path:
    """The shipped configuration with the test's SMTP server and one-second group timings."""
    config = yaml_values(parse_yaml_subset(CONFIG.read_text(encoding="utf-8")))
    config["global"]["smtp_smarthost"] = f"127.0.0.1:{smtp_port}"
    config["global"]["smtp_require_tls"] = False  # aiosmtpd here offers no STARTTLS
    for route in [config["route"], *config["route"]["routes"]]:
        route.update(group_wait="1s", group_interval="1s")
    # The templates stay the shipped ones, where they are: the copy lives elsewhere.
    config["templates"] = [str(CONFIG.parent / pattern) for pattern in config["templates"]]
    path = directory / "alertmanager.yml"
    path.write_text(json.dumps(config))  # JSON is YAML
    return path


class Alertmanager:
    def __init__(self, binary: str, config: Path, directory: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = (directory / "alertmanager.log").open("wb")
        self.process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.path={directory / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                f"--web.external-url={self.url}",
                "--cluster.listen-address=",  # one Alertmanager: no cluster, no gossip port
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:  # noqa: S310 - our loopback server
                return bool(response.status == 200)
        except OSError:
            assert self.process.poll() is None, "alertmanager exited; see alertmanager.log"
            return False

    def post(self, *alerts: dict[str, Any]) -> None:
        """Alerts as Prometheus sends them (API v2)."""
        request = urllib.request.Request(  # noqa: S310 - our loopback server
            f"{self.url}/api/v2/alerts",
            data=json.dumps(list(alerts)).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            assert response.status == 200

    def close(self) -> None:
        stop(self.process)
        self.log.close()


@dataclasses.dataclass
class Scene:
    alertmanager: Alertmanager
    received: mailserver.Smtp


@pytest.fixture
def alertmanager_binary() -> str:
    # Debian names it prometheus-alertmanager; upstream's archive and image, alertmanager.
    binary = shutil.which("alertmanager") or shutil.which("prometheus-alertmanager")
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail(
                "Debian's prometheus-alertmanager is missing; scripts/bootstrap --dev installs it"
            )
        pytest.skip("Alertmanager is not installed (apt-get install prometheus-alertmanager)")
    return binary


@pytest.fixture
def scene(
    tmp_path: Path, alertmanager_binary: str, smtp: tuple[mailserver.Smtp, int]
) -> Iterator[Scene]:
    received, smtp_port = smtp
    alertmanager = Alertmanager(alertmanager_binary, config_for_test(smtp_port, tmp_path), tmp_path)
    try:
        until("Alertmanager is ready", alertmanager.ready)
        yield Scene(alertmanager, received)
    finally:
        alertmanager.close()


def alert(name: str, summary: str, ends_at: datetime, **labels: str) -> dict[str, Any]:
    """An alert of the shipped rule `name`, as Prometheus would send it: the rule's severity
    and runbook link, the summary its template gives."""
    rule = shipped_rule(name)
    return {
        "labels": {"alertname": name, **rule["labels"], **labels},
        "annotations": {
            "summary": summary,
            "description": f"What {name} says.",
            "runbook_url": rule["annotations"]["runbook_url"],
        },
        "startsAt": (ends_at - timedelta(hours=1)).isoformat(),
        "endsAt": ends_at.isoformat(),
        "generatorURL": "http://127.0.0.1:9090/graph",
    }


def mail(scene: Scene, number: int) -> EmailMessage:
    """The `number`th mail to arrive (from 1), waited for at most 30 s."""
    until(f"mail {number} arrives", lambda: len(scene.received.messages) >= number)
    return scene.received.messages[number - 1]


def text(message: EmailMessage) -> str:
    assert message.get_body(preferencelist=("html",)) is None, "plain text only"
    body = message.get_body(preferencelist=("plain",))
    assert isinstance(body, EmailMessage)
    content = body.get_content()
    assert isinstance(content, str)
    return content.replace("\r\n", "\n")  # sent with the CRLF of the wire


def test_a_firing_warning_is_mailed_to_the_warning_list_with_its_runbook(scene: Scene) -> None:
    later = datetime.now(tz=UTC) + timedelta(hours=1)
    summary = "Satisfaction under its goal: family"
    scene.alertmanager.post(alert("ContactdSatisfactionLow", summary, later, queue="family"))

    message = mail(scene, 1)
    assert message["To"] == "contactd-warning@example.org"
    assert message["From"] == "contactd-alerts@example.org"
    assert message["Subject"] == f"[contactd WARNING] {summary}"
    body = text(message)
    assert body.startswith("Firing:\n")
    assert "ContactdSatisfactionLow (warning), queue family\n" in body
    assert f"  {summary}\n" in body
    assert (
        "  What to do: https://contactd.example.org/docs/how-to/alerts.md#contactdsatisfactionlow\n"
        in body
    )
    assert f"All alerts, and silences: {scene.alertmanager.url}/#/alerts?receiver=" in body


def test_a_critical_alert_is_mailed_to_the_critical_list_and_again_when_resolved(
    scene: Scene,
) -> None:
    later = datetime.now(tz=UTC) + timedelta(hours=1)
    summary = "No contactd instance leads"
    scene.alertmanager.post(alert("ContactdNoLeader", summary, later))

    firing = mail(scene, 1)
    assert firing["To"] == "contactd-critical@example.org"
    assert firing["Subject"] == f"[contactd CRITICAL] {summary}"
    assert "ContactdNoLeader (critical)\n" in text(firing)
    assert "alerts.md#contactdnoleader\n" in text(firing)

    scene.alertmanager.post(alert("ContactdNoLeader", summary, datetime.now(tz=UTC)))
    resolved = mail(scene, 2)
    assert resolved["To"] == "contactd-critical@example.org"
    assert resolved["Subject"] == f"[contactd RESOLVED] {summary}"
    body = text(resolved)
    assert body.startswith("Resolved:\n")
    assert "ContactdNoLeader (critical)\n" in body
    assert ", resolved " in body
