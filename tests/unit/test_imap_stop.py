"""A stop that aioimaplib swallowed (its waits use wait_for, which on Python 3.11 can
lose a cancellation) must still stop the mailbox reader before its next long wait: the
daemon's shutdown gives each task 5 s, and an IDLE wait lasts minutes."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, cast

import pytest

from channels.email.imap import MailboxSettings, _Session


def _session() -> _Session:
    settings = MailboxSettings(name="kontakt", host="127.0.0.1", port=1, user="u", password="p")
    return _Session(cast(Any, None), settings, "1", asyncio.Event())


async def test_a_swallowed_stop_ends_the_next_wait_at_once() -> None:
    started_long_wait = asyncio.Event()

    async def reader() -> None:
        current = asyncio.current_task()
        assert current is not None
        current.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(1)  # the library's wait_for swallows the cancellation
        started_long_wait.set()
        await _session()._until_lost(asyncio.sleep(300))  # an IDLE wait

    task = asyncio.create_task(reader())
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=2)
    assert started_long_wait.is_set()
    assert task.cancelled()
