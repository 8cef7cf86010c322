"""The lab's figures per channel (whatif/channels.py): every queue's counts of a run added up,
and the figures computed again from those sums, not the mean of the queues' percentages (a
quiet queue would weigh as much as a busy one)."""

from __future__ import annotations

import statistics

import pytest

from routing.contact import Channel
from tests.unit.test_whatif_staffing import _hotline
from whatif.channels import per_channel
from whatif.play import play_seeds
from whatif.results import counts


def test_a_channel_adds_up_the_counts_of_its_queues() -> None:
    outcomes = play_seeds(_hotline(agents_per_team=3), seeds=range(4))

    [calls] = per_channel(outcomes)

    tallies = [[c for (_, ch), c in counts(o).items() if ch is Channel.CALL] for o in outcomes]
    offered = [sum(c.offered for c in run) for run in tallies]
    answered = [sum(c.answered for c in run) / sum(c.offered for c in run) for run in tallies]
    assert calls.channel is Channel.CALL
    assert calls.offered is not None
    assert calls.offered.mean == pytest.approx(statistics.mean(offered))
    assert calls.answer_rate is not None
    assert calls.answer_rate.mean == pytest.approx(statistics.mean(answered))
    assert calls.answer_rate.runs == 4
    assert 0 < calls.answer_rate.mean < 1  # three agents a team: some callers hang up
