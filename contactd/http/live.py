"""The waiting-room board, the public status and the agents' desks, live: one snapshot per
change, shared by every stream of it connected to this daemon as server-sent events.

A board or status snapshot is computed once when something changed (at most every
`min_interval` seconds, and at least every `refresh` seconds, since estimated waits move with
time), never once per screen, so a thousand screens cost one query. A slow screen only skips
snapshots: it always gets the latest. Nothing personal is in them: numbers, counters, queues
and counts.

An agent's desk is personal, so it is shared only among that agent's own streams (tabs,
screens): one `Feed` per agent, computed once per change however many streams follow it, and
a cap on the streams one token may hold open (`DeskStreams`).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

import structlog
from aiohttp import web

from contactd.store import listener as notify
from routing.errors import DomainError, Kind

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
        lazy: bool = False,
    ) -> None:
        self.name = name  # the SSE event name: 'board', 'status' or 'console'
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
        # Lazy: computed only while someone follows the stream (the console, which few watch
        # and which reads more); its JSON is computed on request.
        self._lazy = lazy
        self._followers = 0
        self._wanted = asyncio.Event()

    async def run(self) -> None:
        """Recompute when woken; tell every connected screen when the snapshot changed."""
        while True:
            if self._lazy and not self._followers:
                self._wanted.clear()
                await self._wanted.wait()
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
        text = await self.latest() if not self._lazy else json.dumps(await self._snapshot())
        return web.Response(
            text=text,
            content_type="application/json",
            headers={"Cache-Control": "no-cache", "Access-Control-Allow-Origin": "*"},
        )

    async def stream(
        self, request: web.Request, *, still: Callable[[], Awaitable[bool]] | None = None
    ) -> web.StreamResponse:
        """Server-sent events: the snapshot at once, then each new one. The browser's
        EventSource reconnects by itself after a network drop (retry: 2 s). `still`, asked
        at every keep-alive, ends a stream whose reader may no longer follow it (signed out)."""
        self._followers += 1
        try:
            return await self._stream(request, still)
        finally:
            self._followers -= 1

    async def _stream(
        self, request: web.Request, still: Callable[[], Awaitable[bool]] | None
    ) -> web.StreamResponse:
        if self._lazy and not self._wanted.is_set():
            self._ready.clear()  # what was computed before the pause is stale
            self._wanted.set()
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
                    if still is not None and not await still():
                        break
                    await response.write(b": keep-alive\n\n")
        except ConnectionResetError:
            pass  # the screen went away
        finally:
            self.clients -= 1
        return response


class TooManyStreams(DomainError):
    kind = Kind.TOO_MANY
    code = "too_many_streams"

    def __init__(self, cap: int) -> None:
        super().__init__(
            f"this sign-in has {cap} desk streams open already (daemon.desk_streams_per_token); "
            "close a tab or window with the desk, or wait for a dropped one to be noticed"
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class Snapshot:
    """An agent's desk as one server-sent event, and which credentials may follow it."""

    event: bytes  # encoded once, written to each of the agent's streams
    key: str  # the desk without its time: a stream is sent an event only when this changes
    # The hashes of the person's valid token and live session keys now; empty: disabled,
    # signed out everywhere, or no profile.
    credentials: frozenset[bytes]

    @classmethod
    def of(cls, name: str, data: dict[str, Any], credentials: frozenset[bytes]) -> Snapshot:
        # The time left out of the key, or every poll would send the desk again.
        key = json.dumps({**data, "at": None}, ensure_ascii=False, sort_keys=True)
        event = f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()
        return cls(event=event, key=key, credentials=credentials)


ENDED = Snapshot(event=b"", key="", credentials=frozenset())  # every stream of the feed ends
Compute = Callable[[], Awaitable[Snapshot]]


class Feed:
    """One agent's desk on this instance: recomputed by one task when a change is notified
    (or every KEEPALIVE_SECONDS, the poll), and read by all of that agent's streams."""

    def __init__(
        self, first: Snapshot, compute: Compute, wakeup: notify.Wakeup, stopping: asyncio.Event
    ) -> None:
        self.latest = first
        self.version = 0  # how many snapshots were computed; streams wait for the next
        self.changed = asyncio.Event()  # set, and replaced, when a snapshot is published
        self.streams = 0
        self.wakeup = wakeup
        self._compute = compute
        self._stopping = stopping
        # Its own context: its log lines are not the first stream's request's.
        self.task = asyncio.create_task(
            self._run(), name="desk-feed", context=contextvars.Context()
        )

    def refresh(self) -> None:
        """Compute again now (a stream joined with a credential newer than the latest one)."""
        self.wakeup.set()

    async def _run(self) -> None:
        while not self._stopping.is_set():
            await self.wakeup.wait(within=KEEPALIVE_SECONDS)
            if self._stopping.is_set():
                break
            try:
                self._publish(await self._compute())
            except DomainError:  # the agent profile is gone: the streams end
                self._publish(ENDED)
            except Exception as exc:  # the database is away: the streams keep the last one
                log.warning("live.desk_failed", error=type(exc).__name__)
                await asyncio.sleep(1)
        self.changed.set()  # the daemon stops: each stream sees it now

    def _publish(self, snapshot: Snapshot) -> None:
        # Every pass, changed or not: a stream that joined with a newer credential waits for a
        # snapshot computed after it joined before it ends. Streams write only a new desk.
        self.latest = snapshot
        self.version += 1
        changed, self.changed = self.changed, asyncio.Event()
        changed.set()

    async def send(self, response: web.StreamResponse, credential: bytes) -> None:
        """Write the desk to one stream as it changes, until its credential (a token's or a
        session key's hash) stops being valid, the profile is gone, or the daemon stops."""
        sent, joined = "", self.version
        if credential not in self.latest.credentials:
            self.refresh()  # signed in just now: the snapshot is older
        while not self._stopping.is_set():
            changed, latest = self.changed, self.latest
            if credential not in latest.credentials:
                if not latest.credentials or self.version > joined:
                    return  # disabled, rotated, signed out, or no profile any more
            elif latest.key != sent:
                await response.write(latest.event)
                sent = latest.key
            try:
                async with asyncio.timeout(KEEPALIVE_SECONDS):
                    await changed.wait()
            except TimeoutError:
                await response.write(b": keep-alive\n\n")  # proxies keep the stream open


class DeskStreams:
    """The agents' desk feeds on this instance, and the streams each credential holds open."""

    def __init__(
        self,
        listener: notify.Listener,
        stopping: asyncio.Event,
        *,
        per_token: int,
        counted: Callable[[], object],
    ) -> None:
        self._listener = listener
        self._stopping = stopping
        self._per_token = per_token
        self._counted = counted  # one snapshot computed (contactd_desk_snapshots_total)
        self._feeds: dict[int, Feed] = {}
        self._open: dict[bytes, list[Callable[[], bool]]] = {}  # credential: each stream's gone

    @contextlib.asynccontextmanager
    async def follow(
        self, staff_id: int, credential: bytes, compute: Compute, gone: Callable[[], bool]
    ) -> AsyncIterator[Feed]:
        """The agent's feed for one more stream of this credential; TooManyStreams over the cap,
        and what computing the desk raises (NoAgentProfile) for the agent's first stream.
        `gone` says whether the stream's client has left (its place is then free)."""
        streams = self._open.setdefault(credential, [])
        if sum(not left() for left in streams) >= self._per_token:
            raise TooManyStreams(self._per_token)
        streams.append(gone)  # before any await: two at once cannot both take the last place
        try:
            feed = await self._feed(staff_id, compute)
            feed.streams += 1
            try:
                yield feed
            finally:
                feed.streams -= 1
                if not feed.streams:
                    await self._close(staff_id, feed)
        finally:
            streams.remove(gone)
            if not streams:
                del self._open[credential]

    async def _feed(self, staff_id: int, compute: Compute) -> Feed:
        if (feed := self._feeds.get(staff_id)) is not None:
            return feed  # joined: no query for this stream
        # Subscribed first, so that a change during the first snapshot is not missed.
        wakeup = self._listener.subscribe(
            notify.CONTACTS_CHANNEL, notify.AGENTS_CHANNEL, notify.DESK_CHANNEL
        )
        counted = _counting(compute, self._counted)
        try:
            first = await counted()
        except BaseException:
            self._listener.unsubscribe(wakeup)
            raise
        if (feed := self._feeds.get(staff_id)) is not None:  # another stream was quicker
            self._listener.unsubscribe(wakeup)
            return feed
        feed = self._feeds[staff_id] = Feed(first, counted, wakeup, self._stopping)
        return feed

    async def _close(self, staff_id: int, feed: Feed) -> None:
        """The agent's last stream left: the feed stops computing."""
        if self._feeds.get(staff_id) is feed:
            del self._feeds[staff_id]
        self._listener.unsubscribe(feed.wakeup)
        feed.task.cancel()
        await asyncio.wait([feed.task])


def _counting(compute: Compute, counted: Callable[[], object]) -> Compute:
    async def snapshot() -> Snapshot:
        counted()
        return await compute()

    return snapshot
