"""The daemon as an operator runs it: real processes, the embedded PostgreSQL, signals."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import signal
import socket
import time
from datetime import datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from contactd.store import embedded
from tests.e2e.daemon import Daemon, contactd, staff_token

pytestmark = pytest.mark.slow


def _postmaster_running(data_dir: Path) -> bool:
    pidfile = data_dir / "pgdata" / "postmaster.pid"
    if not pidfile.exists():
        return False
    pid = int(pidfile.read_text().split()[0])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.timeout(120)
def test_run_starts_its_own_postgres_keeps_the_data_and_stops_it_on_ctrl_c(
    tmp_path: Path, daemons: list[Daemon]
) -> None:
    data = tmp_path / "data"
    # The operator creates the first admin before the daemon ever ran.
    added = contactd(
        "staff", "add", "admin", "--name", "Ada Admin", "--role", "admin", "--data-dir", str(data)
    )
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip().splitlines()[-1]
    assert token.startswith("cdt_")
    assert not _postmaster_running(data), "a CLI command stops the server it started"

    first = Daemon(["run", "--data-dir", str(data), "--port", "0"], tmp_path / "first.log")
    daemons.append(first)
    first.wait_ready()
    assert first.get("/ready")[0] == 200
    status, me = first.get("/api/me", token)
    assert (status, me["login"], me["name"], me["role"], me["disabled"]) == (
        200,
        "admin",
        "Ada Admin",
        "admin",
        False,
    )
    # A token from the CLI expires after auth.token_days (90), counted from its issue.
    issued = datetime.fromisoformat(me["token_at"])
    assert datetime.fromisoformat(me["token_expires_at"]) - issued == timedelta(days=90)

    # While it runs, the operator adds a caseworker on the same data directory.
    agent_token = staff_token("karin", "agent", data_dir=data)
    assert first.get("/api/me", agent_token)[0] == 200, "the CLI left the daemon's server running"

    assert first.interrupt() == 0
    assert not _postmaster_running(data)
    assert "daemon.stopped" in first.output()

    second = Daemon(["run", "--data-dir", str(data), "--port", "0"], tmp_path / "second.log")
    daemons.append(second)
    second.wait_ready()
    assert second.get("/api/me", agent_token)[0] == 200
    listed = contactd("staff", "list", "--data-dir", str(data))
    assert listed.stdout.splitlines() == [
        "admin\tadmin\tactive\tAda Admin",
        "karin\tagent\tactive\tKarin",
    ]
    assert second.interrupt() == 0


@pytest.mark.timeout(60)
def test_a_second_daemon_on_the_same_data_dir_is_refused(
    tmp_path: Path, daemons: list[Daemon]
) -> None:
    data = tmp_path / "data"
    first = Daemon(["run", "--data-dir", str(data), "--port", "0"], tmp_path / "a.log")
    daemons.append(first)
    first.wait_ready()
    second = Daemon(["run", "--data-dir", str(data), "--port", "0"], tmp_path / "b.log")
    daemons.append(second)
    assert second.process.wait(30) == 1
    assert "another contactd is already running" in second.output()
    assert "Traceback" not in second.output()
    assert first.get("/ready")[0] == 200


@pytest.mark.timeout(90)
def test_a_follower_takes_over_within_5_seconds_when_the_leader_is_killed(
    db_url: str, tmp_path: Path, daemons: list[Daemon]
) -> None:
    env = {"CONTACTD_DATABASE_URL": db_url}
    a = Daemon(["run", "--port", "0"], tmp_path / "a.log", env)
    b = Daemon(["run", "--port", "0"], tmp_path / "b.log", env)
    daemons.extend([a, b])
    a.wait_ready()
    b.wait_ready()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        leaders = [d for d in (a, b) if d.get("/health")[1]["leader"]]
        if leaders:
            break
        time.sleep(0.05)
    assert len(leaders) == 1
    leader = leaders[0]
    follower = b if leader is a else a

    leader.process.send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    while not follower.get("/health")[1]["leader"]:
        assert time.monotonic() - killed_at < 5, "the follower did not take over within 5 s"
        time.sleep(0.05)
    assert follower.get("/ready")[0] == 200
    assert follower.interrupt() == 0


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.timeout(60)
def test_an_unreachable_database_is_retried_then_reported_without_traceback(
    tmp_path: Path,
) -> None:
    result = contactd(
        "run",
        "--port",
        "0",
        env={
            "CONTACTD_DATABASE_URL": f"postgresql://contactd:secret@127.0.0.1:{_closed_port()}/x",
            "CONTACTD_DATABASE__CONNECT_TIMEOUT_SECONDS": "2",
            "CONTACTD_DAEMON__LOG_FORMAT": "json",
        },
    )
    assert result.returncode == 1
    assert "unreachable after" in result.stderr
    assert "secret" not in result.stderr + result.stdout, "the password must not be shown"
    assert result.stdout.count('"database.unavailable"') >= 2
    assert "Traceback" not in result.stderr + result.stdout


def test_a_bad_configuration_stops_the_daemon_with_status_2() -> None:
    result = contactd("run", env={"CONTACTD_DAEMON__PORT": "eighty"})
    assert result.returncode == 2
    assert "environment CONTACTD_DAEMON__PORT: daemon.port = 'eighty'" in result.stderr


def test_version() -> None:
    result = contactd("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("contactd ")


def test_staff_commands_report_unknown_people(tmp_path: Path) -> None:
    result = contactd("staff", "disable", "nobody", "--data-dir", str(tmp_path / "d"))
    assert result.returncode == 1
    assert "no staff member with login 'nobody'" in result.stderr


@pytest.mark.timeout(90)
def test_a_disabled_person_gets_a_new_token_only_by_being_enabled(tmp_path: Path) -> None:
    where = ["--data-dir", str(tmp_path / "d")]
    staff_token("karin", "agent", data_dir=tmp_path / "d")
    assert contactd("staff", "disable", "karin", *where).returncode == 0

    refused = contactd("staff", "token", "karin", *where)
    assert refused.returncode == 1
    assert "karin is disabled; enabling them issues a new token" in refused.stderr
    assert "disabled" in contactd("staff", "list", *where).stdout

    enabled = contactd("staff", "enable", "karin", *where)
    assert enabled.returncode == 0, enabled.stderr
    assert enabled.stdout.splitlines()[-1].startswith("cdt_")
    assert "karin\tagent\tactive" in contactd("staff", "list", *where).stdout
    again = contactd("staff", "enable", "karin", *where)
    assert (again.returncode, "karin is not disabled" in again.stderr) == (1, True)


@pytest.mark.timeout(60)
def test_personal_data_never_reaches_the_log_even_at_debug_level(
    tmp_path: Path, daemons: list[Daemon]
) -> None:
    data = tmp_path / "data"
    token = staff_token("frida", "frontdesk", data_dir=data)
    daemon = Daemon(
        ["run", "--data-dir", str(data), "--port", "0"],
        tmp_path / "d.log",
        {"CONTACTD_DAEMON__LOG_LEVEL": "debug"},
    )
    daemons.append(daemon)
    daemon.wait_ready()
    personal = {
        "client_address": "anna.jensen@example.dk",
        "subject": "Min ægtefælles opholdstilladelse",
        "text": "Mit CPR-nummer er 010190-1234 og jeg bor på Nørregade 7",
    }
    status, body = daemon.post(
        "/api/contacts", {"channel": "email", "case_type": "family", **personal}, token
    )
    assert status == 201
    reference = body["reference"]
    assert daemon.interrupt() == 0
    log = daemon.output()
    assert reference in log, "the log names the contact by its reference"
    for value in [*personal.values(), token, "010190-1234"]:
        assert value not in log


@pytest.mark.timeout(90)
def test_when_the_database_goes_away_clients_get_503_and_service_resumes_after(
    tmp_path: Path, daemons: list[Daemon]
) -> None:
    server = embedded.start(tmp_path / "pg")
    try:
        daemon = Daemon(
            ["run", "--port", "0"], tmp_path / "d.log", {"CONTACTD_DATABASE_URL": server.url}
        )
        daemons.append(daemon)
        daemon.wait_ready()
        token = contactd(
            "staff",
            "add",
            "ada",
            "--name",
            "Ada",
            "--role",
            "admin",
            env={"CONTACTD_DATABASE_URL": server.url},
        ).stdout.split()[-1]
        assert daemon.get("/api/me", token)[0] == 200

        server.stop()
        status, body = daemon.get("/ready")
        assert status == 503
        assert body["status"] == "unavailable"
        status, body = daemon.get("/api/me", token)
        assert (status, body["error"]["code"]) == (503, "database_unavailable")

        server = embedded.start(tmp_path / "pg")
        deadline = time.monotonic() + 30
        while daemon.get("/ready")[0] != 200:
            assert time.monotonic() < deadline, "the daemon did not recover"
            time.sleep(0.2)
        assert daemon.get("/api/me", token)[0] == 200
        assert "Traceback" not in daemon.output()
        assert daemon.interrupt() == 0
    finally:
        server.stop()


def test_a_bad_command_line_option_is_refused_with_status_2() -> None:
    result = contactd("run", "--port", "70000")
    assert result.returncode == 2
    assert "daemon.port = 70000: Input should be less than or equal to 65535" in result.stderr


def test_a_database_that_refuses_us_is_reported_at_once(db_url: str) -> None:
    missing = db_url.replace("/test_", "/missing_", 1)
    result = contactd("migrate", env={"CONTACTD_DATABASE_URL": missing})
    assert result.returncode == 1
    assert "refused the connection" in result.stderr
    assert "does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_url_that_is_not_postgresql_is_reported() -> None:
    result = contactd("migrate", env={"CONTACTD_DATABASE_URL": "mysql://db.example/contactd"})
    assert result.returncode == 1
    assert "CONTACTD_DATABASE_URL is not a PostgreSQL URL" in result.stderr


@pytest.mark.timeout(60)
def test_ctrl_c_while_waiting_for_the_database_stops_at_once(
    tmp_path: Path, daemons: list[Daemon]
) -> None:
    daemon = Daemon(
        ["run", "--port", "0"],
        tmp_path / "d.log",
        {"CONTACTD_DATABASE_URL": f"postgresql://x@127.0.0.1:{_closed_port()}/x"},
    )
    daemons.append(daemon)
    deadline = time.monotonic() + 20
    while "database.unavailable" not in daemon.output():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    interrupted = time.monotonic()
    assert daemon.interrupt(within=10) == 130
    assert time.monotonic() - interrupted < 5, "start-up must not hold Ctrl-C back"
    assert "Traceback" not in daemon.output()


@pytest.mark.timeout(120)
def test_a_daemon_stops_the_postgres_a_killed_daemon_left_running(
    tmp_path: Path, daemons: list[Daemon]
) -> None:
    data = tmp_path / "data"
    killed = Daemon(["run", "--data-dir", str(data), "--port", "0"], tmp_path / "a.log")
    daemons.append(killed)
    killed.wait_ready()
    killed.kill()
    assert _postmaster_running(data), "SIGKILL leaves the embedded server behind"

    successor = Daemon(["run", "--data-dir", str(data), "--port", "0"], tmp_path / "b.log")
    daemons.append(successor)
    successor.wait_ready()
    assert successor.get("/ready")[0] == 200
    assert successor.interrupt() == 0
    assert not _postmaster_running(data)


@pytest.mark.timeout(120)
def test_offers_stay_single_and_within_capacity_when_the_leader_dies_mid_load(
    db_url: str, tmp_path: Path, daemons: list[Daemon]
) -> None:
    env = {"CONTACTD_DATABASE_URL": db_url, "CONTACTD_ROUTING__POLL_SECONDS": "0.2"}
    a = Daemon(["run", "--port", "0"], tmp_path / "a.log", env)
    b = Daemon(["run", "--port", "0"], tmp_path / "b.log", env)
    daemons.extend([a, b])
    a.wait_ready()
    b.wait_ready()
    tokens = {}
    for login, role in [
        ("sofie", "supervisor"),
        ("frida", "frontdesk"),
        *[(f"a{i}", "agent") for i in range(4)],
    ]:
        tokens[login] = staff_token(login, role, env=env)
    capacity = {"call": 1, "callback": 1, "email": 40, "ticket": 1}
    for i in range(4):
        profile = {"skills": {"visa": 3}, "languages": ["da"], "capacity": capacity}
        assert (
            a.request(
                f"/api/agents/a{i}",
                body=json.dumps(profile).encode(),
                token=tokens["sofie"],
                method="PUT",
            )[0]
            == 200
        )
        assert a.post("/api/desk/state", {"state": "available"}, tokens[f"a{i}"])[0] == 200

    def leader_and_follower() -> tuple[Daemon, Daemon]:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for d, other in ((a, b), (b, a)):
                if d.process.poll() is None and d.get("/health")[1]["leader"]:
                    return d, other
            time.sleep(0.05)
        raise AssertionError("no leader")

    leader, follower = leader_and_follower()
    new = {"channel": "email", "case_type": "visa"}
    for i in range(120):
        if i == 40:
            leader.process.send_signal(signal.SIGKILL)  # in the middle of routing the load
        assert follower.post("/api/contacts", new, tokens["frida"])[0] == 201

    async def check() -> None:
        conn = await asyncpg.connect(db_url)
        try:
            deadline = time.monotonic() + 15
            while await conn.fetchval("SELECT count(*) FROM contacts WHERE state = 'queued'"):
                assert time.monotonic() < deadline, "contacts left unrouted after the failover"
                await asyncio.sleep(0.1)
            twice = await conn.fetchval(
                "SELECT count(*) FROM (SELECT contact_id FROM contact_events WHERE action = 'offer'"
                " GROUP BY contact_id HAVING count(*) > 1) t"
            )
            held = await conn.fetch(
                "SELECT agent_id, count(*) AS n FROM contacts WHERE state = 'offered' GROUP BY 1"
            )
        finally:
            await conn.close()
        assert twice == 0
        assert sum(r["n"] for r in held) == 120
        assert max(r["n"] for r in held) <= 40

    asyncio.run(check())


@pytest.mark.timeout(60)
def test_ctrl_c_ends_open_desk_streams_instead_of_waiting_for_them(
    tmp_path: Path, daemons: list[Daemon]
) -> None:
    data = tmp_path / "data"
    token = staff_token("karin", "agent", data_dir=data)
    boss = staff_token("sofie", "supervisor", data_dir=data)
    daemon = Daemon(["run", "--data-dir", str(data), "--port", "0"], tmp_path / "d.log")
    daemons.append(daemon)
    daemon.wait_ready()
    profile = json.dumps({"skills": {"family": 3}, "languages": ["da"]}).encode()
    assert daemon.request("/api/agents/karin", body=profile, token=boss, method="PUT")[0] == 200

    host, port = daemon.url.removeprefix("http://").rsplit(":", 1)
    stream = http.client.HTTPConnection(host, int(port), timeout=30)
    stream.request("GET", "/api/desk/events", headers={"Authorization": f"Bearer {token}"})
    response = stream.getresponse()
    assert response.readline().startswith(b"event: desk")

    stopped = time.monotonic()
    assert daemon.interrupt(within=20) == 0
    assert time.monotonic() - stopped < 5, "shutdown waited for the open stream"
    stream.close()
