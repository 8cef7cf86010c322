"""`python -m bench`: the figures read from each benchmark's JSON, the table, --compare, and
what a crashed or skipped benchmark does to the run (bench/summary.py, bench/__main__.py).

The samples in data/bench/ are real outputs of `python -m bench.<name>` with short
arguments, trimmed of lists the figures do not use; intake's is from its script with the two
parameters the intake statement gained since ($17, $18) given to pgbench, as the script
itself failed then. No benchmark runs here: a crashing or skipping one is a `python -c`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

import bench.__main__ as runner
from bench import summary
from bench.summary import Outcome, Report

DATA = Path(__file__).parent / "data" / "bench"
SAMPLED = sorted(p.stem for p in DATA.glob("*.json"))
MACHINE = {"date": "2026-11-24 10:00 UTC", "git": "abc1234", "cores": "2"}


def sample(name: str) -> Any:
    return json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))


def ok(name: str, output: Any | None = None) -> Outcome:
    return Outcome(
        name=name,
        command=f".venv/bin/python -m bench.{name}",
        status="ok",
        output=sample(name) if output is None else output,
        seconds=12.0,
    )


def test_every_sample_is_of_a_benchmark_of_the_readme_with_an_entry() -> None:
    listed = runner.discover()
    assert [n for n in SAMPLED if n not in listed or n not in summary.BENCHES] == []


@pytest.mark.parametrize("name", SAMPLED)
def test_every_figure_is_found_in_a_real_output(name: str) -> None:
    found = summary.rows(name, sample(name), "cmd")
    assert [r.figure for r in found if r.value is None] == []
    assert len(found) == len(summary.BENCHES[name].figures)


def test_a_list_is_entered_at_the_element_named_and_a_key_may_be_a_glob() -> None:
    email, webhooks = sample("email"), sample("webhooks")
    assert summary.resolve(email, "ingest.runs[classifier=on].messages_per_s") == 281
    assert summary.resolve(email, "ingest.runs[classifier=off].messages_per_s") == 361
    assert summary.resolve(webhooks, "wait_with_*_queued.requests_per_s") == 2491
    with pytest.raises(summary.Missing):
        summary.resolve(email, "ingest.runs[classifier=maybe].messages_per_s")


def test_the_pgbench_ratio_is_read_with_its_rate_and_judged_by_its_aim() -> None:
    [rate, *_] = summary.rows("intake", sample("intake"), "cmd")
    assert (rate.value, rate.pgbench, rate.ratio) == (490.8, 503.9, 0.97)
    assert (rate.aim, rate.aim_met) == ("≥ 1,000", False)
    assert (rate.ratio_aim, rate.ratio_aim_met) == ("≥ 0.5", True)
    table = summary.table(Report(machine=MACHINE, outcomes=[ok("intake")]))
    [line] = [x for x in table.splitlines() if "POST /api/contacts" in x]
    assert "**490.8 contacts/s** | ≥ 1,000 ✗ **missed** | 0.97 of 503.9/s, aim ≥ 0.5 ✓" in line


def test_an_aim_may_be_another_number_of_the_same_output() -> None:
    held = sample("tickets")
    rows = {r.key: r for r in summary.rows("tickets", held, "cmd")}
    assert rows["board_held.screens_with_every_update"].aim == "= 50"
    assert rows["board_held.screens_with_every_update"].aim_met is True
    held["board_held"]["screens_with_every_update"] = 49
    rows = {r.key: r for r in summary.rows("tickets", held, "cmd")}
    assert rows["board_held.screens_with_every_update"].aim_met is False


def test_a_figure_gone_from_the_output_is_shown_as_such() -> None:
    output = sample("engine")
    del output["one_agent_in_ten_free"]
    [kept, gone] = summary.rows("engine", output, "cmd")
    assert kept.value == 12.8
    assert (gone.value, gone.aim_met) == (None, None)
    assert "| not in the output | < 20 |" in summary.table(
        Report(machine=MACHINE, outcomes=[ok("engine", output)])
    )


def test_a_benchmark_with_no_entry_has_its_numbers_listed() -> None:
    output = {"minutes": 2, "rss_mib": {"start": 80.5, "end": 81.0}, "prism": True, "s": "x"}
    found = summary.rows("newbench", output, "cmd")
    assert [(r.key, r.value) for r in found] == [
        ("minutes", 2),
        ("rss_mib.start", 80.5),
        ("rss_mib.end", 81.0),
    ]


def test_the_json_is_read_past_a_table_printed_after_it() -> None:
    stdout = '{\n  "a": {"b": 1}\n}\n\nfigure | value\nx | {1}\n'
    assert summary.first_json(stdout) == {"a": {"b": 1}}
    with pytest.raises(ValueError, match="no JSON"):
        summary.first_json("Traceback (most recent call last):\n")


def test_the_file_has_the_machine_the_note_and_a_line_per_figure() -> None:
    report = Report(machine=MACHINE, note="noisy", outcomes=[ok(n) for n in SAMPLED])
    text = summary.markdown(report)
    head, table = text.split("| bench | figure | value | aim | pgbench ratio | command |")
    assert "- git: abc1234" in head
    assert "Note: noisy" in head
    lines = [x for x in table.splitlines() if x.startswith("| ") and "---" not in x]
    assert len(lines) == sum(len(summary.BENCHES[n].figures) for n in SAMPLED)
    assert (
        "| email | e-mail ingest, classifier on | 281 messages/s | ≥ 200 ✓ |  | "
        "`.venv/bin/python -m bench.email` |" in lines
    )
    missed = next(x for x in text.splitlines() if x.startswith("Aims missed: "))
    assert "intake: intake over HTTP, POST /api/contacts;" in missed


def test_compare_adds_the_earlier_value_and_the_change() -> None:
    earlier = Report(machine=MACHINE, outcomes=[ok("engine"), ok("outbox")]).to_json()
    now = sample("engine")
    now["all_agents_free"]["median_ms"] = 16.0  # was 12.8
    report = Report(
        machine=MACHINE,
        outcomes=[ok("engine", now), ok("classifier")],
        previous="bench/results/earlier.json",
        previous_values=summary.previous_values(json.loads(json.dumps(earlier))),
    )
    text = summary.markdown(report)
    assert "| value | previous (change) | aim |" in text
    assert "| 16 ms | 12.8 (+25.0 %) | < 20 ✓ |" in text
    assert "| 1.94 ms | 1.94 (+0.0 %) | < 20 ✓ |" in text
    assert "| 0.9702 | — | ≥ 0.9 ✓ |" in text  # not run the time before
    saved = report.to_json()
    assert saved["compared_with"] == "bench/results/earlier.json"
    assert [r["previous"] for r in saved["rows"][:3]] == [12.8, 1.94, None]


def run_python(code: str, name: str = "fake", needs: tuple[str, ...] = ()) -> list[Outcome]:
    return runner.run_all([(name, [sys.executable, "-c", code], needs)], timeout=30)


def test_a_crashed_benchmark_fails_the_run_and_its_stderr_is_in_the_file() -> None:
    outcomes = run_python("import sys; print('half'); sys.exit('pgbench failed: boom')")
    outcomes += run_python("print('no json')", name="quiet")
    assert [(o.status, o.reason) for o in outcomes] == [
        ("crashed", "exit status 1: pgbench failed: boom"),
        ("crashed", "printed no JSON"),
    ]
    assert summary.exit_code(outcomes) == 1
    text = summary.markdown(Report(machine=MACHINE, outcomes=outcomes))
    assert "## Crashed" in text
    assert "  pgbench failed: boom" in text
    assert "| fake | crashed | exit status 1: pgbench failed: boom |" in text


def test_lines_repeated_but_for_their_numbers_are_shown_once() -> None:
    code = (
        "import sys\n"
        "for i in range(40): print(f'client {i} aborted: P_1 does not exist', file=sys.stderr)\n"
        "sys.exit('syntax error at 7')"
    )
    [outcome] = run_python(code)
    text = summary.markdown(Report(machine=MACHINE, outcomes=[outcome]))
    assert "  client 0 aborted: P_1 does not exist (and 39 more like it)\n" in text
    assert "client 1 aborted" not in text
    assert "  syntax error at 7\n" in text


def test_a_missed_aim_does_not_fail_the_run() -> None:
    outcomes = run_python('print(\'{"all_agents_free": {"median_ms": 99}}\')', name="engine")
    [row, _] = summary.rows("engine", outcomes[0].output, outcomes[0].command)
    assert row.aim_met is False
    assert summary.exit_code(outcomes) == 0


def test_a_benchmark_saying_what_it_lacks_is_skipped_with_why() -> None:
    outcomes = run_python("raise SystemExit('Prism is missing: run scripts/bootstrap --dev')")
    assert [(o.status, o.reason) for o in outcomes] == [
        ("skipped", "Prism is missing: run scripts/bootstrap --dev")
    ]
    assert summary.exit_code(outcomes) == 0
    text = summary.markdown(Report(machine=MACHINE, outcomes=outcomes))
    assert "## Skipped\n\n- fake (" in text
    assert "): Prism is missing: run scripts/bootstrap --dev" in text


def test_a_benchmark_whose_need_is_missing_is_skipped_without_running(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(runner.NEEDS, "promtool", lambda: "promtool is not installed")
    ran = tmp_path / "ran"
    outcomes = run_python(f"open({str(ran)!r}, 'w')", needs=("promtool",))
    assert [(o.status, o.reason) for o in outcomes] == [("skipped", "promtool is not installed")]
    assert not ran.exists()


def test_both_files_are_written_and_the_json_keeps_each_output(tmp_path: Path) -> None:
    report = Report(machine=MACHINE, outcomes=[ok("engine"), *run_python("exit(3)")])
    md, js = runner.write(report, tmp_path / "results" / "run.md")
    assert md.read_text(encoding="utf-8") == summary.markdown(report)
    saved = json.loads(js.read_text(encoding="utf-8"))
    assert [b["status"] for b in saved["benches"]] == ["ok", "crashed"]
    assert saved["benches"][0]["output"] == sample("engine")
    assert summary.previous_values(saved) == {
        "engine:all_agents_free.median_ms": 12.8,
        "engine:one_agent_in_ten_free.median_ms": 1.94,
    }


def test_the_benches_run_are_those_the_readme_tables_name_that_have_a_main(
    tmp_path: Path,
) -> None:
    for name in ("alpha", "delta"):
        (tmp_path / f"{name}.py").write_text("def main() -> None:\n    pass\n")
    (tmp_path / "beta.py").write_text("HELPER = 1\n")
    readme = tmp_path / "README.md"
    readme.write_text(
        "Run `python -m bench.delta` by hand.\n\n"
        "| benchmark | command | what |\n|---|---|---|\n"
        "| beta | `.venv/bin/python -m bench.beta` | x |\n"
        "| alpha | `.venv/bin/python -m bench.alpha [--n 3]` | y |\n"
        "| gamma | `.venv/bin/python -m bench.gamma` | no file |\n\n"
        "| figure | value | command |\n|---|---|---|\n"
        "| a figure | 3 ms | `python -m bench.alpha` |\n"
        "| a soak | flat | `.venv/bin/python -m bench.delta --minutes 10` |\n"
    )
    assert runner.discover(readme, tmp_path) == ["alpha", "delta"]
