"""Stopping the servers the tests start (Prometheus, Alertmanager): asked to end, then killed
if they have not within seconds, so that no test leaves one running."""

from __future__ import annotations

import subprocess


def stop(process: subprocess.Popen[bytes], seconds: float = 10) -> None:
    process.terminate()
    try:
        process.wait(seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(seconds)
