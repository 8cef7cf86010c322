"""Staffing maths: Erlang C (callers wait as long as it takes) and Erlang A (callers give up
after an exponentially distributed patience), for the agents a queue needs now.

Erlang C uses the Erlang B recursion, which stays exact at any size (no factorials or powers
of the load: 12,345 erlangs work). Erlang A sums the stationary distribution of the
M/M/n+M birth-death chain (Garnett, Mandelbaum and Reiman, 2002) until its tail is
negligible. Checked against published figures: tests/unit/data/erlang_reference.toml.
"""

from __future__ import annotations

import dataclasses
import math

import numpy
from scipy import special


def erlang_b(agents: int, load: float) -> float:
    """The blocking probability of `agents` servers offered `load` erlangs."""
    b = 1.0
    for k in range(1, agents + 1):
        b = load * b / (k + load * b)
    return b


@dataclasses.dataclass(frozen=True)
class Staffing:
    agents: int
    wait_probability: float  # a caller has to wait at all
    service_level: float  # answered within the target time
    asa_seconds: float  # the average speed of answer, over all callers
    occupancy: float  # the share of the agents' time spent handling
    abandon_probability: float = 0.0  # Erlang A only


def erlang_c(agents: int, load: float, aht_seconds: float, target_seconds: float) -> Staffing:
    """Erlang C for `agents` handling `load` erlangs with handle time `aht_seconds`. With no
    more agents than the load, the queue grows without end: everyone waits, no one in time."""
    if agents <= load:
        return Staffing(agents, 1.0, 0.0, math.inf, 1.0)
    b = erlang_b(agents, load)
    wait = agents * b / (agents - load * (1 - b))
    spare = agents - load
    return Staffing(
        agents=agents,
        wait_probability=wait,
        service_level=1 - wait * math.exp(-spare * target_seconds / aht_seconds),
        asa_seconds=wait * aht_seconds / spare,
        occupancy=load / agents,
    )


def agents_required(
    load: float,
    aht_seconds: float,
    target_seconds: float,
    target_service_level: float,
    *,
    max_occupancy: float = 1.0,
) -> int:
    """The fewest agents that reach the service level (Erlang C), busy at most
    `max_occupancy` of their time. No load needs no one."""
    if load <= 0:
        return 0
    agents = max(math.floor(load) + 1, math.ceil(load / max_occupancy))
    while erlang_c(agents, load, aht_seconds, target_seconds).service_level < target_service_level:
        agents += 1
    return agents


def scheduled(agents: int, shrinkage: float) -> int:
    """The people to schedule so that `agents` are at work when `shrinkage` (breaks,
    training, absence) is away."""
    return math.ceil(agents / (1 - shrinkage) - 1e-9)


def erlang_a(
    agents: int,
    arrivals_per_second: float,
    aht_seconds: float,
    patience_seconds: float,
    target_seconds: float,
) -> Staffing:
    """Erlang A (M/M/n+M): callers who wait give up at rate 1/patience. Stable at any load:
    the impatient keep the queue finite."""
    lam, mu, theta = arrivals_per_second, 1 / aht_seconds, 1 / patience_seconds
    if lam <= 0:
        return Staffing(agents, 0.0, 1.0, 0.0, 0.0)
    if agents <= 0:  # no one answers: every caller waits until they give up
        return Staffing(0, 1.0, 0.0, math.inf, 1.0, abandon_probability=1.0)
    # The unnormalised stationary probabilities, from state 0 up until the tail is spent,
    # with a running total (linear, at hundreds of agents) and rescaled before a large load's
    # weights could overflow.
    weights = [1.0]
    total, i = 1.0, 0
    while True:
        i += 1
        rate = i * mu if i <= agents else agents * mu + (i - agents) * theta
        weights.append(weights[-1] * lam / rate)
        total += weights[-1]
        if total > 1e250:
            weights = [w / total for w in weights]
            total = 1.0
        if i > agents and weights[-1] < 1e-16 * total:
            break
    p = [w / total for w in weights]
    waiting = p[agents:]  # an arrival finds j callers waiting (PASTA)
    queue_length = sum(j * pj for j, pj in enumerate(waiting))
    abandon = theta * queue_length / lam
    served = _answered_within(waiting, agents * mu, theta, target_seconds)
    return Staffing(
        agents=agents,
        wait_probability=sum(waiting),
        service_level=sum(p[:agents]) + served,
        asa_seconds=queue_length / lam,
        occupancy=lam * (1 - abandon) / mu / agents,
        abandon_probability=abandon,
    )


def _answered_within(waiting: list[float], service_rate: float, theta: float, t: float) -> float:
    """The chance that an arrival is answered after waiting, within `t`; `waiting[j]` is the
    chance to find j callers waiting ahead.

    With k ahead the caller moves up at rate a + k*theta (a = service_rate: an answer, or an
    abandonment ahead) while racing their own patience (theta). The moves' rates form an
    arithmetic series, so the time S_j to be answered from j ahead has the density
    prod(a + k theta) / (theta^j j!) * exp(-a s) * (1 - exp(-theta s))^j, and
        P(S_j <= t, S_j < patience) = a / (a + (j + 1) theta) * (1 - I_x(a/theta + 1, j + 1))
    with x = exp(-theta t) and I the regularised incomplete beta function: exact and stable
    for any number of agents and any threshold (a sum of exponentials would cancel badly).
    """
    if service_rate <= 0:
        return 0.0
    alpha = service_rate / theta + 1
    x = math.exp(-theta * t)
    ahead = numpy.arange(1, len(waiting) + 1)
    within = service_rate / (service_rate + ahead * theta) * (1 - special.betainc(alpha, ahead, x))
    return float(numpy.dot(waiting, within))


def agents_required_a(
    arrivals_per_second: float,
    aht_seconds: float,
    patience_seconds: float,
    target_seconds: float,
    target_service_level: float,
    *,
    max_occupancy: float = 1.0,
) -> int:
    """The fewest agents that reach the service level by Erlang A (callers give up), busy
    at most `max_occupancy`. Never more than Erlang C asks: the impatient shorten the queue."""
    if arrivals_per_second <= 0:
        return 0
    load = arrivals_per_second * aht_seconds
    ceiling = agents_required(
        load, aht_seconds, target_seconds, target_service_level, max_occupancy=max_occupancy
    )

    def enough(agents: int) -> bool:
        staffing = erlang_a(
            agents, arrivals_per_second, aht_seconds, patience_seconds, target_seconds
        )
        return (
            staffing.service_level >= target_service_level and staffing.occupancy <= max_occupancy
        )

    # Both figures improve with every agent added: search between half the load (below it,
    # most callers give up) and Erlang C's answer.
    low, high = max(1, math.floor(load * 0.5)), ceiling
    while low < high:
        middle = (low + high) // 2
        if enough(middle):
            high = middle
        else:
            low = middle + 1
    return high
