"""A hostile booking flood against the public callback form (issue 17).

    .venv/bin/python -m bench.booking [--attempts 10000] [--addresses 1000] [--countries 50]

Starts the daemon behind a trusted proxy (127.0.0.1) and posts `--attempts` bookings, each
from one of `--addresses` client addresses (X-Forwarded-For) to a mobile number of one of
`--countries` countries (Denmark among them), 20 at a time: what an SMS-pumping script does.
Then 20 real clients, each from a fresh address with a fresh Danish number, book once.
Counts, from the daemon's outbox: SMS written to numbers abroad (must be 0) and at home (at
most `phone.booking_sms_per_hour`), the answers by status, and whether every real booking
was taken.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import phonenumbers

from bench.common import Daemon, store_connection

REAL_CLIENTS = 20


def _regions(count: int) -> list[str]:
    """Denmark and the first `count - 1` other regions with an example mobile number."""
    found = ["DK"]
    for region in sorted(phonenumbers.SUPPORTED_REGIONS - {"DK"}):
        if phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE):
            found.append(region)
        if len(found) == count:
            break
    return found


def _number(region: str, n: int) -> str:
    """A mobile number of the region: its example with the last digits varied, if still
    valid, else the example itself."""
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    assert example is not None  # _regions chose regions that have one
    e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
    varied = e164[:-3] + f"{n % 1000:03d}"
    return varied if phonenumbers.is_valid_number(phonenumbers.parse(varied)) else e164


async def _book(
    http: aiohttp.ClientSession, url: str, window: str, number: str, address: str, key: str
) -> int:
    body = {"number": number, "case_type": "family", "window": window, "key": key}
    headers = {"X-Forwarded-For": address}
    async with http.post(url + "/api/callbacks", json=body, headers=headers) as response:
        await response.read()
        return response.status


async def flood(url: str, data: Path, args: argparse.Namespace) -> dict[str, Any]:
    regions = _regions(args.countries)
    async with aiohttp.ClientSession() as http:
        async with http.get(url + "/api/callbacks") as response:
            window = (await response.json())["windows"][-1]["id"]
        statuses: collections.Counter[int] = collections.Counter()
        gate = asyncio.Semaphore(20)

        async def attempt(n: int) -> None:
            region = regions[n % len(regions)]
            address = f"10.{n % args.addresses // 250}.{n % args.addresses % 250}.1"
            async with gate:
                number = _number(region, n // len(regions))
                status = await _book(http, url, window, number, address, f"flood{n:06d}")
            statuses[status] += 1

        started = time.perf_counter()
        await asyncio.gather(*(attempt(n) for n in range(args.attempts)))
        seconds = time.perf_counter() - started
        real = [
            await _book(
                http, url, window, f"+4520{654300 + n:06d}", f"192.0.2.{n + 1}", f"real{n:06d}"
            )
            for n in range(REAL_CLIENTS)
        ]
    conn = await store_connection(data)
    try:
        sms = await conn.fetch("SELECT payload ->> 'to' AS to FROM outbox WHERE kind = 'sms'")
        real_sms = await conn.fetchval(
            "SELECT count(*) FROM outbox WHERE kind = 'sms' AND payload ->> 'to' LIKE '+45206543%'"
        )
        booked = await conn.fetchval("SELECT count(*) FROM contacts WHERE channel = 'callback'")
    finally:
        await conn.close()
    abroad = sum(1 for r in sms if not r["to"].startswith("+45"))
    return {
        "attempts": args.attempts,
        "addresses": args.addresses,
        "countries": len(regions),
        "attempts_per_s": round(args.attempts / seconds),
        "answers": {str(k): v for k, v in sorted(statuses.items())},
        "callbacks_booked": booked,
        "sms_abroad": abroad,
        "sms_home": len(sms) - abroad,
        "sms_cap_per_hour": args.sms_cap,
        "real_bookings_taken": sum(1 for s in real if s == 202),
        "real_bookings": REAL_CLIENTS,
        "real_bookings_confirmed_by_sms": real_sms,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--attempts", type=int, default=10_000)
    parser.add_argument("--addresses", type=int, default=1000)
    parser.add_argument("--countries", type=int, default=50)
    # Below the flood's Danish attempts (one in `countries`), so the cap is seen to hold.
    parser.add_argument("--sms-cap", type=int, default=100)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="contactd-bench-"))
    daemon = Daemon(
        data,
        env={
            "CONTACTD_CLASSIFIER__ENABLED": "false",
            "CONTACTD_DAEMON__TRUSTED_PROXIES": '["127.0.0.1/32", "::1/128"]',
            "CONTACTD_PHONE__BOOKING_SMS_PER_HOUR": str(args.sms_cap),
        },
    )
    daemon.wait_ready()
    try:
        result = asyncio.run(flood(daemon.url, data, args))
    finally:
        daemon.stop()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
