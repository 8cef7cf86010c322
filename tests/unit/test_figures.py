"""The service figures of kpi.md from a period's counts (routing/figures.py)."""

from __future__ import annotations

import pytest

from routing import figures
from routing.figures import Counts

# kpi.md's example: 1,000 answered, 860 within T; 60 abandoned: 10 within 5 s, 10 more
# within T, 40 after T.
EXAMPLE = Counts(
    answered=1000, answered_within=860, abandoned=60, abandoned_short=10, abandoned_within=10,
    answered_wait_seconds=45_000.0, abandoned_wait_seconds=15_000.0,
)  # fmt: skip


@pytest.mark.parametrize(
    ("variant", "published"), [(1, 0.830), (2, 0.860), (3, 0.811), (4, 0.827), (5, 0.821)]
)
def test_each_sl_variant_gives_the_published_figure(variant: int, published: float) -> None:
    assert figures.service_level(EXAMPLE, variant) == pytest.approx(published, abs=0.0005)


def test_the_other_figures_of_the_example() -> None:
    assert EXAMPLE.offered == 1060
    assert EXAMPLE.abandoned_after == 40
    assert figures.answer_rate(EXAMPLE) == pytest.approx(1000 / 1060)
    assert figures.abandonment(EXAMPLE) == pytest.approx(60 / 1060)
    assert figures.average_speed_of_answer(EXAMPLE) == 45.0
    assert figures.patience(EXAMPLE) == 1000.0  # all waiting time / abandons


def test_no_traffic_has_no_figure_rather_than_zero_or_nan() -> None:
    none = Counts()
    assert [figures.service_level(none, v) for v in range(1, 6)] == [None] * 5
    assert figures.answer_rate(none) is None
    assert figures.average_speed_of_answer(none) is None
    assert figures.patience(none) is None


def test_only_abandons_give_a_service_level_of_their_own_by_variant() -> None:
    left = Counts(abandoned=4, abandoned_short=4)
    assert figures.service_level(left, 1) == 1.0  # short abandons count as met
    assert figures.service_level(left, 2) is None  # nothing answered
    assert figures.service_level(left, 3) == 0.0


def test_an_unknown_variant_is_refused() -> None:
    with pytest.raises(ValueError, match="variant 6"):
        figures.service_level(EXAMPLE, 6)
