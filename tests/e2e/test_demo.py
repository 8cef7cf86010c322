"""`contactd demo` as a newcomer runs it: a real process on the embedded PostgreSQL, the
shipped configuration's day on a sped-up clock, the figures in the terminal and on /metrics,
and Ctrl-C stops it all; and the same with the second agency in the box, the citizen service
of config/examples/citizen-service/."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families

from contactd import settings
from contactd.store import embedded
from tests.conftest import ROOT

pytestmark = pytest.mark.slow
READY = re.compile(r"demo ready on (http://\S+)")
QUEUE_LINE = re.compile(r"^  family +waiting +\d+ +SL ", re.MULTILINE)
DAY_OVER = "The simulated day is over"
CPH = ZoneInfo("Europe/Copenhagen")


def _metrics(url: str) -> dict[str, float]:
    """Each metric's samples summed over their labels."""
    with urllib.request.urlopen(url + "/metrics", timeout=5) as response:  # noqa: S310 - the demo's own http URL
        text = response.read().decode()
    totals: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            totals[sample.name] = totals.get(sample.name, 0.0) + sample.value
    return totals


def _postgres_of(data_dir: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        try:
            cmdline = " ".join(process.info["cmdline"] or [])
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if "postgres" in (process.info["name"] or "") and str(data_dir) in cmdline:
            found.append(process)
    return found


async def _played(data: Path) -> dict[str, list[tuple[datetime, datetime | None]]]:
    """What the demo stored, read from its own PostgreSQL after it stopped: per channel, each
    contact's arrival and the time before which it was not to be offered."""
    server = embedded.start(data)
    try:
        conn = await asyncpg.connect(server.url)
        try:
            rows = await conn.fetch("SELECT channel, created_at, not_before FROM contacts")
        finally:
            await conn.close()
    finally:
        server.stop()
    played: dict[str, list[tuple[datetime, datetime | None]]] = {}
    for row in rows:
        played.setdefault(row["channel"], []).append((row["created_at"], row["not_before"]))
    return played


@pytest.mark.timeout(300)
def test_demo_plays_the_shipped_day_shows_the_queues_and_stops_on_ctrl_c(
    tmp_path: Path,
) -> None:
    data = tmp_path / "demo"
    log = tmp_path / "demo.out"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "contactd", "demo", "--speed", "600", "--port", "0",
             "--data-dir", str(data), "--seed", "3"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={k: v for k, v in os.environ.items() if k != "CONTACTD_DATABASE_URL"},
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 240  # the first start trains the classifier
            url = ""
            while time.monotonic() < deadline:
                text = log.read_text(errors="replace")
                if not url and (ready := READY.search(text)):
                    url = ready.group(1)
                if url and len(QUEUE_LINE.findall(text)) >= 3 and DAY_OVER in text:
                    break
                assert process.poll() is None, text
                time.sleep(0.5)
            else:
                pytest.fail(f"the day did not end in time:\n{log.read_text(errors='replace')}")

            for page in ("desk", "kiosk", "board", "status", "metrics"):
                assert f"{url}/{page}" in text
            assert (data / "demo-tokens.txt").stat().st_mode & 0o077 == 0
            assert re.search(r"^\d\d:\d\d \[#* *\] +\d+%", text, re.MULTILINE), "progress bar"
            assert "on the shipped configuration (contactd.toml)" in text
            assert "the hotline 09:00-15:00" in text

            figures = _metrics(url)
            assert figures["contactd_contacts_received_total"] > 0
            assert "contactd_service_level_ratio" in figures
            assert figures["contactd_leader"] == 1
            assert _postgres_of(data), "the demo runs its own PostgreSQL"

            process.send_signal(signal.SIGINT)
            assert process.wait(60) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(10)
    text = log.read_text(errors="replace")
    assert "contactd demo: stopped" in text
    assert "server errors (5xx): none" in text
    # pg_ctl stop returns once the postmaster is gone; its last children may take a moment.
    _, alive = psutil.wait_procs(_postgres_of(data), timeout=10)
    assert not alive, "Ctrl-C stops the embedded PostgreSQL too"
    # Simulated numbers are treated as personal data: none in the daemon's log.
    assert not re.search(r"\+452\d{7}", (data / "contactd.log").read_text(errors="replace"))

    # The day played was the shipped configuration's, on a working day: calls came in only
    # while the hotline was open, and a callback booked after it closed waits for the next
    # working day's opening.
    day = date.fromisoformat((data / "demo-last-day").read_text().strip())
    hotline = settings.load(ROOT / "config" / "contactd.toml", environ={}).calendars["phone"]
    assert hotline.is_working_day(day)
    played = asyncio.run(_played(data))
    calls = [created.astimezone(CPH) for created, _ in played["call"]]
    assert calls, "calls came in"
    # A call let in just before 15:00 is stamped a few requests later, and at --speed 600 a
    # few real milliseconds are simulated seconds: allow that lag, no more.
    opening = datetime.combine(day, datetime.min.time(), CPH) + timedelta(hours=9)
    lag = timedelta(seconds=30)
    assert all(opening <= c < opening + timedelta(hours=6) + lag for c in calls), (
        min(calls),
        max(calls),
    )
    late = [(c, nb) for c, nb in played.get("callback", []) if c.astimezone(CPH).hour >= 15]
    closing = datetime.combine(day, datetime.min.time(), CPH) + timedelta(hours=15)
    next_open = hotline.next_open(closing)
    assert next_open is not None
    assert next_open.date() > day
    # A few a day at random; each waits for the next opening (most take its first window, some
    # a later one), inside the hotline's hours.
    for _, not_before in late:
        assert not_before is not None
        assert not_before >= next_open, (not_before, next_open)
        assert hotline.is_open(not_before), not_before


EXAMPLE = ROOT / "config" / "examples" / "citizen-service" / "contactd.toml"
# The shipped agency's names and web address: never said when the demo plays another agency.
SHIPPED_AGENCY = re.compile(r"Udlændingestyrelse|Immigration Service|nyidanmark", re.IGNORECASE)
# What a citizen's browser is served: the pages and their words.
PUBLIC = (
    "/api/wording/pages?lang=da",
    "/api/wording/pages?lang=en",
    "/api/status",
    "/status",
    "/board",
    "/kiosk",
    "/callback",
)
SUMMARY_ROW = re.compile(
    r"^(call|callback|email|ticket) +(\d+) +(\d+) +(\d+) +(\d+) +(\d+)$", re.MULTILINE
)


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - the demo's own http URL
        return str(response.read().decode())


async def _contacts(data: Path) -> list[dict[str, object]]:
    """Every contact the demo stored, read from its own PostgreSQL after it stopped."""
    server = embedded.start(data)
    try:
        conn = await asyncpg.connect(server.url)
        try:
            rows = await conn.fetch(
                "SELECT channel, queue, case_type, case_type_source, outcome, created_at "
                "FROM contacts"
            )
        finally:
            await conn.close()
    finally:
        server.stop()
    return [dict(row) for row in rows]


@pytest.mark.timeout(240)
def test_demo_plays_the_citizen_service_example_in_its_own_words(tmp_path: Path) -> None:
    """The second agency in the box: `contactd --config config/examples/citizen-service/
    contactd.toml demo` plays Egeby Kommune's day on its own case types, queues and hours,
    e-mails to triage without a classifier, and nothing it prints or serves names the
    shipped agency."""
    config = settings.load(EXAMPLE, environ={})
    data = tmp_path / "demo"
    log = tmp_path / "demo.out"
    served: dict[str, str] = {}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "contactd", "--config", str(EXAMPLE), "demo",
             "--speed", "600", "--port", "0", "--data-dir", str(data), "--seed", "5"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={k: v for k, v in os.environ.items()
                 if k not in {"CONTACTD_DATABASE_URL", "CONTACTD_CONFIG"}},
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 180  # no model to train: the day and a start
            url = ""
            triage_line = re.compile(r"^  triage +waiting +\d+ +SL ", re.MULTILINE)
            while time.monotonic() < deadline:
                text = log.read_text(errors="replace")
                if not url and (ready := READY.search(text)):
                    url = ready.group(1)
                    for path in PUBLIC:
                        served[path] = _get(url + path)
                if url and len(triage_line.findall(text)) >= 3 and DAY_OVER in text:
                    break
                assert process.poll() is None, text
                time.sleep(0.5)
            else:
                pytest.fail(f"the day did not end in time:\n{log.read_text(errors='replace')}")
            figures = _metrics(url)
            assert figures["contactd_contacts_received_total"] > 0
            process.send_signal(signal.SIGINT)
            assert process.wait(60) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(10)
    text = log.read_text(errors="replace")
    assert "contactd demo: stopped" in text
    assert "server errors (5xx): none" in text

    # The terminal names the municipality, its configuration and its hotline's hours, and
    # says that e-mails go to triage (no model is trained).
    day = date.fromisoformat((data / "demo-last-day").read_text().strip())
    telefon = config.calendars[config.phone.calendar]
    hours = telefon.intervals_on(day)
    opens, closes = hours[0][0], hours[-1][1]
    assert f"for Egeby Kommune, on the configuration {EXAMPLE}:" in text
    assert f"(the hotline {opens:%H:%M}-" in text
    assert "e-mails to triage (no classifier)" in text
    assert "trains the case-type model" not in text
    assert SHIPPED_AGENCY.search(text) is None, SHIPPED_AGENCY.search(text)
    assert SHIPPED_AGENCY.search((data / "contactd.log").read_text(errors="replace")) is None

    # The pages speak as the municipality, in its own words where it has them.
    da = json.loads(served["/api/wording/pages?lang=da"])["messages"]
    en = json.loads(served["/api/wording/pages?lang=en"])["messages"]
    assert da["status.page_title"] == "Borgerservice lige nu · Egeby Kommune"
    assert en["status.page_title"] == "Citizen Service now · Egeby Municipality"
    assert da["callback.page_title"] == "Bestil et opkald · Egeby Kommune"
    status = json.loads(served["/api/status"])
    assert [q["queue"] for q in status["queues"]] == [q.code for q in config.queues]
    for path, page in served.items():
        assert SHIPPED_AGENCY.search(page) is None, path

    # Every channel brought contacts to the municipality's queues and case types, and the
    # simulated caseworkers answered calls, e-mails and visitors.
    rows = SUMMARY_ROW.findall(text)
    summary = {ch: [int(n) for n in figures] for ch, *figures in rows}
    for channel in ("call", "email", "ticket"):
        arrived, _, answered, finished, _ = summary[channel]
        assert arrived > 0, channel
        assert answered > 0, channel
        assert finished > 0, channel
    contacts = asyncio.run(_contacts(data))
    assert {c["channel"] for c in contacts} == {"call", "callback", "email", "ticket"}
    assert {c["queue"] for c in contacts} <= {q.code for q in config.queues}
    assert {c["case_type"] for c in contacts} <= set(config.case_types)
    handled = {c["channel"] for c in contacts if c["outcome"] == "answered"}
    assert handled >= {"call", "email", "ticket"}
    # E-mails went to triage, unread by any model; whoever answered one set its case type.
    mails = [c for c in contacts if c["channel"] == "email"]
    assert {c["queue"] for c in mails} == {"triage"}
    assert any(c["case_type_source"] == "staff" and c["case_type"] != "general" for c in mails)
    # Calls came in only while the municipality's phone line was open.
    calls = [c["created_at"] for c in contacts if c["channel"] == "call"]
    lag = timedelta(seconds=30)  # as above: a call let in just before closing
    assert calls
    assert all(isinstance(c, datetime) and opens <= c < closes + lag for c in calls)
