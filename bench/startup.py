"""Time from `contactd run` to ready, on a fresh data directory and on an existing one,
and the idle memory (RSS) of the daemon and of its embedded PostgreSQL.

    .venv/bin/python -m bench.startup [--runs 5]

"Ready" is the moment the daemon prints 'ready on http://...': the embedded server is up,
the schema is migrated and HTTP is served. A fresh data directory includes initdb.
"Classifier ready" is when /health first reports the case-type model loaded: trained from
the corpus in the background on a fresh data directory, loaded from its file after.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil

from bench.common import Daemon


def _rss_mib(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 2**20


def _postgres_rss_mib(data_dir: Path) -> float:
    pid = int((data_dir / "pgdata" / "postmaster.pid").read_text().split()[0])
    main = psutil.Process(pid)
    # Proportional set size: shared buffers counted once across the server's processes.
    procs = [main, *main.children(recursive=True)]
    return sum(p.memory_full_info().pss for p in procs) / 2**20


def _summary(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 3), "max": round(max(values), 3)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    fresh, existing, trained, loaded = [], [], [], []
    data = Path(tempfile.mkdtemp(prefix="contactd-startup-"))
    for _ in range(args.runs):
        shutil.rmtree(data, ignore_errors=True)
        d = Daemon(data)
        fresh.append(d.wait_ready(model=False))
        trained.append(d.wait_model())
        d.stop()
    rss = pg_rss = 0.0
    for i in range(args.runs):
        d = Daemon(data)
        existing.append(d.wait_ready(model=False))
        loaded.append(d.wait_model())
        if i == args.runs - 1:
            with urllib.request.urlopen(d.url + "/ready") as r:  # noqa: S310 - its own URL
                assert r.status == 200
            time.sleep(5)  # idle: leader elected, heartbeats running
            rss = _rss_mib(d.process.pid)
            pg_rss = _postgres_rss_mib(data)
        d.stop()
    shutil.rmtree(data, ignore_errors=True)
    result = {
        "runs": args.runs,
        "ready_fresh_data_dir_s": _summary(fresh),
        "ready_existing_data_dir_s": _summary(existing),
        "classifier_ready_fresh_s (trained)": _summary(trained),
        "classifier_ready_existing_s (loaded)": _summary(loaded),
        "daemon_idle_rss_mib": round(rss, 1),
        "embedded_postgres_idle_pss_mib": round(pg_rss, 1),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
