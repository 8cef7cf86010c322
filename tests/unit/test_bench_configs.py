"""Every configuration a benchmark writes passes the daemon's own configuration check: a bench
that builds its agency from the shipped files must keep up with what the check asks of them
(bench.console and bench.metrics stopped starting when the shipped agency began serving
Arabic, Ukrainian and Turkish, whose names their queues lacked)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bench import console, metrics, tickets
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
