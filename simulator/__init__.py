"""Simulated traffic for a running contactd: the agency's clients on every channel and
caseworkers at their desks (`contactd simulate`, and the day `contactd demo` plays)."""

import asyncio
import signal
import sys

from simulator.engine import Options, Person, SimulationError, Simulator, Staff, Stats

__all__ = ["Options", "Person", "SimulationError", "Simulator", "Staff", "Stats", "command"]


async def command(options: Options) -> int:
    """`contactd simulate`: run until Ctrl-C (SIGINT), SIGTERM or the end; 0, or 1 when the
    simulation could not start."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await Simulator(options, out=lambda line: print(line, flush=True)).run(stop)
    except SimulationError as exc:
        print(f"contactd: {exc}", file=sys.stderr)
        return 1
    return 0
