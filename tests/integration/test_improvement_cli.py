"""`contactd improvement` as a supervisor runs it (its own process) on a real PostgreSQL: last
week's report on stdout with the CSV and the chart written; bad options refused with exit
status 2 before the database is read."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from contactd.settings import Settings
from tests.integration.command import contactd
from tests.integration.test_improvement import _make


async def _improvement(db_url: str, *args: str) -> tuple[int, str, str]:
    return await contactd(
        db_url, "improvement", *args, CONTACTD_CLOCK_START="2026-12-01T10:00:00+01:00"
    )


async def test_last_weeks_report_with_its_csv_and_chart(
    db_url: str, pool: asyncpg.Pool, config: Settings, tmp_path: Path
) -> None:
    await _make(pool, config)
    csv, png = tmp_path / "week.csv", tmp_path / "week.png"

    code, out, err = await _improvement(db_url, "--csv", str(csv), "--png", str(png))

    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "Improvement report 2026-W48 (2026-11-23 to 2026-11-29)"
    assert "compared with 2026-W47; repeat contacts within 7 days" in lines[1]
    for heading in ("Service goals:", "Satisfaction (goal: a mean of 4.0 of 5)",
                    "Failure demand:", "Callbacks not reached", "Why clients contacted us",
                    "The classifier's case types corrected by staff:", "Comments ("):  # fmt: skip
        assert any(line.startswith(heading) for line in lines), heading
    assert csv.read_text().startswith("section,queue,channel,")
    assert png.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("--week", "2026-48"), "--week '2026-48': give an ISO week, e.g. 2026-W48"),
        (("--week", "2026-W50"), "--week 2026-W50 has not begun (today is 2026-12-01)"),
        (
            ("--week", "2026-W48", "--from", "2026-11-23"),
            "give --week, or --from and --to, not both",
        ),
        (("--from", "2026-11-23"), "give both --from D1 and --to D2 (or --week)"),
        (("--follow-up-days", "0"), "--follow-up-days 0: give 1 to 90"),
    ],
)
async def test_bad_options_are_refused(db_url: str, args: tuple[str, ...], said: str) -> None:
    code, _, err = await _improvement(db_url, *args)
    assert (code, err.strip()) == (2, f"contactd: {said}")


async def test_a_quiet_period_names_itself_once_and_says_it_had_no_contacts(db_url: str) -> None:
    code, out, err = await _improvement(db_url, "--from", "2026-11-02", "--to", "2026-11-13")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "Improvement report 2026-11-02 to 2026-11-13"
    assert "Failure demand: no contacts in the period" in lines
