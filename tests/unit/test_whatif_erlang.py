"""The what-if lab checked against queueing theory (issue 21): for one queue, one skill,
Poisson arrivals and exponential handling, the simulated service level, waiting probability
and abandonment agree with Erlang C (callers wait as long as it takes) and Erlang A (they
give up after an exponential patience) within the simulation's 95 % confidence interval,
over a grid of loads. Seeds are fixed: the test plays the same days every time."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from routing.calendar import BusinessCalendar, Interval
from routing.contact import Channel, Language
from routing.erlang import erlang_a, erlang_c
from routing.goals import ServiceGoal, Threshold, Unit
from routing.queues import Queue
from whatif.play import Outcome, play
from whatif.results import Estimate
from whatif.scenario import Agent, Dist, Scenario, Traffic

ZONE = ZoneInfo("Europe/Copenhagen")
DAY = date(2026, 12, 1)
AHT = 180.0  # seconds
TARGET = 60.0  # seconds: the service level's threshold
AGENTS = 5
SEEDS = range(30)
# Contacts that arrive before the queue has settled (it opens empty) or too near the end
# to finish are left out: Erlang's figures are the steady state's.
MEASURED = (time(2, 0), time(22, 0))


def _scenario(load: float, patience: float | None) -> Scenario:
    always = BusinessCalendar(
        timezone=ZONE,
        hours={d: (Interval(start=time(0, 0), end=time(23, 59)),) for d in range(7)},
        holiday_country=None,
    )
    goal = ServiceGoal(threshold=Threshold(amount=int(TARGET), unit=Unit.SECONDS), target=0.8)
    queue = Queue(
        code="hotline",
        name_da="Hotline",
        name_en="Hotline",
        case_types=frozenset({"general"}),
        channels=frozenset({Channel.CALL}),
        goals={Channel.CALL: goal},
        priority=0,
        calendar=always,
    )
    per_hour = load / AHT * 3600
    traffic = Traffic(
        per_day={Channel.CALL: per_hour * 24},
        profile={Channel.CALL: dict.fromkeys(range(24), 1.0)},
        case_types={"general": 1.0},
        english={Channel.CALL: 0.0},
        handle={Channel.CALL: Dist(mean=AHT, cv=1.0)},
        patience={Channel.CALL: Dist(mean=patience, cv=1.0)} if patience else {},
        skill_speed={},  # every agent takes the time drawn: Erlang's exponential
    )
    agents = tuple(
        Agent(
            name=f"a{n}",
            team="hotline",
            skills={"general": 1},
            languages=frozenset({Language.DA}),
            capacity={Channel.CALL: 1},
            start=time(0, 0),
            end=time(23, 59),
        )
        for n in range(AGENTS)
    )
    return Scenario(queues=(queue,), timezone=ZONE, days=(DAY,), traffic=traffic, staffing=agents)


def _measured(outcome: Outcome) -> list[tuple[str, float]]:
    start, end = (datetime.combine(DAY, t, ZONE).astimezone(UTC) for t in MEASURED)
    return [(r.outcome, r.waited) for r in outcome.records if start <= r.created < end]


def _estimate(outcomes: Sequence[Outcome], share: Callable[[tuple[str, float]], bool]) -> Estimate:
    """The share of measured calls for which `share` holds, over the seeds' days."""
    values = []
    for outcome in outcomes:
        calls = _measured(outcome)
        values.append(sum(1 for c in calls if share(c)) / len(calls))
    estimate = Estimate.of(values)
    assert estimate is not None
    return estimate


def _within(estimate: Estimate, expected: float) -> bool:
    return estimate.low <= expected <= estimate.high


@pytest.mark.parametrize("load", [3.0, 4.0, 4.5])
def test_without_patience_the_lab_agrees_with_erlang_c(load: float) -> None:
    outcomes = [play(_scenario(load, patience=None), seed=seed) for seed in SEEDS]
    theory = erlang_c(AGENTS, load, AHT, TARGET)

    in_time = _estimate(outcomes, lambda c: c[0] == "answered" and c[1] <= TARGET)
    waited = _estimate(outcomes, lambda c: c[1] > 0)

    assert _within(in_time, theory.service_level), (in_time, theory.service_level)
    assert _within(waited, theory.wait_probability), (waited, theory.wait_probability)


@pytest.mark.parametrize("load", [3.0, 4.5, 6.0])
def test_with_patience_the_lab_agrees_with_erlang_a(load: float) -> None:
    """Erlang A stays finite above 100 % load (the impatient leave): 6 erlangs on 5 agents."""
    patience = 120.0
    outcomes = [play(_scenario(load, patience=patience), seed=seed) for seed in SEEDS]
    theory = erlang_a(AGENTS, load / AHT, AHT, patience, TARGET)

    in_time = _estimate(outcomes, lambda c: c[0] == "answered" and c[1] <= TARGET)
    gave_up = _estimate(outcomes, lambda c: c[0] == "abandoned")

    assert _within(in_time, theory.service_level), (in_time, theory.service_level)
    assert _within(gave_up, theory.abandon_probability), (gave_up, theory.abandon_probability)
    assert not math.isclose(gave_up.mean, 0.0)  # the impatient do leave
