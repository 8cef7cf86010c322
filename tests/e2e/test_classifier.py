"""The classifier as an operator and staff use it: the classify, train and evaluate
commands, and a fresh daemon that trains its model at first start."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest

from classifier import persistence
from tests.conftest import WORKDAY
from tests.e2e.daemon import Daemon, contactd, staff_token

pytestmark = pytest.mark.slow

FAMILY = "Hej, jeg vil søge familiesammenføring med min ægtefælle. Hvilke papirer skal jeg bruge?"


def test_classify_prints_case_type_confidence_runner_up_and_language(model_file: Path) -> None:
    result = contactd("classify", "--model", str(model_file), FAMILY)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("case type   family (0.9")
    assert lines[0].endswith("routed")
    assert lines[1].startswith("runner-up   ")
    assert lines[2] == "language    da"
    from_stdin = contactd("classify", "--model", str(model_file), stdin="")
    assert from_stdin.stdout.startswith(
        "case type   general (0.00), sent to general triage: nothing to read"
    )
    both = contactd("classify", "--model", str(model_file), "--jsonl", "-", "some text")
    assert both.returncode == 2
    assert "give a TEXT or --jsonl FILE, not both" in both.stderr


def test_a_backlog_is_classified_line_by_line_and_bad_lines_are_reported(
    model_file: Path,
) -> None:
    backlog = "\n".join(
        [
            json.dumps({"id": "a", "text": FAMILY}),
            "{broken",
            json.dumps({"text": "I need a visa to visit my sister in Aarhus for two weeks."}),
            json.dumps({"subject": "no text field"}),
            json.dumps({"id": "e", "text": ""}),
        ]
    )
    result = contactd("classify", "--model", str(model_file), "--jsonl", "-", stdin=backlog)
    assert result.returncode == 1
    assert "2 line(s) could not be classified" in result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == 5
    assert (out[0]["id"], out[0]["case_type"], out[0]["language"]) == ("a", "family", "da")
    assert set(out[0]) == {
        "id",
        "case_type",
        "guess",
        "confidence",
        "unsure",
        "runner_up",
        "runner_up_confidence",
        "language",
    }
    assert out[1]["line"] == 2
    assert out[1]["error"].startswith("not JSON")
    assert (out[2]["case_type"], out[2]["language"]) == ("visa", "en")
    assert out[3] == {"line": 4, "error": "needs an object with a 'text' string"}
    assert (out[4]["case_type"], out[4]["confidence"], out[4]["language"]) == (
        "general",
        0,
        "other",
    )


def test_evaluate_prints_the_scores_and_draws_the_confusion_matrix(
    model_file: Path, tmp_path: Path
) -> None:
    png = tmp_path / "matrix.png"
    result = contactd("evaluate", "--model", str(model_file), "--png", str(png))
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[1]
    assert first.startswith("examples 338  macro-F1 0.9")
    assert "confusion matrix (rows: true case type" in result.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 20_000  # a 1100x1000 picture, not an empty one


@pytest.mark.timeout(120)
async def test_train_with_feedback_learns_from_corrections_in_the_database(
    db_url: str, tmp_path: Path
) -> None:
    conn = await asyncpg.connect(db_url)
    try:
        # A caseworker added the day before corrects a contact that came in at WORKDAY.
        staff_id = await conn.fetchval(
            "INSERT INTO staff (login, name, role, created_at) VALUES ('k', 'K', 'agent', $1)"
            " RETURNING id",
            WORKDAY - timedelta(days=1),
        )
        contact = await conn.fetchval(
            """INSERT INTO contacts (reference, channel, case_type, case_type_source, language,
                   queue, due_at, body, created_at, state_changed_at, queued_at)
               VALUES ('AAAA-BBBB', 'email', 'lapse', 'staff', 'da', 'residence', $2, $1,
                       $2, $2, $2)
               RETURNING id""",
            "Bortfald efter ophold i udlandet",
            WORKDAY,
        )
        await conn.execute(
            """INSERT INTO case_type_corrections (contact_id, from_type, from_source, to_type,
                   actor, corrected_at) VALUES ($1, 'general', 'classifier', 'lapse', $2, $3)""",
            contact,
            f"staff:{staff_id}",
            WORKDAY + timedelta(minutes=5),
        )
    finally:
        await conn.close()
    path = tmp_path / "taught.skops"
    result = contactd(
        "train", "--with-feedback", "--model", str(path), env={"CONTACTD_DATABASE_URL": db_url}
    )
    assert result.returncode == 0, result.stderr
    assert "(1 staff corrections)" in result.stdout
    assert persistence.load(path).card.feedback == 1


@pytest.mark.timeout(120)
def test_a_fresh_daemon_trains_its_model_at_first_start_and_loads_it_after(
    tmp_path: Path, daemons: list[Daemon]
) -> None:
    data = tmp_path / "data"
    token = staff_token("frida", "frontdesk", data_dir=data)
    classifier_on = {"CONTACTD_CLASSIFIER__ENABLED": "true"}
    first = Daemon(
        ["run", "--data-dir", str(data), "--port", "0"], tmp_path / "1.log", classifier_on
    )
    daemons.append(first)
    first.wait_ready()
    # Sent at once: intake waits for the model that is still being trained.
    new = {"channel": "email", "text": FAMILY}
    status, body = first.post("/api/contacts", new, token, timeout=30)
    assert status == 201
    assert (body["case_type"], body["case_type_source"], body["queue"]) == (
        "family",
        "classifier",
        "family",
    )
    assert first.interrupt() == 0
    assert "classifier.training" in first.output()
    assert (data / "classifier" / "case-types.skops").exists()

    second = Daemon(
        ["run", "--data-dir", str(data), "--port", "0"], tmp_path / "2.log", classifier_on
    )
    daemons.append(second)
    second.wait_ready()
    status, body = second.post("/api/contacts", {"channel": "email", "text": FAMILY}, token)
    assert (status, body["case_type"]) == (201, "family")
    assert second.interrupt() == 0
    assert "classifier.ready" in second.output()
    assert "classifier.training" not in second.output()
    assert FAMILY not in first.output() + second.output()  # message text never reaches the log


def test_a_damaged_model_file_is_reported_and_kept(tmp_path: Path) -> None:
    damaged = tmp_path / "case-types.skops"
    damaged.write_bytes(b"\x00" * 100)
    result = contactd("classify", "--model", str(damaged), "some text")
    assert result.returncode == 1
    assert "not a contactd model file" in result.stderr
    assert "move it away to train a new one" in result.stderr
    assert "Traceback" not in result.stderr
    assert damaged.read_bytes() == b"\x00" * 100
