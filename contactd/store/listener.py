"""LISTEN/NOTIFY on a dedicated connection, reconnecting when it drops.

A notification is only a hint to wake a loop at once; every loop also polls, so a lost
notification (while reconnecting, say) delays work by one poll interval and loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import asyncpg
import structlog

from contactd.store import database

log = structlog.get_logger(__name__)

CONTACTS_CHANNEL = "contactd_contacts"
AGENTS_CHANNEL = "contactd_agents"
DESK_CHANNEL = "contactd_desk"  # offers made: what the agents' desks show changed
OUTBOX_CHANNEL = "contactd_outbox"  # a message to send was written
BOARD_CHANNEL = "contactd_board"  # a ticket was called to a counter
CALENDARS_CHANNEL = "contactd_calendars"  # a closed period was added or cancelled


class Wakeup:
    """One loop's wake-up hint. Each loop has its own, so one loop taking a hint never
    hides it from another."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def set(self) -> None:
        self._event.set()

    async def wait(self, within: float) -> bool:
        """Wait for a notification or `within` seconds (the poll); True if notified."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                await self._event.wait()
        notified = self._event.is_set()
        self._event.clear()
        return notified


class Listener:
    def __init__(
        self,
        url: str,
        channels: tuple[str, ...] = (
            CONTACTS_CHANNEL,
            AGENTS_CHANNEL,
            DESK_CHANNEL,
            OUTBOX_CHANNEL,
            BOARD_CHANNEL,
            CALENDARS_CHANNEL,
        ),
    ) -> None:
        self._url = url
        self._channels = channels
        self._wakeups: dict[str, list[Wakeup]] = {c: [] for c in channels}
        self.connected = asyncio.Event()
        self.reconnects = 0

    def subscribe(self, *channels: str) -> Wakeup:
        """A wake-up set by every notification on any of `channels` from now on."""
        wakeup = Wakeup()
        for channel in channels:
            self._wakeups[channel].append(wakeup)
        return wakeup

    def unsubscribe(self, wakeup: Wakeup) -> None:
        for wakeups in self._wakeups.values():
            if wakeup in wakeups:
                wakeups.remove(wakeup)

    def wake_all(self) -> None:
        """Wake every subscriber (at shutdown, so that long streams see it and end)."""
        for channel in self._channels:
            self._wake(channel)

    def _wake(self, channel: str) -> None:
        for wakeup in self._wakeups[channel]:
            wakeup.set()

    def _on_notify(self, conn: Any, pid: int, channel: str, payload: object) -> None:
        self._wake(channel)

    async def run(self) -> None:
        """Keep a LISTEN connection open for ever; the supervisor runs this as a task."""
        delay = 0.5
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await database.connect(self._url, timeout=10)
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _c, lost=lost: lost.set())
                for channel in self._channels:
                    await conn.add_listener(channel, self._on_notify)
                self.connected.set()
                log.info("listener.connected", channels=list(self._channels))
                delay = 0.5
                # Wake every loop once: anything notified while we were away is picked up.
                for channel in self._channels:
                    self._wake(channel)
                while not lost.is_set():
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(5):
                            await lost.wait()
                    if not lost.is_set() and not conn.is_closed():
                        async with asyncio.timeout(5):  # find a silently dead socket
                            await conn.execute("SELECT 1")
                raise ConnectionError("the LISTEN connection was closed")
            except database.ANY_ERROR as exc:
                self.connected.clear()
                self.reconnects += 1
                log.warning(
                    "listener.disconnected",
                    error=f"{type(exc).__name__}: {exc}",
                    retry_in_seconds=delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)
            finally:
                if conn is not None and not conn.is_closed():
                    await _close(conn)


async def _close(conn: asyncpg.Connection) -> None:
    try:
        async with asyncio.timeout(2):
            await conn.close()
    except database.ANY_ERROR:
        conn.terminate()
