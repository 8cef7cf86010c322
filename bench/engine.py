"""One pass of the routing engine over 10,000 waiting contacts and 1,000 agents.

    .venv/bin/python -m bench.engine [--contacts 10000] [--agents 1000] [--repeat 30]

The contacts are given most urgent first, as the router's query returns them. Two
situations: every agent available with room on every channel (thousands of offers in
one pass), and a busy centre where only one agent in ten has room (the usual case: most
passes find few free agents). The agency's real queues and case types are used; skills,
languages, waits and deadlines are drawn at random with a fixed seed.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

from contactd import settings
from routing.agents import AgentView
from routing.contact import Channel, Language
from routing.engine import BullseyeStep, QueueRules, WaitingContact, route

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def situation(
    n_contacts: int, n_agents: int, share_free: float, rng: random.Random
) -> tuple[list[WaitingContact], list[AgentView], dict[str, QueueRules]]:
    config = settings.load()
    queues = {
        q.code: QueueRules(
            code=q.code,
            case_types=q.case_types,
            bullseye=(
                BullseyeStep(after_seconds=0, level=3),
                BullseyeStep(after_seconds=120, level=1),
            ),
            overflow_to=q.overflow_to,
            overflow_after_seconds=q.overflow_after_seconds,
        )
        for q in config.queues
    }
    queue_of = {ct: q.code for q in config.queues for ct in q.case_types}
    case_types = list(config.case_types)
    contacts = []
    for i in range(n_contacts):
        waited = rng.uniform(0, 1800)
        contacts.append(
            WaitingContact(
                id=i,
                channel=rng.choice(list(Channel)),
                language=Language.DA if rng.random() < 0.8 else Language.EN,
                case_type=(ct := rng.choice(case_types)),
                queue=queue_of[ct],
                priority=rng.choice([0, 0, 0, 1]),
                due_at=NOW
                - timedelta(seconds=waited)
                + timedelta(seconds=rng.choice([300, 1800, 86400])),
                waiting_since=NOW - timedelta(seconds=waited),
            )
        )
    agents = []
    for i in range(n_agents):
        has_room = rng.random() < share_free
        agents.append(
            AgentView(
                id=i,
                skills={ct: rng.randint(1, 5) for ct in rng.sample(case_types, rng.randint(2, 5))},
                languages=frozenset(
                    {Language.DA, Language.EN} if rng.random() < 0.6 else {Language.DA}
                ),
                free={Channel.CALL: 1, Channel.CALLBACK: 1, Channel.EMAIL: 3, Channel.TICKET: 1}
                if has_room
                else {},
                idle_since=NOW - timedelta(seconds=rng.uniform(0, 3600)),
            )
        )
    return contacts, agents, queues


def measure(contacts, agents, queues, repeat: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    # In the daemon the contacts come from the router's query, most urgent first.
    contacts = sorted(contacts, key=lambda c: (-c.priority, c.due_at, c.waiting_since, c.id))
    times = []
    offers = 0
    for _ in range(repeat):
        start = time.perf_counter()
        offers = len(route(contacts, agents, queues, NOW, presorted=True))
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {
        "offers_per_pass": offers,
        "median_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
        "min_ms": round(times[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--agents", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    rng = random.Random(2026)
    result = {}
    for name, share in (("all_agents_free", 1.0), ("one_agent_in_ten_free", 0.1)):
        contacts, agents, queues = situation(args.contacts, args.agents, share, rng)
        result[name] = measure(contacts, agents, queues, args.repeat)
    print(json.dumps({"contacts": args.contacts, "agents": args.agents, **result}, indent=2))
    print("aim: one pass under 20 ms")


if __name__ == "__main__":
    main()
