"""Erlang C and Erlang A against published reference figures (data/erlang_reference.toml,
which names the publication of each)."""

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

REFERENCE = tomllib.loads(
    (Path(__file__).parent / "data" / "erlang_reference.toml").read_text(encoding="utf-8")
)
# The figures of a result that a publication may print, by the names of routing.erlang.Staffing.
FIGURES = ("wait_probability", "service_level", "asa_seconds", "occupancy", "abandon_probability")


def _load(example: dict[str, Any]) -> float:
    if "load" in example:
        return float(example["load"])
    return float(example["calls"] * example["aht_seconds"] / example["period_seconds"])


def _close(value: float, published: float) -> bool:
    # The published figures are rounded to the digits they show.
    digits = len(repr(published).split(".")[-1]) if "." in repr(published) else 0
    return math.isclose(value, published, abs_tol=0.6 * 10**-digits)


def _name(example: dict[str, Any]) -> str:
    return str(example["name"])


def test_every_reference_example_names_its_publication() -> None:
    examples = REFERENCE["erlang_c"] + REFERENCE["erlang_a"]
    assert all(e["publication"].strip() for e in examples)
    assert len({e["name"] for e in examples}) == len(examples)


@pytest.mark.parametrize("example", REFERENCE["erlang_c"], ids=_name)
def test_erlang_c_matches_the_published_figures(example: dict[str, Any]) -> None:
    load = _load(example)
    aht, target = example["aht_seconds"], example["target_seconds"]
    for row in example.get("staffed", []):
        result = erlang_c(row["agents"], load, aht, target)
        if "erlang_b" in row:
            assert _close(erlang_b(row["agents"], load), row["erlang_b"])
        for figure in FIGURES:
            if figure in row:
                assert _close(getattr(result, figure), row[figure]), (row["agents"], figure)
    if "agents_required" in example:
        needed = agents_required(load, aht, target, example["service_level_goal"])
        assert needed == example["agents_required"]
        if "to_schedule" in example:
            assert scheduled(needed, example["shrinkage"]) == example["to_schedule"]
    if "agents_required_at_max_occupancy" in example:
        capped = agents_required(load, aht, target, 0.0, max_occupancy=example["max_occupancy"])
        assert capped == example["agents_required_at_max_occupancy"]


@pytest.mark.parametrize("example", REFERENCE["erlang_a"], ids=_name)
def test_erlang_a_matches_the_published_figures(example: dict[str, Any]) -> None:
    rate = example["calls"] / example["period_seconds"]
    for row in example["staffed"]:
        result = erlang_a(
            row["agents"],
            rate,
            example["aht_seconds"],
            example["patience_seconds"],
            example["target_seconds"],
        )
        for figure in FIGURES:
            if figure in row:
                assert _close(getattr(result, figure), row[figure]), (row["agents"], figure)


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
