"""What only the leader runs: the election, and the loops it starts (the router, timers,
outbox and retention)."""
