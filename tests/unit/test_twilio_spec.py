"""Finding Twilio's OpenAPI spec for the contract tests and bench (tests/twilio_spec.py):
CONTACTD_TWILIO_SPEC first, then ../shared/twilio; where it is absent the contract tests
skip saying how to get that exact file, and fail under CI=true."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import pytest

from tests import twilio_spec


@pytest.fixture
def beside(tmp_path: Path) -> Path:
    """A stand-in for ../shared/twilio/twilio_api_v2010.json, not there until a test writes
    it (the real one may or may not be beside this checkout)."""
    return tmp_path / "shared" / "twilio" / "twilio_api_v2010.json"


def _spec(path: Path, text: str = '{"openapi": "3.0.1"}') -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_the_path_in_the_environment_wins_over_the_one_beside_the_repository(
    tmp_path: Path, beside: Path
) -> None:
    _spec(beside)
    given = _spec(tmp_path / "elsewhere" / "spec.json")

    with pytest.warns(twilio_spec.OtherVersion):
        found = twilio_spec.find({"CONTACTD_TWILIO_SPEC": str(given)}, beside)

    assert found == given


def test_without_the_environment_variable_the_one_beside_the_repository_is_used(
    beside: Path,
) -> None:
    _spec(beside)

    with pytest.warns(twilio_spec.OtherVersion):
        assert twilio_spec.find({"CONTACTD_TWILIO_SPEC": ""}, beside) == beside


def test_a_missing_file_named_by_the_environment_is_absent_even_with_one_beside(
    tmp_path: Path, beside: Path
) -> None:
    _spec(beside)

    assert (
        twilio_spec.find({"CONTACTD_TWILIO_SPEC": str(tmp_path / "nothing.json")}, beside) is None
    )


def test_another_version_is_used_with_a_warning_naming_the_expected_one(beside: Path) -> None:
    _spec(beside, '{"openapi": "3.0.1", "info": {"version": "other"}}')

    with pytest.warns(twilio_spec.OtherVersion) as caught:
        assert twilio_spec.find({}, beside) == beside

    message = str(caught[0].message)
    assert twilio_spec.COMMIT in message
    assert twilio_spec.SHA256 in message
    assert hashlib.sha256(beside.read_bytes()).hexdigest() in message


def test_the_named_version_is_used_without_a_warning(
    beside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _spec(beside)
    monkeypatch.setattr(twilio_spec, "SHA256", hashlib.sha256(beside.read_bytes()).hexdigest())

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert twilio_spec.find({}, beside) == beside


def test_absent_the_contract_tests_skip_saying_how_to_get_that_exact_file(beside: Path) -> None:
    with pytest.raises(pytest.skip.Exception) as skipped:
        twilio_spec.for_tests({}, beside)

    message = str(skipped.value)
    for part in (
        "https://github.com/twilio/twilio-oai",
        "d50069b44ea8cd23141385bdb6db48f16ff75bb5",
        "spec/json/twilio_api_v2010.json",
        "99cae87a6bb1725f71363364cbd30282a13140374b2d5f9bdd5bdfa5d4c8a6d7",
        str(beside),
        "CONTACTD_TWILIO_SPEC",
    ):
        assert part in message


def test_the_message_names_the_file_the_environment_pointed_at(
    tmp_path: Path, beside: Path
) -> None:
    missing = tmp_path / "nothing.json"

    with pytest.raises(pytest.skip.Exception) as skipped:
        twilio_spec.for_tests({"CONTACTD_TWILIO_SPEC": str(missing)}, beside)

    assert f"CONTACTD_TWILIO_SPEC={missing}" in str(skipped.value)


def test_absent_under_ci_the_contract_tests_fail(beside: Path) -> None:
    with pytest.raises(pytest.fail.Exception) as failed:
        twilio_spec.for_tests({"CI": "true"}, beside)

    assert twilio_spec.COMMIT in str(failed.value)
    assert twilio_spec.SHA256 in str(failed.value)


def test_found_the_contract_tests_get_its_path_another_version_only_warns(
    beside: Path,
) -> None:
    _spec(beside)

    with pytest.warns(twilio_spec.OtherVersion):  # pytest's "error" filter does not apply
        assert twilio_spec.for_tests({"CI": "true"}, beside) == beside
