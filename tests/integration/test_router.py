"""Routing in the database: offers made by the leader's router, re-checked by PostgreSQL."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from contactd.clock import Clock, FixedClock
from contactd.leader import router, timers
from contactd.metrics import NOT_RECORDED
from contactd.services.intake import Intake
from contactd.settings import Settings
from contactd.store import agents, queries, staff
from contactd.store import contacts as store
from contactd.store.agents import AgentError
from contactd.store.staff import Role
from routing.agents import AgentState
from routing.contact import Action, Channel, Language, NewContact
from routing.engine import Offer, Reason
from tests.conftest import WORKDAY, token_for

CAPACITY = {Channel.CALL: 1, Channel.CALLBACK: 1, Channel.EMAIL: 3, Channel.TICKET: 1}


@pytest.fixture
def still() -> FixedClock:
    """Time standing still at the test's WORKDAY; a test moves it on where time must pass."""
    return FixedClock(WORKDAY)


async def _agent(
    pool: asyncpg.Pool,
    config: Settings,
    clock: Clock,
    login: str,
    skills: dict[str, int],
    *,
    available: bool = True,
) -> int:
    person, _ = await staff.add(pool, login=login, name=login.title(), role=Role.AGENT, now=clock())
    await agents.save_profile(
        pool,
        person.id,
        skills=skills,
        languages=frozenset({Language.DA, Language.EN}),
        capacity=CAPACITY,
        known_case_types=frozenset(config.case_types),
        now=clock(),
    )
    if available:
        await agents.set_state(pool, person.id, AgentState.AVAILABLE, now=clock())
    return person.id


async def _contacts(
    pool: asyncpg.Pool, config: Settings, clock: Clock, n: int, **fields: object
) -> None:
    intake = Intake(pool, config, clock=clock, recorder=NOT_RECORDED)
    for _ in range(n):
        new = NewContact(**{"channel": Channel.EMAIL, "language": Language.DA, **fields})  # type: ignore[arg-type]
        await intake.submit(new, actor="test")


async def _route(
    pool: asyncpg.Pool, config: Settings, clock: Clock, *, at: datetime | None = None
) -> list[object]:
    """One routing pass at the clock's now, or `at`."""
    return await router.route_once(  # type: ignore[return-value]
        pool,
        {q.code: q.rules() for q in config.queues},
        expiry_seconds=config.routing.offer_expiry_seconds,
        passed_over_seconds=config.routing.passed_over_seconds,
        batch_size=1000,
        now=at or clock(),
    )


async def _held(pool: asyncpg.Pool) -> Counter[tuple[int, str]]:
    rows = await pool.fetch(
        "SELECT agent_id, channel FROM contacts WHERE state IN ('offered', 'active')"
    )
    return Counter((r["agent_id"], r["channel"]) for r in rows)


async def test_offers_go_to_skilled_agents_within_their_capacity_with_reason_and_expiry(
    pool: asyncpg.Pool, config: Settings, still: FixedClock
) -> None:
    expert = await _agent(pool, config, still, "karin", {"family": 5})
    await _agent(pool, config, still, "jens", {"visa": 5})
    await _agent(pool, config, still, "offline", {"family": 5}, available=False)
    await _contacts(pool, config, still, 5, case_type="family")

    offers = await _route(pool, config, still)

    assert len(offers) == 3  # karin takes three e-mails at once; nobody else knows family
    assert await _held(pool) == Counter({(expert, "email"): 3})
    row = await pool.fetchrow(
        "SELECT o.reason, o.expires_at - o.offered_at AS ttl, e.reason AS event_reason "
        "FROM offers o JOIN contact_events e ON e.contact_id = o.contact_id AND e.action = 'offer' "
        "LIMIT 1"
    )
    assert row is not None
    assert row["ttl"].total_seconds() == config.routing.offer_expiry_seconds[Channel.EMAIL]
    assert row["reason"] == row["event_reason"]
    assert row["reason"]["rule"] == "skill"
    assert row["reason"]["required_level"] == 3  # family's first bullseye step
    assert await pool.fetchval("SELECT count(*) FROM contacts WHERE state = 'queued'") == 2


async def test_two_routers_at_once_never_offer_twice_or_beyond_capacity(
    pool: asyncpg.Pool, config: Settings, still: FixedClock
) -> None:
    team = [await _agent(pool, config, still, f"a{i}", {"visa": 3, "general": 2}) for i in range(4)]
    await _contacts(pool, config, still, 30, case_type="visa")
    await _contacts(pool, config, still, 10, case_type="visa", channel=Channel.TICKET)

    for _ in range(3):
        await asyncio.gather(_route(pool, config, still), _route(pool, config, still))

    held = await _held(pool)
    for agent_id in team:
        for channel, capacity in CAPACITY.items():
            assert held[(agent_id, channel)] <= capacity
    assert sum(held.values()) == 4 * (3 + 1)  # every agent full on e-mail and tickets
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM (SELECT contact_id FROM offers GROUP BY contact_id "
            "HAVING count(*) > 1) twice"
        )
        == 0
    )


async def test_a_skill_level_out_of_range_or_an_unknown_case_type_is_refused(
    pool: asyncpg.Pool, config: Settings, still: FixedClock
) -> None:
    person, _ = await staff.add(pool, login="karin", name="Karin", role=Role.AGENT, now=still())
    known = frozenset(config.case_types)
    with pytest.raises(AgentError, match="must be 1-5, not 7"):
        await agents.save_profile(
            pool,
            person.id,
            skills={"family": 7},
            languages=frozenset({Language.DA}),
            capacity=CAPACITY,
            known_case_types=known,
            now=still(),
        )
    with pytest.raises(AgentError, match="unknown case type 'pets'"):
        await agents.save_profile(
            pool,
            person.id,
            skills={"pets": 2},
            languages=frozenset({Language.DA}),
            capacity=CAPACITY,
            known_case_types=known,
            now=still(),
        )
    assert await agents.get(pool, person.id) is None


async def test_the_leader_offers_a_new_contact_as_soon_as_it_arrives(
    client: TestClient[web.Request, web.Application],
    app_pool: asyncpg.Pool,
    config: Settings,
    clock: Clock,
) -> None:
    agent_id = await _agent(app_pool, config, clock, "karin", {"asylum": 4})
    auth = await token_for(app_pool, "frida", Role.FRONTDESK, now=clock())
    response = await client.post(
        "/api/contacts", json={"channel": "ticket", "case_type": "asylum"}, headers=auth
    )
    reference = (await response.json())["reference"]
    for _ in range(100):
        row = await app_pool.fetchrow(
            "SELECT state, agent_id FROM contacts WHERE reference = $1", reference
        )
        assert row is not None
        state, held_by = row
        if state == "offered":
            break
        await asyncio.sleep(0.05)
    assert (state, held_by) == ("offered", agent_id)


async def test_routers_with_different_views_never_fill_an_agent_beyond_capacity(
    pool: asyncpg.Pool, config: Settings, still: FixedClock
) -> None:
    """Two routers each decide a different call for the same agent (one call at a time):
    the database lets exactly one offer through."""
    agent_id = await _agent(pool, config, still, "karin", {"family": 5})
    await _contacts(pool, config, still, 2, case_type="family", channel=Channel.CALL)
    ids = [r["id"] for r in await pool.fetch("SELECT id FROM contacts ORDER BY id")]
    reason = Reason("skill", 0, 3, 5, 0.0, "family")
    made = await asyncio.gather(
        *(
            router.make_offers(
                pool, [Offer(cid, agent_id, *reason)], config.routing.offer_expiry_seconds, still()
            )
            for cid in ids
        )
    )
    assert sorted(len(m) for m in made) == [0, 1]
    assert await _held(pool) == Counter({(agent_id, "call"): 1})


async def test_a_router_waits_for_another_routers_open_batch_on_the_same_agent(
    pool: asyncpg.Pool, config: Settings, still: FixedClock
) -> None:
    """Router A has offered a call to the agent but not committed yet; router B's offer of
    another call to the same agent must wait for A and then be refused, not slip past."""
    agent_id = await _agent(pool, config, still, "karin", {"family": 5})
    await _contacts(pool, config, still, 2, case_type="family", channel=Channel.CALL)
    first, second = [r["id"] for r in await pool.fetch("SELECT id FROM contacts ORDER BY id")]
    reason = Reason("skill", 0, 3, 5, 0.0, "family")
    expiry = config.routing.offer_expiry_seconds
    async with pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        await conn.execute(queries.get("lock_agents"), [agent_id])
        offered = await conn.fetch(
            queries.get("offer_contact"),
            first,
            agent_id,
            reason.as_dict(),
            {str(c): s for c, s in expiry.items()},
            still(),
        )
        assert len(offered) == 1
        other = asyncio.create_task(
            router.make_offers(pool, [Offer(second, agent_id, *reason)], expiry, still())
        )
        await asyncio.sleep(0.3)
        assert not other.done(), "router B must wait for A's lock on the agent"
        await transaction.commit()
    assert await other == []
    assert await _held(pool) == Counter({(agent_id, "call"): 1})


async def test_a_declined_contact_goes_to_someone_else_keeping_its_place(
    pool: asyncpg.Pool, config: Settings, still: FixedClock
) -> None:
    karin = await _agent(pool, config, still, "karin", {"family": 5})
    await _contacts(pool, config, still, 1, case_type="family", channel=Channel.CALL)
    [offer] = await _route(pool, config, still)
    assert offer.agent_id == karin  # type: ignore[attr-defined]
    queued_at = await pool.fetchval("SELECT queued_at FROM contacts")
    await store.transition(
        pool,
        offer.contact_id,  # type: ignore[attr-defined]
        Action.DECLINE,
        now=still(),
        actor="staff:karin",
        recorder=NOT_RECORDED,
    )

    assert await pool.fetchval("SELECT outcome FROM offers") == "declined"
    assert await _route(pool, config, still) == [], "not back to the agent who declined it"
    jens = await _agent(pool, config, still, "jens", {"family": 3})  # less skilled, but there
    [again] = await _route(pool, config, still)
    assert (again.contact_id, again.agent_id) == (offer.contact_id, jens)  # type: ignore[attr-defined]
    assert await pool.fetchval("SELECT queued_at FROM contacts") == queued_at
    outcomes = await pool.fetch("SELECT outcome FROM offers ORDER BY id")
    assert [r["outcome"] for r in outcomes] == ["declined", None]


async def test_a_contact_only_the_decliner_can_take_comes_back_to_them_after_a_while(
    pool: asyncpg.Pool, config: Settings, still: FixedClock
) -> None:
    # The one caseworker who can take it declines (or lets it expire): it does not wait for
    # ever; after routing.passed_over_seconds from the pass it is offered to them again.
    karin = await _agent(pool, config, still, "karin", {"family": 5})
    await _contacts(pool, config, still, 1, case_type="family", channel=Channel.EMAIL)
    [offer] = await _route(pool, config, still)
    await store.transition(
        pool, offer.contact_id, Action.DECLINE, now=still(), actor="staff:karin",  # type: ignore[attr-defined]
        recorder=NOT_RECORDED,
    )  # fmt: skip
    passed_over = timedelta(seconds=config.routing.passed_over_seconds)

    assert await _route(pool, config, still, at=still() + passed_over - timedelta(seconds=1)) == []
    [again] = await _route(pool, config, still, at=still() + passed_over)
    assert (again.contact_id, again.agent_id) == (offer.contact_id, karin)  # type: ignore[attr-defined]


async def test_an_expired_offer_requeues_the_contact_and_three_misses_set_the_agent_away(
    pool: asyncpg.Pool, config: Settings, still: FixedClock
) -> None:
    agent_id = await _agent(pool, config, still, "karin", {"family": 5})
    await _contacts(pool, config, still, 3, case_type="family", channel=Channel.CALL)
    missed = []
    for attempt in range(1, 4):
        [offer] = await _route(pool, config, still)  # each call in turn: not one she let expire
        missed.append(offer.contact_id)  # type: ignore[attr-defined]
        still.advance(seconds=config.routing.offer_expiry_seconds[Channel.CALL] - 1)
        assert (
            await timers.expire_offers(pool, now=still(), max_missed=3, recorder=NOT_RECORDED) == 0
        )
        still.advance(seconds=1)  # she let it ring out
        assert (
            await timers.expire_offers(pool, now=still(), max_missed=3, recorder=NOT_RECORDED) == 1
        )
        row = await pool.fetchrow(
            "SELECT state, missed_offers FROM agents WHERE staff_id = $1", agent_id
        )
        assert row is not None
        agent_state, misses = row
        assert misses == attempt
        assert agent_state == ("away" if attempt == 3 else "available")
    assert len(set(missed)) == 3
    assert await pool.fetchval("SELECT count(*) FROM contacts WHERE state = 'queued'") == 3
    assert await _route(pool, config, still) == []  # nobody there to take them
    history = [e.action for e in await store.events(pool, missed[0])]
    assert history == ["created", "offer", "expire"]


async def test_wrap_up_ends_after_its_time(
    pool: asyncpg.Pool, config: Settings, still: FixedClock
) -> None:
    agent_id = await _agent(pool, config, still, "karin", {"family": 5})
    await agents.set_state(pool, agent_id, AgentState.WRAP_UP, now=still())
    still.advance(minutes=59)
    assert await timers.end_wrap_ups(pool, now=still(), wrap_up_seconds=3600) == 0
    still.advance(minutes=1)
    assert await timers.end_wrap_ups(pool, now=still(), wrap_up_seconds=3600) == 1
    assert (await agents.get(pool, agent_id)).state is AgentState.AVAILABLE  # type: ignore[union-attr]


async def test_expiry_read_before_a_decline_does_not_expire_the_new_offer(
    pool: asyncpg.Pool, config: Settings, still: FixedClock
) -> None:
    """The timer read the due offer; then the agent declined and the router offered the
    contact anew. The stale read must not expire the new offer or count a miss."""
    await _agent(pool, config, still, "karin", {"family": 5})
    await _contacts(pool, config, still, 1, case_type="family", channel=Channel.CALL)
    [offer] = await _route(pool, config, still)
    still.advance(seconds=config.routing.offer_expiry_seconds[Channel.CALL])
    [stale] = await pool.fetch(queries.get("due_offers"), 10, still())
    await store.transition(
        pool,
        offer.contact_id,  # type: ignore[attr-defined]
        Action.DECLINE,
        now=still(),
        actor="staff:karin",
        recorder=NOT_RECORDED,
    )
    await _agent(pool, config, still, "jens", {"family": 3})
    [anew] = await _route(pool, config, still)

    assert (
        await timers.expire_offer(pool, stale, now=still(), max_missed=3, recorder=NOT_RECORDED)
        is False
    )
    rows = await pool.fetch("SELECT outcome FROM offers ORDER BY id")
    assert [r["outcome"] for r in rows] == ["declined", None]
    assert await pool.fetchval("SELECT sum(missed_offers) FROM agents") == 0
    assert anew.contact_id == offer.contact_id  # type: ignore[attr-defined]
