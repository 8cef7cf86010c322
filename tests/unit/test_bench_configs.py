"""What the benchmarks build from the daemon's own files still fits them: every configuration
a bench writes passes the daemon's configuration check (bench.console and bench.metrics
stopped starting when the shipped agency began serving Arabic, Ukrainian and Turkish, whose
names their queues lacked), and every pgbench script gives each parameter of the daemon's
queries a value (bench.intake and bench.tickets broke when the contact gained the language
its client reads)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bench import console, intake, metrics, tickets
from contactd import settings


def test_the_console_bench_agency_of_fifty_queues_loads(tmp_path: Path) -> None:
    config = settings.load(console.widened_config(tmp_path, 50), {})
    assert len(config.queues) == 50


def test_the_metrics_bench_agency_of_fifty_queues_loads(tmp_path: Path) -> None:
    config = settings.load(metrics.fifty_queues_config(tmp_path, 50, 1.0), {})
    assert len(config.queues) == 50


def test_the_tickets_bench_agency_loads_with_the_service_centre_always_open(
    tmp_path: Path,
) -> None:
    config = settings.load(tickets.kiosk_config(tmp_path), {})
    christmas_night = datetime(2026, 12, 25, 3, 0, tzinfo=ZoneInfo("Europe/Copenhagen"))
    assert config.calendars["service_centre"].is_open(christmas_night)


@pytest.mark.parametrize("queues", [9, 30])
def test_a_narrower_console_bench_agency_loads_too(tmp_path: Path, queues: int) -> None:
    assert len(settings.load(console.widened_config(tmp_path, queues), {}).queues) == queues


def test_the_intake_pgbench_script_fills_every_parameter_of_the_daemons_insert() -> None:
    script = intake.pgbench_script("00ff")
    assert "INSERT INTO contacts" in script
    assert "'\\x00ff'::bytea" in script


def test_the_tickets_pgbench_script_fills_every_parameter_of_the_daemons_queries(
    tmp_path: Path,
) -> None:
    config = settings.load(tickets.kiosk_config(tmp_path), {})
    kinds = ["family", "work"]
    queue_of = {
        c: next(q.code for q in config.queues if c in q.case_types and q.ticket_letter)
        for c in kinds
    }
    script = tickets.pgbench_script(
        "00ff", kinds, queue_of,
        {q.code: q.ticket_letter or "X" for q in config.queues},
        {q.code: q.priority for q in config.queues},
        {q.code: ",".join(q.case_types) for q in config.queues},
    )  # fmt: skip
    assert "INSERT INTO contacts" in script
    assert "\\gset s_" in script
