"""Intake throughput and latency over HTTP, against the same SQL through pgbench.

    .venv/bin/python bench/intake.py [--seconds 20] [--clients 50]

Starts `contactd run` on a fresh embedded PostgreSQL, signs in a front-desk person, and
has wrk (Debian package) POST /api/contacts from `--clients` connections for `--seconds`.
Then pgbench runs, on the same server, a script with the statements one such request
runs (the token lookup and the intake insert), with as many clients, and the ratio of the
two throughputs says how much the HTTP layer costs.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import tempfile
import textwrap
from pathlib import Path

from bench.common import Daemon, apt_install, contactd, fill, pg_bin
from contactd.store import queries

WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {token}"
wrk.body = '{{"channel": "ticket", "language": "da", "case_type": "residence_card", ' ..
  '"subject": "Walk-in question"}}'
done = function(summary, latency, requests)
  io.write(string.format("JSON %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), summary.errors.status, summary.errors.connect))
end
"""


def pgbench_script(token_hash_hex: str) -> str:
    """The statements of one intake request, with pgbench variables for the parameters."""
    insert = queries.get("insert_contact")
    values = {
        "$1": "'B' || lpad(CAST(:r AS text), 10, '0')",  # a unique reference
        "$2": "'ticket'",
        "$3": "NULL",
        "$4": "'residence_card'",
        "$5": "'staff'",
        "$6": "NULL",
        "$7": "'da'",
        "$8": "'residence'",
        "$9": "20",
        "$10": "now() + interval '30 minutes'",
        "$11": "NULL",
        "$12": "'Walk-in question'",
        "$13": "NULL",
        "$14": "now()",
        "$16": "'{}'",
        "$15": "'staff-bench'",  # not 'staff:bench': pgbench would read ':bench' as a variable
        "$17": "NULL",  # the classifier's guesses: none for a case type staff chose
        "$18": "NULL",  # not_before: offered at once
        "$19": "NULL",  # the language the client reads: none asked at the counter
    }
    insert = fill(insert, values)
    lookup = fill(
        queries.get("staff_by_token"), {"$1": f"'\\x{token_hash_hex}'::bytea", "$2": "now()"}
    )
    lookup = "\n".join(line for line in lookup.splitlines() if not line.startswith("--"))
    insert = "\n".join(line for line in insert.splitlines() if not line.startswith("--"))
    return (
        "\\set r random(1, 9999999999)\n"
        + " ".join(lookup.split())
        + "\n"
        + " ".join(insert.split())
        + "\n"
    )


def psql(socket_dir: str, query: str) -> str:
    """One value from the daemon's embedded server, through the wheel's psql."""
    command = [pg_bin("psql"), "-h", socket_dir, "-U", "postgres", "-d", "postgres", "-Atc", query]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--clients", type=int, default=50)
    args = parser.parse_args()
    apt_install("wrk")

    data = Path(tempfile.mkdtemp(prefix="contactd-bench-"))
    out = contactd(
        "staff", "add", "bench", "--name", "Bench", "--role", "frontdesk", "--data-dir", str(data)
    )
    token = out.strip().splitlines()[-1]
    daemon = Daemon(data)
    daemon.wait_ready()
    try:
        script = Path(tempfile.mkstemp(suffix=".lua")[1])
        script.write_text(WRK_SCRIPT.format(token=token))
        wrk = subprocess.run(
            [
                "wrk",
                "-t2",
                f"-c{args.clients}",
                f"-d{args.seconds}s",
                "-s",
                str(script),
                f"{daemon.url}/api/contacts",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        found = re.search(r"JSON (.*)", wrk)
        assert found, wrk
        n, duration_us, p50, p99, status_errors, connect_errors = (
            int(x) for x in found.group(1).split()
        )
        http_rate = n / (duration_us / 1e6)

        # The same statements, straight to PostgreSQL over the same socket.
        pgdata = data / "pgdata"
        socket_dir = (pgdata / "postmaster.pid").read_text().splitlines()[4]
        token_hash = psql(
            socket_dir, "SELECT encode(token_hash, 'hex') FROM staff WHERE login = 'bench'"
        )
        sql = Path(tempfile.mkstemp(suffix=".sql")[1])
        sql.write_text(pgbench_script(token_hash))
        bench = subprocess.run(
            [
                pg_bin("pgbench"),
                "-h",
                socket_dir,
                "-U",
                "postgres",
                "-n",
                "-M",
                "prepared",
                "-c",
                str(args.clients),
                "-j",
                "2",
                "-T",
                str(args.seconds),
                "-f",
                str(sql),
                "postgres",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if bench.returncode:
            raise SystemExit(f"pgbench failed:\n{bench.stderr}")
        tps = re.search(r"tps = ([\d.]+)", bench.stdout)
        assert tps, bench.stdout
        pg_rate = float(tps.group(1))
        stored = psql(socket_dir, "SELECT count(*) FROM contacts")
    finally:
        daemon.stop()

    result = {
        "clients": args.clients,
        "seconds": args.seconds,
        "http_contacts_per_second": round(http_rate, 1),
        "http_latency_p50_ms": round(p50 / 1000, 2),
        "http_latency_p99_ms": round(p99 / 1000, 2),
        "http_errors": status_errors + connect_errors,
        "pgbench_contacts_per_second": round(pg_rate, 1),
        "ratio_http_to_pgbench": round(http_rate / pg_rate, 2),
        "contacts_stored": int(stored),
    }
    print(json.dumps(result, indent=2))
    print(
        textwrap.dedent(f"""
        intake over HTTP: {http_rate:,.0f} contacts/s
          latency p50 {p50 / 1000:.1f} ms, p99 {p99 / 1000:.1f} ms
        same SQL in pgbench: {pg_rate:,.0f} contacts/s; ratio {http_rate / pg_rate:.2f}
        (aim: >= 1,000 contacts/s and ratio >= 0.5)""")
    )


if __name__ == "__main__":
    main()
