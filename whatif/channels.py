"""The figures of runs per channel, every queue together: how the hotline, the callbacks, the
inbox and the service centre did as a whole (results.py gives them per queue and goal).

Each run's contacts are counted as results.counts counts them, the counts of a channel's
queues added up, and the figures computed again from those sums (not the mean of the queues'
percentages, which would weigh a quiet queue as much as a busy one); over the seeds as the
mean with its 95 % confidence interval, as results.Estimate gives it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable

from routing import figures
from routing.contact import Channel
from whatif.play import Outcome
from whatif.results import Estimate, counts


@dataclasses.dataclass(frozen=True, kw_only=True)
class ChannelRow:
    """A channel over all seeds (None: no contact to measure in any run)."""

    channel: Channel
    offered: Estimate | None
    answer_rate: Estimate | None
    abandonment: Estimate | None
    asa_seconds: Estimate | None


def per_channel(outcomes: Iterable[Outcome]) -> tuple[ChannelRow, ...]:
    """A row per channel that had contacts in some run, in the order of Channel."""
    runs: dict[Channel, list[figures.Counts]] = {}
    for outcome in outcomes:
        summed: dict[Channel, figures.Counts] = {}
        for (_, channel), c in counts(outcome).items():
            summed[channel] = _added(summed.get(channel, figures.Counts()), c)
        for channel, c in summed.items():
            runs.setdefault(channel, []).append(c)
    return tuple(_row(channel, runs[channel]) for channel in Channel if channel in runs)


def _added(a: figures.Counts, b: figures.Counts) -> figures.Counts:
    return figures.Counts(
        **{f.name: getattr(a, f.name) + getattr(b, f.name) for f in dataclasses.fields(a)}
    )


def _row(channel: Channel, runs: list[figures.Counts]) -> ChannelRow:
    def estimate(figure: Callable[[figures.Counts], float | None]) -> Estimate | None:
        return Estimate.of([v for c in runs if (v := figure(c)) is not None])

    return ChannelRow(
        channel=channel,
        offered=Estimate.of([float(c.offered) for c in runs]),
        answer_rate=estimate(figures.answer_rate),
        abandonment=estimate(figures.abandonment),
        asa_seconds=estimate(figures.average_speed_of_answer),
    )
