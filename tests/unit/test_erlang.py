"""Erlang C and Erlang A against the published reference values (../shared/reference)."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from routing.erlang import (
    agents_required,
    agents_required_a,
    erlang_a,
    erlang_b,
    erlang_c,
    scheduled,
)

VECTORS = (
    Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "erlang_vectors.toml"
)
REFERENCE = tomllib.loads(VECTORS.read_text())


def _load(case: dict[str, Any]) -> float:
    if "load_erlangs" in case:
        return float(case["load_erlangs"])
    return case["calls"] * case["aht_s"] / case["interval_s"]


def _close(value: float, published: float) -> bool:
    # The published figures are rounded to the digits they show.
    digits = len(repr(published).split(".")[-1]) if "." in repr(published) else 0
    return math.isclose(value, published, abs_tol=0.6 * 10**-digits)


@pytest.mark.parametrize("case", REFERENCE["erlang_c"], ids=lambda c: c["source"][:50])
def test_erlang_c_matches_the_published_values(case: dict[str, Any]) -> None:
    load = _load(case)
    aht = case.get("aht_s", 300)
    target = case.get("target_s", 20)
    for point in case.get("at", []):
        result = erlang_c(point["agents"], load, aht, target)
        if "erlang_b" in point:
            assert _close(erlang_b(point["agents"], load), point["erlang_b"])
        assert _close(
            result.wait_probability, point.get("wait_probability", result.wait_probability)
        )
        for field, key in (
            ("service_level", "service_level"),
            ("asa_seconds", "asa_s"),
            ("occupancy", "occupancy"),
        ):
            if key in point:
                assert _close(getattr(result, field), point[key]), (field, getattr(result, field))
    if "agents_required" in case:
        assert agents_required(load, aht, target, case["target_sl"]) == case["agents_required"]
    if "scheduled_with_shrinkage" in case:
        needed = agents_required(load, aht, target, case["target_sl"])
        assert scheduled(needed, case["shrinkage"]) == case["scheduled_with_shrinkage"]
    if "agents_required_with_occupancy_cap" in case:
        capped = agents_required(load, aht, target, 0.0, max_occupancy=case["max_occupancy"])
        assert capped == case["agents_required_with_occupancy_cap"]


@pytest.mark.parametrize("case", REFERENCE["erlang_a"], ids=lambda c: c["source"][:50])
def test_erlang_a_matches_the_published_values(case: dict[str, Any]) -> None:
    result = erlang_a(
        case["agents"],
        case["calls"] / case["interval_s"],
        case["aht_s"],
        case["patience_s"],
        20,
    )
    assert _close(result.wait_probability, case["wait_probability"])
    assert _close(result.abandon_probability, case["abandon_probability"])
    assert _close(result.occupancy, case["occupancy"])
    assert _close(result.asa_seconds, case["asa_s"])
    assert _close(result.service_level, case["service_level_20s"])


def test_too_few_agents_means_everyone_waits_and_no_load_needs_no_one() -> None:
    overloaded = erlang_c(10, 10.0, 180, 20)
    assert (overloaded.wait_probability, overloaded.service_level) == (1.0, 0.0)
    assert agents_required(0.0, 180, 20, 0.8) == 0


@given(load=st.floats(0.1, 200), target=st.floats(0.5, 0.99))
def test_the_agents_required_reach_the_target_and_one_fewer_does_not(
    load: float, target: float
) -> None:
    agents = agents_required(load, 180, 20, target)
    assert erlang_c(agents, load, 180, 20).service_level >= target
    if agents - 1 > load:
        assert erlang_c(agents - 1, load, 180, 20).service_level < target


@given(rate=st.floats(0.001, 0.2), patience=st.floats(30, 600))
def test_erlang_a_needs_no_more_agents_than_erlang_c_and_reaches_the_target(
    rate: float, patience: float
) -> None:
    aht, target, level = 300.0, 60.0, 0.8
    need_a = agents_required_a(rate, aht, patience, target, level)
    need_c = agents_required(rate * aht, aht, target, level)
    assert 1 <= need_a <= need_c
    if need_a < need_c:
        assert erlang_a(need_a, rate, aht, patience, target).service_level >= level


def test_erlang_a_with_no_agents_loses_every_caller() -> None:
    staffing = erlang_a(0, 0.1, 300, 120, 20)
    assert (staffing.service_level, staffing.abandon_probability) == (0.0, 1.0)
    assert agents_required_a(0, 300, 120, 20, 0.8) == 0


@pytest.mark.parametrize("agents", [1, 10, 150, 600])
def test_erlang_a_answers_more_within_a_longer_threshold_at_any_size(agents: int) -> None:
    # A long goal with many agents once underflowed (exp(-rate * t) == 0) and fell to 0.69.
    rate = agents * 0.9 / 330  # 90 % load
    levels = [erlang_a(agents, rate, 330, 180, t).service_level for t in (20, 300, 1800, 7200)]
    assert levels == sorted(levels)
    assert 0 < levels[0] <= levels[-1] <= 1
    never_waited = erlang_a(agents, rate, 330, 180, 0).service_level
    assert levels[-1] > never_waited
