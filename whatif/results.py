"""The service figures of runs, per queue and channel, with confidence intervals.

Each run's contacts are counted as the daemon counts them (routing.figures.Counts, the
arithmetic `contactd report` and /metrics use, by each goal's SL variant, kpi.md). A
contact still waiting at the end of the run is left out unless its due time has passed:
then it counts as answered late, a miss in every variant (an e-mail nobody answered is
never "in time"). A callback whose attempts all went unanswered counts as abandoned after
its window (not reached, kpi.md). Figures over several seeds are given as the mean with a
95 % confidence interval (Student's t over the seeds' values).
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from scipy import special

from routing import figures
from routing.contact import Channel
from routing.goals import ServiceGoal
from routing.queues import Queue
from whatif.play import Outcome, Record

SHORT_ABANDON_SECONDS = 5  # kpi.md: variant 5 credits abandons within 5 s
FEW = 10  # contacts a run: below this, a goal's confidence interval says nothing
Key = tuple[str, Channel]  # (queue, channel)


def counts(outcome: Outcome) -> dict[Key, figures.Counts]:
    """Each queue and channel's counts over the run."""
    tally: dict[Key, _Tally] = defaultdict(_Tally)
    for record in outcome.records:
        tally[record.queue, record.channel].add(record, outcome)
    return {key: figures.Counts(**dataclasses.asdict(t)) for key, t in tally.items()}


@dataclasses.dataclass
class _Tally:
    """figures.Counts as it is being counted."""

    answered: int = 0
    answered_within: int = 0
    abandoned: int = 0
    abandoned_short: int = 0
    abandoned_within: int = 0
    answered_wait_seconds: float = 0.0
    abandoned_wait_seconds: float = 0.0

    def add(self, r: Record, outcome: Outcome) -> None:
        if r.outcome == "open":
            if r.due > outcome.end:
                return  # not due yet when the run ends: neither met nor missed
            self.answered += 1  # overdue and still waiting: a miss in every variant
            self.answered_wait_seconds += (outcome.end - r.created).total_seconds()
        elif r.outcome == "answered":
            self.answered += 1
            self.answered_within += r.ended is not None and r.ended <= r.due
            self.answered_wait_seconds += r.waited
        else:  # abandoned, or a callback nobody answered
            self.abandoned += 1
            self.abandoned_wait_seconds += r.waited
            if r.outcome == "abandoned" and r.waited <= SHORT_ABANDON_SECONDS:
                self.abandoned_short += 1
            elif r.outcome == "abandoned" and r.ended is not None and r.ended <= r.due:
                self.abandoned_within += 1


@dataclasses.dataclass(frozen=True, kw_only=True)
class Figures:
    """One run's figures for a queue and channel (None: no contact to measure)."""

    offered: int
    service_level: float | None  # by the goal's variant
    answer_rate: float | None
    abandonment: float | None
    asa_seconds: float | None


def figures_of(c: figures.Counts, goal: ServiceGoal) -> Figures:
    return Figures(
        offered=c.offered,
        service_level=figures.service_level(c, goal.sl_variant),
        answer_rate=figures.answer_rate(c),
        abandonment=figures.abandonment(c),
        asa_seconds=figures.average_speed_of_answer(c),
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class Estimate:
    """A figure over several seeds: the mean and its 95 % confidence interval."""

    mean: float
    low: float
    high: float
    runs: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Estimate | None:
        if not values:
            return None
        n, mean = len(values), math.fsum(values) / len(values)
        if n == 1:
            return cls(mean=mean, low=mean, high=mean, runs=1)
        sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
        half = float(special.stdtrit(n - 1, 0.975)) * sd / math.sqrt(n)
        return cls(mean=mean, low=mean - half, high=mean + half, runs=n)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Row:
    """A queue and channel over all seeds, against its goal."""

    queue: str
    channel: Channel
    goal: ServiceGoal
    offered: Estimate | None
    service_level: Estimate | None
    answer_rate: Estimate | None
    abandonment: Estimate | None
    asa_seconds: Estimate | None

    @property
    def met(self) -> bool | None:
        """The goal met on average over the seeds (None: no contact)."""
        return None if self.service_level is None else self.service_level.mean >= self.goal.target

    @property
    def few(self) -> bool:
        """Fewer than FEW contacts a run: too few for a confidence interval to say anything
        (one missed callback of two would make the goal uncertain whatever the staffing)."""
        return self.offered is None or self.offered.mean < FEW

    @property
    def margin(self) -> float | None:
        """How far the goal is met: the interval's low end over the target, or the mean's
        for a goal with few contacts (negative: not surely met; None: no contact)."""
        if self.service_level is None:
            return None
        sure = self.service_level.mean if self.few else self.service_level.low
        return sure - self.goal.target

    @property
    def surely_met(self) -> bool:
        """Met with 95 % confidence (on the mean for a goal with few contacts)."""
        return self.margin is not None and self.margin >= 0


@dataclasses.dataclass(frozen=True, kw_only=True)
class Summary:
    rows: tuple[Row, ...]
    occupancy: Mapping[str, Estimate | None]  # per team

    def goals_met(self) -> int:
        return sum(1 for r in self.rows if r.met)

    def goals(self) -> int:
        return sum(1 for r in self.rows if r.met is not None)


def summarise(outcomes: Iterable[Outcome], queues: Sequence[Queue]) -> Summary:
    """The rows of every queue and channel with a goal, over the runs (one per seed)."""
    per_key: dict[Key, list[Figures]] = defaultdict(list)
    busy: dict[str, list[float]] = defaultdict(list)
    for outcome in outcomes:
        tallied = counts(outcome)
        for q in queues:
            for channel, goal in q.goals.items():
                c = tallied.get((q.code, channel), figures.Counts())
                per_key[q.code, channel].append(figures_of(c, goal))
        for team, worked in outcome.worked_seconds.items():
            if worked > 0:
                busy[team].append(outcome.busy_seconds.get(team, 0.0) / worked)
    rows = []
    for q in queues:
        for channel, goal in q.goals.items():
            runs = per_key[q.code, channel]
            rows.append(
                Row(
                    queue=q.code,
                    channel=channel,
                    goal=goal,
                    offered=Estimate.of([float(f.offered) for f in runs]),
                    **{
                        name: Estimate.of([v for f in runs if (v := getattr(f, name)) is not None])
                        for name in ("service_level", "answer_rate", "abandonment", "asa_seconds")
                    },
                )
            )
    return Summary(rows=tuple(rows), occupancy={t: Estimate.of(v) for t, v in busy.items()})
