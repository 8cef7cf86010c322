"""Outbox sends per second to Stoplight Prism serving Twilio's API spec.

    .venv/bin/python -m bench.outbox [--messages 2000] [--concurrency 10]

Starts Prism (scripts/bootstrap --dev installs it) on Twilio's spec (where
CONTACTD_TWILIO_SPEC or ../shared/twilio has it: tests/twilio_spec.py) and the daemon with
the phone channel pointed at it, writes `--messages` SMS to the outbox in one transaction
(through the store, as a change of the daemon's would), and times how long the leader takes
to send them all, from the commit. Prism answers each request itself in
a few milliseconds, so this measures the daemon's send path (claim, request through the
twilio package, mark sent); Twilio's own latency would add to each send, which
`[outbox] concurrency` overlaps.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, Daemon, socket_dir, store_connection
from bench.intake import psql
from channels.ports import OutboxItem
from contactd.clock import wall_clock
from contactd.store import contacts
from tests import twilio_spec

PRISM = ROOT / ".prism" / "node_modules" / ".bin" / "prism"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def fill(data: Path, messages: int) -> float:
    """`messages` SMS due now in the outbox, written as the daemon writes them
    (contactd.store.contacts.insert_outbox), in one transaction; the moment it committed
    (the outbox is woken then)."""
    now = wall_clock()  # the daemon runs on the wall clock: due at once
    conn = await store_connection(data)
    try:
        async with conn.transaction():
            for n in range(1, messages + 1):
                item = OutboxItem(
                    kind="sms", key=f"bench:{n}", payload={"to": "+4520123456", "body": f"Hej {n}"}
                )
                await contacts.insert_outbox(conn, None, item, now=now)
            started = time.perf_counter()
        return started
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=10)
    args = parser.parse_args()
    if not PRISM.exists():
        raise SystemExit("Prism is missing: run scripts/bootstrap --dev")
    spec = twilio_spec.find()
    if spec is None:
        raise SystemExit(twilio_spec.how_to_get())
    port = _free_port()
    prism = subprocess.Popen(
        [str(PRISM), "mock", str(spec), "--host", "127.0.0.1", "--port", str(port), "-v", "error"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    data = Path(tempfile.mkdtemp(prefix="contactd-bench-"))
    daemon = None
    try:
        for _ in range(600):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        daemon = Daemon(
            data,
            env={
                "CONTACTD_CLASSIFIER__ENABLED": "false",
                "CONTACTD_TWILIO_AUTH_TOKEN": "bench-token",
                "CONTACTD_PHONE__ACCOUNT_SID": "AC" + "0123456789abcdef" * 2,
                "CONTACTD_PHONE__NUMBER": "+4570201010",
                "CONTACTD_PHONE__API_URL": f"http://127.0.0.1:{port}",
                "CONTACTD_OUTBOX__CONCURRENCY": str(args.concurrency),
            },
        )
        daemon.wait_ready()
        sockets = socket_dir(data)
        started = asyncio.run(fill(data, args.messages))
        while True:
            sent = int(psql(sockets, "SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL"))
            if sent >= args.messages:
                break
            time.sleep(0.02)
        elapsed = time.perf_counter() - started
        failed = int(psql(sockets, "SELECT count(*) FROM outbox WHERE attempts > 1"))
    finally:
        if daemon is not None:
            daemon.stop()
        prism.terminate()
        prism.wait(10)
    print(
        json.dumps(
            {
                "messages": args.messages,
                "concurrency": args.concurrency,
                "seconds": round(elapsed, 2),
                "sends_per_s": round(args.messages / elapsed),
                "retried": failed,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
