"""The wait a client is told: how long until their turn, from where they stand."""

from __future__ import annotations

import math


def estimated_wait_seconds(position: int, servers: int, handle_seconds: float) -> int:
    """Position 1 is next. Each of `servers` takes the next client when done: the client's
    turn comes after those ahead have been shared out between them, a handling time each
    round. No one serving counts as one, so the wait is never zero by mistake."""
    servers = max(servers, 1)
    rounds = math.ceil(position / servers) - 1 if position > servers else 0
    return round(rounds * handle_seconds)
