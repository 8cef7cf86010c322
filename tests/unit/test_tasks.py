"""A crashed background task is logged without its error's message, which may hold data."""

from __future__ import annotations

import asyncio

from structlog.testing import capture_logs

from contactd.tasks import Supervisor


async def test_a_crash_is_logged_by_class_and_place_never_by_message() -> None:
    crashed = asyncio.Event()

    async def lookup() -> None:
        crashed.set()
        raise KeyError("+4520123456")  # e.g. a phone number the code failed on

    supervisor = Supervisor()
    with capture_logs() as logs:
        supervisor.start("lookup", lookup)
        await crashed.wait()
        await asyncio.sleep(0)
        await supervisor.stop_all(grace=1)
    [entry] = [e for e in logs if e["event"] == "task.crashed"]
    assert entry["error"].startswith("KeyError at test_tasks.py:")
    assert "+4520123456" not in str(logs)
