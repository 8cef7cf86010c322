"""Start `contactd` as a real process, as an operator would, and talk to it over HTTP.

Every process runs on a simulated clock that starts at WORKDAY (tests/conftest.py: a
Tuesday at 10:00 in Copenhagen, when the hotline and the service centre are open) and runs at
real speed, whatever day and hour it really is: a daemon's time at a moment is about WORKDAY
plus the seconds since it started (`Daemon.now()`)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tests.conftest import WORKDAY

READY = re.compile(r"ready on (http://\S+)")
# JSON logs to search; no classifier (training it costs seconds) unless a test asks for it.
QUIET = {"CONTACTD_DAEMON__LOG_FORMAT": "json", "CONTACTD_CLASSIFIER__ENABLED": "false"}
# The daemon's one clock (contactd/clock.py): WORKDAY at real speed, not the machine's time.
CLOCK = {"CONTACTD_CLOCK_START": WORKDAY.isoformat()}


class Daemon:
    def __init__(self, args: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.log = log
        self._out = log.open("wb")
        environment = {**os.environ, **QUIET, **CLOCK, **(env or {})}
        self.clock_start = datetime.fromisoformat(environment["CONTACTD_CLOCK_START"])
        self._started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "contactd", *args],
            stdout=self._out,
            stderr=subprocess.STDOUT,
            env=environment,
        )
        self.url = ""

    def now(self) -> datetime:
        """About the daemon's time now: its clock started a little after the process (by
        the time Python takes to start), so this is at most a few seconds ahead of it."""
        return self.clock_start + timedelta(seconds=time.monotonic() - self._started)

    def wait_ready(self, within: float = 30) -> str:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            match = READY.search(self.output())
            if match:
                self.url = match.group(1)
                return self.url
            if self.process.poll() is not None:
                raise AssertionError(f"contactd exited {self.process.returncode}:\n{self.output()}")
            time.sleep(0.05)
        raise AssertionError(f"contactd not ready in {within} s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def get(self, path: str, token: str | None = None) -> tuple[int, Any]:
        return self.request(path, token=token)

    def post(
        self, path: str, body: Any, token: str | None = None, *, timeout: float = 5
    ) -> tuple[int, Any]:
        return self.request(path, body=json.dumps(body).encode(), token=token, timeout=timeout)

    def request(
        self,
        path: str,
        *,
        body: bytes | None = None,
        token: str | None = None,
        method: str | None = None,
        timeout: float = 5,
    ) -> tuple[int, Any]:
        request = urllib.request.Request(self.url + path, data=body, method=method)  # noqa: S310
        if body is not None:
            request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - an http URL the daemon printed
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def interrupt(self, within: float = 20) -> int:
        """Ctrl-C, and wait for the exit status."""
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(within)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(10)

    def close(self) -> None:
        """Ctrl-C first, so that a daemon stops the embedded PostgreSQL it started (a killed
        one leaves it running until the next start); killed if it will not stop."""
        if self.process.poll() is None:
            try:
                self.interrupt(within=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self._out.close()


def contactd(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a one-shot contactd command and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "contactd", *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=60,
        env={**os.environ, **CLOCK, **(env or {})},
        check=False,
    )


def staff_token(
    login: str, role: str, *, data_dir: Path | None = None, env: dict[str, str] | None = None
) -> str:
    """Add a staff member with the CLI, as an operator does, and return their token."""
    where = ["--data-dir", str(data_dir)] if data_dir else []
    added = contactd(
        "staff", "add", login, "--name", login.title(), "--role", role, *where, env=env
    )
    assert added.returncode == 0, added.stderr
    return added.stdout.strip().splitlines()[-1]
