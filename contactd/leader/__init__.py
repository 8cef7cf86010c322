"""What only the leader runs: the election (election.py), and the loops it starts, each built
by its factory in loops.py: the router, the offer timers, the mailboxes, the tickets, the
surveys, retention, the statistics and the outbox."""
