"""Twilio webhooks per second with signature checks, and their latency.

    .venv/bin/python -m bench.webhooks [--seconds 10] [--clients 50] [--queued 200]

Starts the daemon with a test auth token and has wrk POST, from `--clients` connections,
a form signed as Twilio signs it:
- /twilio/voice for a new call (signature check, look-up of the CallSid, opening hours, the
  menu or the closed message as TwiML);
- /twilio/wait for a caller with `--queued` callers waiting in the same queue (signature
  check, the caller's place and expected wait from the database, TwiML).
Both answer without writing, so every request does the same work.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import tempfile
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

from bench.common import Daemon, apt_install

TOKEN = "bench-auth-token"  # noqa: S105 - a test token for a throwaway daemon
PUBLIC = "https://contact.example.dk"
WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["X-Twilio-Signature"] = "{signature}"
wrk.body = "{body}"
done = function(summary, latency, requests)
  io.write(string.format("JSON %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), summary.errors.status, summary.errors.connect))
end
"""


def _form(sid: str, **extra: str) -> dict[str, str]:
    return {"CallSid": sid, "AccountSid": "AC" + "0" * 32, "From": "+4520123456",
            "To": "+4570201010", "CallStatus": "ringing", **extra}  # fmt: skip


def _post(url: str, path: str, form: dict[str, str]) -> str:
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC + path, form)
    request = urllib.request.Request(  # noqa: S310 - the daemon's own URL
        url + path, data=urlencode(form).encode(), headers={"X-Twilio-Signature": signature}
    )
    with urllib.request.urlopen(request) as response:  # noqa: S310
        return str(response.read().decode())


def _wrk(url: str, path: str, form: dict[str, str], clients: int, seconds: int) -> dict[str, float]:
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC + path, form)
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text(WRK_SCRIPT.format(signature=signature, body=urlencode(form)))
    out = subprocess.run(
        ["wrk", "-t2", f"-c{clients}", f"-d{seconds}s", "-s", str(script), url + path],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = re.search(r"JSON (.*)", out)
    assert found, out
    n, duration_us, p50, p99, status_errors, connect_errors = (
        int(x) for x in found.group(1).split()
    )
    return {
        "requests_per_s": round(n / (duration_us / 1e6)),
        "p50_ms": round(p50 / 1000, 2),
        "p99_ms": round(p99 / 1000, 2),
        "non_2xx": status_errors,
        "connect_errors": connect_errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--queued", type=int, default=200)
    args = parser.parse_args()
    apt_install("wrk")
    data = Path(tempfile.mkdtemp(prefix="contactd-bench-"))
    daemon = Daemon(
        data,
        env={
            "CONTACTD_TWILIO_AUTH_TOKEN": TOKEN,
            "CONTACTD_PUBLIC_URL": PUBLIC,
            "CONTACTD_CLASSIFIER__ENABLED": "false",
        },
    )
    daemon.wait_ready()
    try:
        menu_path = "/twilio/menu?lang=da&then=queue&tries=0"
        for n in range(args.queued):
            _post(daemon.url, menu_path, _form(f"CA{n:032d}", Digits="1"))
        last = f"CA{args.queued - 1:032d}"
        new_call = _form("CA" + "f" * 32)
        menu = _post(daemon.url, "/twilio/voice", new_call)
        load = {"clients": args.clients, "seconds": args.seconds}
        result = {
            **load,
            "line": "open" if '<Gather action="/twilio/menu' in menu else "closed",
            "voice_new_call": _wrk(daemon.url, "/twilio/voice", new_call, **load),
            f"wait_with_{args.queued}_queued": _wrk(
                daemon.url, "/twilio/wait?lang=da", _form(last), **load
            ),
        }
    finally:
        daemon.stop()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
