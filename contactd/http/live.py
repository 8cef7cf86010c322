"""The waiting-room board and the public status, live: one snapshot per change, shared by
every screen connected to this daemon as server-sent events.

A snapshot is computed once when something changed (at most every `min_interval` seconds,
and at least every `refresh` seconds, since estimated waits move with time), never once per
screen, so a thousand screens cost one query. A slow screen only skips snapshots: it always
gets the latest. Nothing personal is in a snapshot: numbers, counters, queues and counts.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import structlog
from aiohttp import web

log = structlog.get_logger(__name__)

KEEPALIVE_SECONDS = 15
SSE_HEADERS = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",  # proxies pass each event on at once
}


class Wakeup(Protocol):
    async def wait(self, *, within: float) -> bool: ...


class Broadcast:
    def __init__(
        self,
        name: str,
        snapshot: Callable[[], Awaitable[dict[str, Any]]],
        wakeup: Wakeup,
        stopping: asyncio.Event,
        *,
        refresh: float = 10,
        min_interval: float = 0.2,
    ) -> None:
        self.name = name  # the SSE event name: 'board' or 'status'
        self._snapshot = snapshot
        self._wakeup = wakeup
        self._stopping = stopping
        self._refresh = refresh
        self._min_interval = min_interval
        self._latest: str | None = None
        self._event = b""  # the latest snapshot as one server-sent event, encoded once
        self._version = 0
        self._changed = asyncio.Event()
        self._ready = asyncio.Event()
        self.clients = 0  # screens following the stream now (contactd_live_clients)

    async def run(self) -> None:
        """Recompute when woken; tell every connected screen when the snapshot changed."""
        while True:
            try:
                data = json.dumps(await self._snapshot(), ensure_ascii=False)
            except Exception as exc:  # the database is away: screens keep the last one
                log.warning("live.snapshot_failed", view=self.name, error=type(exc).__name__)
                await asyncio.sleep(1)
                continue
            if data != self._latest:
                self._latest = data
                self._event = f"event: {self.name}\ndata: {data}\n\n".encode()
                self._version += 1
                changed, self._changed = self._changed, asyncio.Event()
                changed.set()
                self._ready.set()
            # A burst of changes after this one makes one more snapshot, not one each; a
            # change alone goes out at once (the wake-up stays set through the pause).
            await asyncio.sleep(self._min_interval)
            await self._wakeup.wait(within=self._refresh)

    def close(self) -> None:
        """The daemon stops: every open stream ends now, not at its next keep-alive."""
        self._stopping.set()
        self._changed.set()

    async def latest(self) -> str:
        """The current snapshot; waits for the first (a daemon that just started)."""
        await asyncio.wait_for(self._ready.wait(), 10)
        return self._latest or "{}"

    async def json(self, request: web.Request) -> web.Response:
        return web.Response(
            text=await self.latest(),
            content_type="application/json",
            headers={"Cache-Control": "no-cache", "Access-Control-Allow-Origin": "*"},
        )

    async def stream(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events: the snapshot at once, then each new one. The browser's
        EventSource reconnects by itself after a network drop (retry: 2 s)."""
        await self.latest()
        response = web.StreamResponse(headers=SSE_HEADERS)
        await response.prepare(request)
        self.clients += 1
        try:
            await response.write(b"retry: 2000\n\n")
            sent = -1
            while not self._stopping.is_set():
                changed = self._changed  # taken first: a change from now on sets it
                if sent != self._version:
                    sent = self._version
                    await response.write(self._event)
                try:
                    async with asyncio.timeout(KEEPALIVE_SECONDS):
                        await changed.wait()
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
        except ConnectionResetError:
            pass  # the screen went away
        finally:
            self.clients -= 1
        return response
