"""Leadership: of all daemons on one database, the one holding an advisory lock runs the
loops that must run once (routing, expiry, retries, outbox, statistics, IMAP polling).

The lock lives on a dedicated connection. If the leader dies, PostgreSQL drops that
connection and frees the lock; a follower, trying every `lock_retry_seconds`, takes over.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import Awaitable, Callable

import asyncpg
import structlog

from contactd import __version__
from contactd.clock import Clock
from contactd.store import database, queries
from contactd.tasks import Supervisor

log = structlog.get_logger(__name__)

LEADER_LOCK = 0x636F6E74_0002  # "cont" + 2; see migrations.MIGRATION_LOCK

LeaderLoop = Callable[[], Awaitable[None]]

# On TCP, notice a vanished peer within seconds rather than the kernel's default of hours,
# so a leader whose host or network died frees its lock quickly. Ignored on Unix sockets.
KEEPALIVE = {
    "tcp_keepalives_idle": "5",
    "tcp_keepalives_interval": "2",
    "tcp_keepalives_count": "3",
    "tcp_user_timeout": "10000",
}


class Leadership:
    def __init__(
        self,
        url: str,
        pool: asyncpg.Pool,
        *,
        lock_retry_seconds: float,
        heartbeat_seconds: float,
        clock: Clock,
    ) -> None:
        self.instance_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._url = url
        self._pool = pool
        self._retry = lock_retry_seconds
        self._heartbeat = heartbeat_seconds
        self._clock = clock
        self._loops: dict[str, LeaderLoop] = {}
        self._supervisor = Supervisor()
        self.is_leader = False
        self.became_leader = asyncio.Event()

    def add_loop(self, name: str, loop: LeaderLoop) -> None:
        """Register a loop that only the leader runs. Call before `run` starts."""
        self._loops[name] = loop

    async def run(self) -> None:
        """Contend for leadership for ever; lead while holding the lock."""
        pause = self._retry
        try:
            while True:
                conn: asyncpg.Connection | None = None
                why = "shutdown"
                try:
                    conn = await database.connect(self._url, timeout=10, server_settings=KEEPALIVE)
                    pause = self._retry
                    lost = asyncio.Event()
                    conn.add_termination_listener(lambda _c, lost=lost: lost.set())
                    await self._follow(conn)
                    await self._lead(conn, lost)
                except database.ANY_ERROR as exc:
                    # Back off while the database is away; a follower whose lock attempt
                    # merely failed retries at the normal pace (pause was reset on connect).
                    why = "connection lost"
                    log.warning(
                        "leader.connection_lost",
                        error=f"{type(exc).__name__}: {exc}",
                        retry_in_seconds=pause,
                    )
                finally:
                    await self._step_down(why=why)
                    if conn is not None and not conn.is_closed():
                        conn.terminate()
                await asyncio.sleep(pause)
                pause = min(pause * 2, 10.0)
        finally:
            with contextlib.suppress(Exception):
                await self._pool.execute(queries.get("instance_gone"), self.instance_id)

    async def _follow(self, conn: asyncpg.Connection) -> None:
        """Try for the lock every `lock_retry_seconds` until we hold it."""
        loop = asyncio.get_running_loop()
        next_beat = 0.0
        while True:
            async with asyncio.timeout(self._heartbeat):  # a silently dead socket must not hang
                if await conn.fetchval("SELECT pg_try_advisory_lock($1)", LEADER_LOCK):
                    return
            if loop.time() >= next_beat:
                await self._beat()
                next_beat = loop.time() + self._heartbeat
            await asyncio.sleep(self._retry)

    async def _lead(self, conn: asyncpg.Connection, lost: asyncio.Event) -> None:
        self.is_leader = True
        self.became_leader.set()
        log.info("leader.elected", instance=self.instance_id)
        for name, loop in self._loops.items():
            self._supervisor.start(name, loop)
        while True:
            # The lock connection closing (seen at once through `lost`) or not answering ends
            # leadership: the loops stop before another instance can have taken the lock.
            # (asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation.)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._heartbeat):
                    await lost.wait()
            if lost.is_set():
                raise ConnectionError("the leader lock connection was closed")
            async with asyncio.timeout(self._heartbeat):
                await conn.fetchval("SELECT 1")
            await self._beat()

    async def _step_down(self, *, why: str) -> None:
        if self.is_leader:
            log.info("leader.stepped_down", instance=self.instance_id, why=why)
        self.is_leader = False
        self.became_leader.clear()
        await self._supervisor.stop_all()

    async def _beat(self) -> None:
        """Record this instance as alive (and whether it leads), so operators can see it."""
        try:
            await self._pool.execute(
                queries.get("instance_heartbeat"),
                self.instance_id,
                socket.gethostname(),
                os.getpid(),
                __version__,
                self.is_leader,
                self._clock(),
            )
            if self.is_leader:
                await self._pool.execute(
                    queries.get("forget_stale_instances"),
                    max(60.0, 10 * self._heartbeat),
                    self._clock(),
                )
        except database.ANY_ERROR as exc:
            log.warning("instance.heartbeat_failed", error=f"{type(exc).__name__}: {exc}")
