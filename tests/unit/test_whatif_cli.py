"""`contactd whatif` (issue 21): the lab on the command line, run in-process on the shipped
configuration with a small day file (two teams on the phones, about 150 calls) and few seeds,
on a fixed clock (CONTACTD_CLOCK_START, a Tuesday), so every run plays the same days."""

from __future__ import annotations

import csv
import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from contactd import settings
from contactd.cli.main import run_cli
from contactd.services.whatif_report import CSV_COLUMNS
from tests.conftest import ROOT

CONFIG = ROOT / "config" / "contactd.toml"
TUESDAY = "2026-12-01T08:00:00+01:00"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SMALL_DAY = """
[[teams]]
name = "phones"
agents = 5
channels = { call = 1 }
languages = ["da", "en"]
skills = { "*" = 3 }
shift = "09:00-15:00"

[[teams]]
name = "experts"
agents = 3
channels = { call = 1 }
languages = ["da", "en"]
skills = { "*" = 5 }
shift = "09:00-15:00"
breaks = ["11:00-11:30"]

[traffic]
per_day = { call = 150, callback = 0, email = 0, ticket = 0 }
"""


@pytest.fixture(autouse=True)
def _logs_as_before() -> Iterator[None]:
    """The command sets up the logs on the stderr this test captures; put them back, so that
    a later log line (a session's database stopping) does not write to a closed capture."""
    before = structlog.get_config()
    yield
    structlog.configure(**before)


@pytest.fixture
def day(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The small day file, and the daemon's clock fixed on a Tuesday morning."""
    for name in [n for n in os.environ if n.startswith("CONTACTD_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("CONTACTD_CLOCK_START", TUESDAY)
    path = tmp_path / "day.toml"
    path.write_text(SMALL_DAY, encoding="utf-8")
    return path


def whatif(day: Path, *args: str) -> int:
    return run_cli(
        ["--config", str(CONFIG), "whatif", "--day", str(day), "--seeds", "3", "--workers", "1",
         *args]
    )  # fmt: skip


def _calls() -> list[str]:
    """The queues with a goal on calls: the goals the small day's traffic reaches."""
    return [q.code for q in settings.load(CONFIG, environ={}).queues if "call" in q.goals]


def test_the_table_names_each_goal_and_policy(
    day: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert whatif(day) == 0

    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "What-if: 2026-12-01 Tuesday (Europe/Copenhagen), 3 seeds per policy"
    head = next(line for line in lines if line.startswith("queue"))
    for name in ("contactd", "fifo", "skills"):
        assert f"{name} SL (95 % interval)" in head
        assert any(line.startswith(f"{name}: ") and "goals met" in line for line in lines)
        assert f"{name} occupancy" in out
    for queue in _calls():
        [row] = [line for line in lines if line.split()[:2] == [queue, "call"]]
        assert "80.0%" in row
    # Goals the day brings no contacts to are said, not listed: e-mail, tickets, callbacks.
    assert "(21 goals had no contacts in the days played; the CSV has them too)" in lines


def test_the_first_day_is_the_phone_lines_next_working_day(
    day: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CONTACTD_CLOCK_START", "2026-12-05T10:00:00+01:00")  # a Saturday

    assert whatif(day, "--policy", "fifo", "--seeds", "1", "--week") == 0

    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("What-if: 5 working days, 2026-12-07 to 2026-12-11 (")


def test_the_csv_has_the_documented_columns_and_a_row_per_policy_and_goal(
    day: Path, tmp_path: Path
) -> None:
    out = tmp_path / "lab.csv"
    assert whatif(day, "--csv", str(out)) == 0

    with out.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
        rows = list(reader)
    queues = settings.load(CONFIG, environ={}).queues
    goals = [(q.code, str(ch)) for q in queues for ch in q.goals]
    expected = [(p, *g) for p, g in itertools.product(("contactd", "fifo", "skills"), goals)]
    assert [(r["policy"], r["queue"], r["channel"]) for r in rows] == expected
    assert {r["staffing"] for r in rows} == {"day"}
    family = next(r for r in rows if (r["policy"], r["queue"], r["channel"]) ==
                  ("contactd", "family", "call"))  # fmt: skip
    low, mean, high = (float(family[k]) for k in ("service_level_low", "service_level",
                                                  "service_level_high"))  # fmt: skip
    assert 0 <= low <= mean <= high <= 1
    assert (family["threshold"], family["target"], family["seeds"]) == ("5 minutes", "0.8", "3")
    # Every column is named in the reference.
    reference = (ROOT / "docs" / "reference" / "cli.md").read_text(encoding="utf-8")
    assert [c for c in CSV_COLUMNS if f"`{c}`" not in reference] == []


def test_the_png_is_a_real_picture_of_a_panel_per_channel(day: Path, tmp_path: Path) -> None:
    import matplotlib.image

    out = tmp_path / "lab.png"
    assert whatif(day, "--png", str(out)) == 0

    assert out.read_bytes()[:8] == PNG_SIGNATURE
    # 11 x 3.2 inches a channel at 100 dpi; the shipped queues take four channels.
    assert matplotlib.image.imread(out).shape[:2] == (4 * 320, 1100)
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".png"] == ["lab.png"]


def test_the_search_finds_a_plan_that_meets_every_goal_on_new_seeds(
    day: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import matplotlib.image

    figures, chart = tmp_path / "lab.csv", tmp_path / "lab.png"
    code = whatif(day, "--policy", "contactd", "--search", "--csv", str(figures),
                  "--png", str(chart))  # fmt: skip

    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("Staffing search under contactd: every goal met") for line in lines)
    head = next(i for i, line in enumerate(lines) if line.startswith("hour "))
    assert lines[head].split()[:3] == ["hour", "phones", "experts"]
    assert "C call" in lines[head]
    assert "A total" in lines[head]
    assert any(line.startswith("09:00 ") for line in lines[head:])
    assert any(line.startswith("total ") for line in lines[head:])
    verdict = next(line for line in lines if line.startswith("The plan played again"))
    assert verdict.startswith("The plan played again on 10 new seeds (1000-1009): every goal met")
    # The plan has its own file beside each, and the check its rows in the figures' CSV.
    with (tmp_path / "lab-plan.csv").open(newline="", encoding="utf-8") as f:
        plan = list(csv.DictReader(f))
    assert set(plan[0]) >= {"hour", "agents_phones", "agents_experts", "agents", "erlang_c",
                            "erlang_a", "erlang_c_call", "erlang_a_call"}  # fmt: skip
    assert sum(int(r["agents"]) for r in plan) > 0
    with figures.open(newline="", encoding="utf-8") as f:
        staffing = [r["staffing"] for r in csv.DictReader(f)]
    assert staffing.count("plan") == staffing.count("day") == 28
    picture = tmp_path / "lab-plan.png"
    assert picture.read_bytes()[:8] == PNG_SIGNATURE
    assert matplotlib.image.imread(picture).shape[:2] == (450, 1100)


def test_a_policies_file_adds_its_policies_to_the_comparison(
    day: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = tmp_path / "policies.toml"
    mine.write_text('[policies.promise_only]\norder = "promise"\npriority = "none"\n')

    assert whatif(day, "--policies", str(mine), "--seeds", "2") == 0

    head = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("queue"))
    names = [n for n in ("contactd", "fifo", "skills", "promise_only") if f"{n} SL" in head]
    assert names == ["contactd", "fifo", "skills", "promise_only"]


@pytest.mark.parametrize(
    ("args", "day_text", "message"),
    [
        (["--day", "{tmp}/missing.toml"], None, "contactd: {tmp}/missing.toml: no such file"),
        ([], "[[teams]]\nname = 'x'\nagents = -1\n",
         "contactd: {day}: teams.0.agents: Input should be greater than or equal to 0"),
        ([], "teams = [", "contactd: {day}: not valid TOML"),
        ([], SMALL_DAY.replace('"*" = 5', "unknown = 5"),
         "contactd: {day}: teams.experts.skills.unknown: unknown case type"),
        (["--policy", "nobody"], None,
         "contactd: unknown policy nobody; known: contactd, fifo, skills"),
        (["--policies", "{tmp}/policies.toml"], None,
         "contactd: {tmp}/policies.toml: policies.mine.order: Input should be 'promise' or "
         "'arrival'"),
        (["--days", "0"], None, "contactd: --days 0: give at least 1"),
        (["--start", "1.12.2026"], None,
         "contactd: --start '1.12.2026' is not a date; use YYYY-MM-DD"),
        (["--search", "--max-abandonment", "101"], None,
         "contactd: --max-abandonment 101: give a percentage above 0, at most 100"),
    ],
)  # fmt: skip
def test_a_bad_input_is_one_line_and_exit_2_with_nothing_written(
    day: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    day_text: str | None,
    message: str,
) -> None:
    if day_text is not None:
        day.write_text(day_text, encoding="utf-8")
    (tmp_path / "policies.toml").write_text('[policies.mine]\norder = "random"\n')
    given = [a.format(tmp=tmp_path) for a in args]

    code = whatif(day, *given, "--csv", str(tmp_path / "lab.csv"), "--png", str(tmp_path / "x.png"))

    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err.startswith(message.format(tmp=tmp_path, day=day))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["day.toml", "policies.toml"]


def test_a_data_directory_is_taken_and_left_alone_when_no_input_reads_the_database(
    day: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # --data-dir points --history and --staff-from-db at the daemon's embedded server; a
    # what-if of the day file alone opens no database there.
    assert whatif(day, "--data-dir", str(tmp_path / "data")) == 0
    assert "contactd" in capsys.readouterr().out
    assert not (tmp_path / "data").exists()
