"""Named, supervised background tasks: kept referenced, restarted with backoff when they
crash, and all cancelled and awaited (with a deadline) at shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import structlog

log = structlog.get_logger(__name__)

TaskFactory = Callable[[], Awaitable[None]]


class Supervisor:
    def __init__(self, *, max_backoff: float = 30.0) -> None:
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._max_backoff = max_backoff

    def start(self, name: str, factory: TaskFactory) -> None:
        """Run `factory()` as task `name`; if it raises, log it and run it again after a pause.

        A task that returns normally is done and not restarted.
        """
        if name in self._tasks and not self._tasks[name].done():
            raise RuntimeError(f"task {name!r} is running already")
        self._tasks[name] = asyncio.create_task(self._run(name, factory), name=name)

    @property
    def running(self) -> list[str]:
        return sorted(n for n, t in self._tasks.items() if not t.done())

    async def _run(self, name: str, factory: TaskFactory) -> None:
        loop = asyncio.get_running_loop()
        backoff = 0.5
        while True:
            started = loop.time()
            try:
                await factory()
                log.info("task.finished", task=name)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if loop.time() - started > 60:
                    backoff = 0.5  # it ran well for a while: this is a new failure
                log.error(
                    "task.crashed",
                    task=name,
                    error=describe(exc),
                    restart_in_seconds=backoff,
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)

    async def stop_all(self, *, grace: float = 5.0) -> None:
        tasks = list(self._tasks.values())
        self._tasks.clear()
        await _cancel(tasks, grace)


async def _cancel(tasks: list[asyncio.Task[None]], grace: float) -> None:
    for task in tasks:
        task.cancel()
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=grace)
    for task in pending:
        log.error("task.stuck", task=task.get_name(), grace_seconds=grace)
    for task in tasks:
        if task.done():
            with contextlib.suppress(asyncio.CancelledError):
                task.result()


def describe(exc: BaseException) -> str:
    """An unexpected error for the log: its class, SQLSTATE and where it was raised, but not
    its message, which may quote the data it failed on (a phone number, an address)."""
    state = f" (SQLSTATE {exc.sqlstate})" if isinstance(exc, asyncpg.PostgresError) else ""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}{state}{where}"
