"""The `contactd` command as a supervisor runs it: its own process, on the test's database,
with none of the environment's CONTACTD_ settings but the ones given."""

from __future__ import annotations

import asyncio
import os
import sys


def _environment(db_url: str, settings: dict[str, str]) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("CONTACTD_")},
        "CONTACTD_DATABASE_URL": db_url,
        "CONTACTD_DAEMON__LOG_LEVEL": "error",
        **settings,
    }


async def contactd(db_url: str, *args: str, **settings: str) -> tuple[int, str, str]:
    """Exit status, stdout and stderr of `contactd ARGS`; `settings` are more environment
    variables (CONTACTD_CLOCK_START=... for the daemon's clock)."""
    env = _environment(db_url, settings)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "contactd", *args,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def contactd_read_by_no_one(db_url: str, *args: str) -> tuple[int, str]:
    """Exit status and stderr of `contactd ARGS` whose output goes to a pipe its reader has
    closed before anything was written: `contactd ARGS | head -0`."""
    read, write = os.pipe()
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "contactd", *args,
            env=_environment(db_url, {}), stdout=write, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
    finally:
        os.close(write)
        os.close(read)
    _, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, err.decode()
