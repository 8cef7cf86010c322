"""The service figures of docs/reference/kpi.md, from the counts of a period.

Pure arithmetic, shared by the leader's statistics (today, on /metrics) and `contactd report`
(any day), so that Grafana and the report can never disagree. A figure over no contacts is
None, never 0 or NaN: a queue with no traffic has no service level.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True, kw_only=True)
class Counts:
    """The contacts of one queue and channel whose wait ended in a period."""

    answered: int = 0
    answered_within: int = 0  # answered by their due time
    abandoned: int = 0
    abandoned_short: int = 0  # left within 5 s (credited by variant 5)
    abandoned_within: int = 0  # left after 5 s but by their due time
    answered_wait_seconds: float = 0.0  # the answered contacts' waits, summed
    abandoned_wait_seconds: float = 0.0

    @property
    def offered(self) -> int:
        return self.answered + self.abandoned

    @property
    def abandoned_after(self) -> int:
        return self.abandoned - self.abandoned_short - self.abandoned_within


def _share(part: float, whole: float) -> float | None:
    return part / whole if whole > 0 else None


def service_level(c: Counts, variant: int) -> float | None:
    """The share handled within the goal, by SL variant 1-5 (kpi.md)."""
    match variant:
        case 1:
            met = c.answered_within + c.abandoned_short + c.abandoned_within
            return _share(met, c.answered + c.abandoned)
        case 2:
            return _share(c.answered_within, c.answered)
        case 3:
            return _share(c.answered_within, c.answered + c.abandoned)
        case 4:
            return _share(c.answered_within, c.answered + c.abandoned_after)
        case 5:
            return _share(c.answered_within + c.abandoned_short, c.answered + c.abandoned)
    raise ValueError(f"SL variant {variant} does not exist; use 1-5")


def answer_rate(c: Counts) -> float | None:
    """Accessibility: answered / offered."""
    return _share(c.answered, c.offered)


def abandonment(c: Counts) -> float | None:
    return _share(c.abandoned, c.offered)


def average_speed_of_answer(c: Counts) -> float | None:
    return _share(c.answered_wait_seconds, c.answered)


def patience(c: Counts) -> float | None:
    """The mean patience of clients, if it is exponential: all waiting time / abandons.

    The maximum-likelihood estimate with censored waits (Mandelbaum and Zeltyn): an answered
    client's wait is a lower bound of their patience.
    """
    return _share(c.answered_wait_seconds + c.abandoned_wait_seconds, c.abandoned)
