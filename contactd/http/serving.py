"""Setting up the daemon's HTTP runner, shared by `contactd run` and `contactd demo`."""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web


async def set_up(
    app: web.Application, stop: asyncio.Event, *, shutdown_seconds: float
) -> web.AppRunner | None:
    """The application's runner, set up (database, migrations, leadership); None when `stop`
    was set first. Start-up may wait long for the database: Ctrl-C must still stop it at once,
    and what had started is cleaned up."""
    runner = web.AppRunner(
        app,
        handle_signals=False,
        access_log=None,
        shutdown_timeout=shutdown_seconds,
    )
    setup = asyncio.create_task(runner.setup(), name="startup")
    interrupted = asyncio.create_task(stop.wait(), name="interrupted")
    await asyncio.wait({setup, interrupted}, return_when=asyncio.FIRST_COMPLETED)
    if not setup.done():
        setup.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await setup
        await runner.cleanup()
        return None
    interrupted.cancel()
    setup.result()
    return runner
