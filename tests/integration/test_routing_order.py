"""The order the router loads waiting contacts in is the engine's, in the database.

The router hands the engine its query's rows with `presorted=True`, so the query must give
exactly `order_of(CONTACTD, rules)`; and a batch smaller than what waits must hold the first
contacts of that order, the few with a priority of their own above their queue's among them.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import datetime, timedelta

import asyncpg

from contactd.clock import FixedClock
from contactd.leader import router
from contactd.leader.router import waiting_contact
from contactd.metrics import NOT_RECORDED
from contactd.services.intake import Intake
from contactd.settings import Settings
from contactd.store import agents, queries, staff
from contactd.store import contacts as store
from contactd.store.staff import Role
from routing.agents import AgentState
from routing.contact import CaseTypeSource, Channel, Language, NewContact
from routing.engine import CONTACTD, QueueRules, order_of
from tests.conftest import WORKDAY

NOW = WORKDAY


async def _mixed(pool: asyncpg.Pool, rules: Mapping[str, QueueRules], n: int) -> None:
    """`n` contacts of every queue and channel, most waiting: priorities at, below (kept
    through a transfer) and above (a ticket's bonus, kept through a transfer) their queue's;
    due times and entry times drawn from a few, so that every key of the order must break
    ties; some of a queue no longer configured, some booked for later, some being served."""
    rng = random.Random(21)  # noqa: S311 - a fixed mix of contacts, not security
    queues = [*sorted(rules), "closed_down"]
    later = NOW + timedelta(hours=1)
    for _ in range(n):
        queue = rng.choice(queues)
        base = rules[queue].priority if queue in rules else 10
        case_type = sorted(rules[queue].case_types)[0] if queue in rules else "general"
        contact, _ = await store.insert_contact(
            pool,
            channel=rng.choice(list(Channel)),
            external_id=None,
            case_type=case_type,
            case_type_source=CaseTypeSource.STAFF,
            confidence=None,
            language=Language.DA,
            queue=queue,
            priority=max(0, base + rng.choice([0, 0, 0, 3, 5, -10, 10])),
            due_at=NOW + timedelta(minutes=rng.choice([-5, 3, 3, 30, 240])),
            not_before=rng.choice([None] * 8 + [NOW - timedelta(hours=1), later]),
            created_at=NOW - timedelta(minutes=rng.choice([1, 2, 2, 60])),
            client_address=None,
            subject=None,
            text=None,
            actor="test",
            reason={},
        )
        if rng.random() < 0.05:
            await pool.execute("UPDATE contacts SET state = 'active' WHERE id = $1", contact.id)


def _in_engine_order(
    rows: list[asyncpg.Record], rules: Mapping[str, QueueRules], now: datetime
) -> list[int]:
    """What the router may route (queued, due to be offered, of a configured queue) in the
    engine's order, by id."""
    waiting = [
        waiting_contact(r)
        for r in rows
        if r["state"] == "queued"
        and r["queue"] in rules
        and (r["not_before"] is None or r["not_before"] <= now)
    ]
    return [c.id for c in sorted(waiting, key=order_of(CONTACTD, rules))]


async def test_the_routers_query_gives_the_engines_order_and_its_head_in_a_small_batch(
    pool: asyncpg.Pool, config: Settings
) -> None:
    rules = {q.code: q.rules() for q in config.queues}
    await _mixed(pool, rules, 400)
    expected = _in_engine_order(await pool.fetch("SELECT * FROM contacts"), rules, NOW)
    priorities = {q: r.priority for q, r in rules.items()}
    with_own = await pool.fetch(
        "SELECT id FROM contacts WHERE state = 'queued' AND priority > ($1::jsonb ->> queue)::int",
        priorities,
    )
    assert len(with_own) > 10, "the mix has contacts with a priority of their own"
    assert 200 < len(expected) < 400, "and contacts the router does not load"

    for batch in (1000, len(expected), 60, 7, 1):
        rows = await pool.fetch(queries.get("waiting_contacts"), batch, NOW, priorities, NOW)
        assert [r["id"] for r in rows] == expected[:batch], batch


async def _call(intake: Intake, case_type: str, due_in_minutes: int, priority: int = 0) -> int:
    new = NewContact(
        channel=Channel.CALL,
        language=Language.DA,
        case_type=case_type,
        priority=priority,
        due_at=NOW + timedelta(minutes=due_in_minutes),
    )
    contact, _ = await intake.submit(new, actor="test")
    return contact.id


async def _offered_to_one_agent(pool: asyncpg.Pool, config: Settings) -> list[int]:
    """The contacts one pass offers to an agent who takes any of them, one call at a time."""
    person, _ = await staff.add(pool, login="karin", name="Karin", role=Role.AGENT, now=NOW)
    await agents.save_profile(
        pool,
        person.id,
        skills={"family": 5, "asylum": 5, "general": 5},
        languages=frozenset({Language.DA}),
        capacity={Channel.CALL: 1},
        known_case_types=frozenset(config.case_types),
        now=NOW,
    )
    await agents.set_state(pool, person.id, AgentState.AVAILABLE, now=NOW)
    made = await router.route_once(
        pool,
        {q.code: q.rules() for q in config.queues},
        expiry_seconds=config.routing.offer_expiry_seconds,
        passed_over_seconds=config.routing.passed_over_seconds,
        batch_size=100,
        now=NOW,
    )
    return [o.contact_id for o in made]


async def test_a_family_call_due_sooner_is_offered_before_an_asylum_call_due_later(
    pool: asyncpg.Pool, config: Settings
) -> None:
    """Asylum's priority (30) is above family's (20), but only breaks ties: the call closer
    to breaking its promise goes first."""
    intake = Intake(pool, config, clock=FixedClock(NOW), recorder=NOT_RECORDED)
    await _call(intake, "asylum", due_in_minutes=3)
    family = await _call(intake, "family", due_in_minutes=2)
    assert await _offered_to_one_agent(pool, config) == [family]


async def test_a_priority_of_a_calls_own_goes_before_calls_due_sooner_in_any_queue(
    pool: asyncpg.Pool, config: Settings
) -> None:
    intake = Intake(pool, config, clock=FixedClock(NOW), recorder=NOT_RECORDED)
    await _call(intake, "asylum", due_in_minutes=1)
    await _call(intake, "family", due_in_minutes=2)
    urgent = await _call(intake, "general", due_in_minutes=60, priority=4)  # general's is 0
    assert await _offered_to_one_agent(pool, config) == [urgent]
