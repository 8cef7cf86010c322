"""Every benchmark of bench/, one after another, into one table: `python -m bench`.

    .venv/bin/python -m bench [--only a,b] [--skip a,b] [--quick] [--out FILE]
                              [--compare FILE.json] [--note TEXT] [--timeout MINUTES]

The benchmarks are those bench/README.md's tables run that have a `main`, in its order; each
runs as its own process (as by hand), and its JSON is read from its stdout. The figures
(bench/summary.py) go to a Markdown file and a JSON file beside it, by default
bench/results/<date>-<git short sha>.md and .json, with the machine at the top; the table
is printed too. The exit status is non-zero only when a benchmark crashed: a missed aim is
marked in the table. A benchmark whose requirement is missing (wrk as non-root, Dovecot,
Prism, promtool) is listed as skipped, with why.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from bench import summary
from bench.summary import Outcome, Report
from tests import twilio_spec

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "bench" / "README.md"
RESULTS = ROOT / "bench" / "results"
# A module run by a command in a row of one of README's tables: the table of benchmarks, or
# a table of figures (the soak is listed only in its section's).
LISTED = re.compile(r"^\|.*?`[^`]*?-m bench\.(\w+)\b", re.MULTILINE)
# How a benchmark says that something it needs is not there (bench/common.py apt_install,
# bench.outbox, bench.email): a skip, not a crash.
MISSING = re.compile(r"\bis missing\b|\binstall .+ first\b|\bnot installed\b", re.IGNORECASE)
STDERR_TAIL = 100  # lines of a crashed benchmark's stderr kept in the JSON
GRACE = 60  # seconds a timed-out benchmark gets to stop what it started after SIGINT


def _wrk() -> str | None:
    if shutil.which("wrk") or os.geteuid() == 0:  # as root the benchmark installs it
        return None
    return "wrk is not installed, and installing it (apt-get) needs root"


def _dovecot() -> str | None:
    # Where tests/mailserver.py looks (not imported: it pulls in the test dependencies).
    if Path(shutil.which("dovecot") or "/usr/sbin/dovecot").exists():
        return None
    return "Dovecot is missing: run scripts/bootstrap --dev"


def _prism() -> str | None:
    # Where bench/outbox.py looks for Prism and for Twilio's API description it serves.
    if not (ROOT / ".prism" / "node_modules" / ".bin" / "prism").exists():
        return "Prism is missing: run scripts/bootstrap --dev"
    if twilio_spec.find() is None:
        return twilio_spec.how_to_get()
    return None


def _promtool() -> str | None:
    return None if shutil.which("promtool") else "promtool (Prometheus) is not installed"


NEEDS: dict[str, Callable[[], str | None]] = {
    "wrk": _wrk,
    "dovecot": _dovecot,
    "prism": _prism,
    "promtool": _promtool,
}


def discover(readme: Path = README, folder: Path = ROOT / "bench") -> list[str]:
    """The benchmarks README's tables run that exist and have a `main`, in README's order."""
    found = []
    for name in LISTED.findall(readme.read_text(encoding="utf-8")):
        source = folder / f"{name}.py"
        if (
            name not in found
            and source.exists()
            and re.search(r"^def main\(", source.read_text(encoding="utf-8"), re.MULTILINE)
        ):
            found.append(name)
    return found


def argv(name: str, quick: bool) -> list[str]:
    entry = summary.BENCHES.get(name, summary.Bench())
    return [sys.executable, "-m", f"bench.{name}", *(entry.quick if quick else ())]


def shown(command: Sequence[str]) -> str:
    """The command as typed from the repository root."""
    first = Path(command[0])
    with contextlib.suppress(ValueError):
        first = first.relative_to(ROOT)
    return shlex.join([str(first), *command[1:]])


def run(name: str, command: Sequence[str], timeout: float) -> Outcome:
    """One benchmark in its own process group, so that a timeout stops all it started."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    reason = ""
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stdout, stderr = _stop(process)
        reason = f"timed out after {timeout / 60:.0f} min"
    except KeyboardInterrupt:
        _stop(process)
        raise
    outcome = Outcome(
        name=name,
        command=shown(command),
        status="ok",
        seconds=round(time.perf_counter() - started, 1),
        stderr_tail="\n".join(stderr.strip().splitlines()[-STDERR_TAIL:]),
    )
    last = stderr.strip().splitlines()[-1] if stderr.strip() else ""
    if reason:
        outcome.status, outcome.reason = "crashed", reason
    elif process.returncode and MISSING.search(last):
        outcome.status, outcome.reason, outcome.stderr_tail = "skipped", last, ""
    elif process.returncode:
        outcome.status = "crashed"
        outcome.reason = f"exit status {process.returncode}: {last}"
    else:
        try:
            outcome.output = summary.first_json(stdout)
        except ValueError:
            outcome.status, outcome.reason = "crashed", "printed no JSON"
    return outcome


def _stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    """SIGINT to the group (a benchmark's `finally` stops its daemons), then SIGKILL."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGINT)
    try:
        return process.communicate(timeout=GRACE)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        return process.communicate()


def run_all(
    plan: Sequence[tuple[str, Sequence[str], tuple[str, ...]]],
    timeout: float,
    outcomes: list[Outcome] | None = None,
) -> list[Outcome]:
    """Each (name, command, needs) in turn, into `outcomes` as each ends (kept when the run
    is interrupted); a missing need skips it without running it."""
    outcomes = [] if outcomes is None else outcomes
    for i, (name, command, needs) in enumerate(plan, 1):
        progress = f"[bench {i}/{len(plan)}] {name}"
        missing = [why for need in needs if (why := NEEDS[need]()) is not None]
        if missing:
            outcomes.append(
                Outcome(name=name, command=shown(command), status="skipped", reason=missing[0])
            )
            print(f"{progress}: skipped, {missing[0]}", file=sys.stderr, flush=True)
            continue
        print(f"{progress}: {shown(command)}", file=sys.stderr, flush=True)
        outcome = run(name, command, timeout)
        print(
            f"{progress}: {outcome.status} in {outcome.seconds:.0f} s"
            + (f": {outcome.reason}" if outcome.reason else ""),
            file=sys.stderr,
            flush=True,
        )
        outcomes.append(outcome)
    return outcomes


# --- the machine --------------------------------------------------------------------------


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    return done.stdout.strip()


def git_sha() -> str:
    return _git("rev-parse", "--short", "HEAD") or "nogit"


def _postgres_version() -> str:
    try:
        from contactd.store import embedded

        done = subprocess.run(
            [str(embedded.bin_path("postgres")), "--version"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (ImportError, OSError, subprocess.CalledProcessError):
        return "unknown"
    return done.stdout.strip().rsplit(" ", 1)[-1] + " (embedded, default settings, fsync on)"


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def _os() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    return platform.platform()


def machine(now: datetime) -> dict[str, str]:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    dirty = " (with uncommitted changes)" if _git("status", "--porcelain") else ""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return {
        "date": now.strftime("%Y-%m-%d %H:%M UTC"),
        "git": git_sha() + dirty,
        "cores": f"{os.cpu_count()} ({_cpu_model()})",
        "memory": f"{memory:.1f} GiB",
        "os": _os(),
        "python": platform.python_version(),
        "postgresql": _postgres_version(),
        "load average at start (1, 5, 15 min)": load,
    }


# --- the command --------------------------------------------------------------------------


def _names(text: str | None, known: Sequence[str], parser: argparse.ArgumentParser) -> list[str]:
    names = [n.strip() for n in (text or "").split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return names


def write(report: Report, out: Path) -> tuple[Path, Path]:
    md, js = out.with_suffix(".md"), out.with_suffix(".json")
    md.parent.mkdir(parents=True, exist_ok=True)
    md.write_text(summary.markdown(report), encoding="utf-8")
    js.write_text(json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n", "utf-8")
    return md, js


def main(args: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--only", help="these benchmarks only, comma-separated")
    parser.add_argument("--skip", help="not these, comma-separated")
    parser.add_argument("--quick", action="store_true", help="shorter runs, for a smoke test")
    parser.add_argument("--out", type=Path, help="the .md to write (and a .json beside it)")
    parser.add_argument("--compare", type=Path, help="an earlier run's .json")
    parser.add_argument("--note", default="", help="said at the top of the file")
    parser.add_argument("--timeout", type=float, default=60, help="minutes per benchmark")
    options = parser.parse_args(args)
    known = discover()
    only = _names(options.only, known, parser)
    skip = _names(options.skip, known, parser)
    previous = None
    if options.compare:
        previous = json.loads(options.compare.read_text(encoding="utf-8"))

    now = datetime.now(UTC)
    report = Report(machine=machine(now), note=options.note)
    if options.quick:
        report.machine["runs"] = "--quick: shorter than the benchmarks' defaults (see commands)"
    if previous is not None:
        report.previous = str(options.compare)
        report.previous_values = summary.previous_values(previous)
    plan = [
        (name, argv(name, options.quick), summary.BENCHES.get(name, summary.Bench()).needs)
        for name in known
        if (not only or name in only) and name not in skip
    ]
    out = options.out or RESULTS / f"{now:%Y-%m-%d}-{git_sha()}.md"
    try:
        run_all(plan, options.timeout * 60, report.outcomes)
    finally:
        # Written even when interrupted, with the benchmarks that finished.
        report.machine["load average at end (1, 5, 15 min)"] = ", ".join(
            f"{x:.2f}" for x in os.getloadavg()
        )
        md, js = write(report, out)
    print(summary.markdown(report))
    print(f"written: {md.relative_to(ROOT) if md.is_relative_to(ROOT) else md}, {js.name}")
    return summary.exit_code(report.outcomes)


if __name__ == "__main__":
    sys.exit(main())
