"""The wait a client is told, from their position, the people serving and the handling time."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from routing.waits import estimated_wait_seconds


@pytest.mark.parametrize(
    ("position", "servers", "expected"),
    [
        (1, 1, 0),  # next in line: called at the next free counter
        (2, 1, 600),  # one ahead, one serving: one handling time
        (3, 2, 600),  # two ahead shared by two servers: one round
        (4, 2, 600),
        (5, 2, 1200),
        (3, 0, 1200),  # no one serving counts as one: never "0 minutes" by mistake
    ],
)
def test_the_wait_is_the_rounds_of_those_ahead_shared_by_the_servers(
    position: int, servers: int, expected: int
) -> None:
    assert estimated_wait_seconds(position, servers, 600) == expected


@given(position=st.integers(1, 500), servers=st.integers(0, 50), handle=st.floats(1, 3600))
def test_a_later_place_never_waits_less_and_more_servers_never_wait_longer(
    position: int, servers: int, handle: float
) -> None:
    wait = estimated_wait_seconds(position, servers, handle)
    assert wait >= 0
    assert estimated_wait_seconds(position + 1, servers, handle) >= wait
    assert estimated_wait_seconds(position, servers + 1, handle) <= wait
