"""The contact life cycle in the database: every transition is one transaction with its event."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
import pytest

from contactd.metrics import NOT_RECORDED
from contactd.store import contacts as store
from contactd.store import staff
from contactd.store.staff import Role
from routing.contact import (
    Action,
    CaseTypeSource,
    Channel,
    Contact,
    IllegalTransition,
    Language,
    State,
)
from tests.conftest import WORKDAY

NOW = WORKDAY  # every contact here is made, and moved on, at this one time


async def _contact(pool: asyncpg.Pool, external_id: str | None = None) -> Contact:
    contact, created = await store.insert_contact(
        pool,
        channel=Channel.EMAIL,
        external_id=external_id,
        case_type="family",
        case_type_source=CaseTypeSource.STAFF,
        confidence=None,
        language=Language.DA,
        queue="family",
        priority=0,
        due_at=NOW + timedelta(days=2),
        created_at=NOW,
        client_address="someone@example.org",
        subject="Ægtefællesammenføring",
        text="Hvor langt er min sag?",
        actor="test",
        reason={},
    )
    assert created
    return contact


@pytest.fixture
async def agent_id(pool: asyncpg.Pool) -> int:
    person, _ = await staff.add(pool, login="karin", name="Karin Holm", role=Role.AGENT, now=NOW)
    return person.id


async def test_a_contact_goes_through_its_whole_life_with_an_event_each_step(
    pool: asyncpg.Pool, agent_id: int
) -> None:
    c = await _contact(pool)
    assert c.state is State.QUEUED
    c = await store.transition(
        pool,
        c.id,
        Action.OFFER,
        now=NOW,
        actor="router",
        agent_id=agent_id,
        reason={"rule": "skill", "level": 3},
        recorder=NOT_RECORDED,
    )
    assert (c.state, c.agent_id) == (State.OFFERED, agent_id)
    c = await store.transition(
        pool, c.id, Action.DECLINE, now=NOW, actor="staff:karin", recorder=NOT_RECORDED
    )
    assert (c.state, c.agent_id) == (State.QUEUED, None)
    c = await store.transition(
        pool,
        c.id,
        Action.OFFER,
        now=NOW,
        actor="router",
        agent_id=agent_id,
        reason={"rule": "skill"},
        recorder=NOT_RECORDED,
    )
    accepted, finished = NOW + timedelta(minutes=1), NOW + timedelta(minutes=9)
    c = await store.transition(
        pool, c.id, Action.ACCEPT, now=accepted, actor="staff:karin", recorder=NOT_RECORDED
    )
    assert c.state is State.ACTIVE
    assert c.attempts == 1
    c = await store.transition(
        pool,
        c.id,
        Action.FINISH,
        now=finished,
        actor="staff:karin",
        outcome="answered",
        recorder=NOT_RECORDED,
    )
    assert (c.state, c.outcome) == (State.DONE, "answered")

    history = await store.events(pool, c.id)
    assert [(e.action, e.from_state, e.to_state) for e in history] == [
        ("created", None, State.QUEUED),
        ("offer", State.QUEUED, State.OFFERED),
        ("decline", State.OFFERED, State.QUEUED),
        ("offer", State.QUEUED, State.OFFERED),
        ("accept", State.OFFERED, State.ACTIVE),
        ("finish", State.ACTIVE, State.DONE),
    ]
    assert history[1].reason == {"rule": "skill", "level": 3}
    assert history[-1].actor == "staff:karin"
    row = await pool.fetchrow("SELECT answered_at, closed_at FROM contacts WHERE id = $1", c.id)
    assert row is not None
    assert (row["answered_at"], row["closed_at"]) == (accepted, finished)
    assert [e.at for e in history[-2:]] == [accepted, finished]


async def test_an_illegal_transition_is_refused_and_changes_nothing(
    pool: asyncpg.Pool,
) -> None:
    c = await _contact(pool)
    with pytest.raises(IllegalTransition) as refused:
        await store.transition(
            pool,
            c.id,
            Action.FINISH,
            now=NOW,
            actor="staff:karin",
            outcome="answered",
            recorder=NOT_RECORDED,
        )
    assert c.reference in str(refused.value)
    assert "it is queued" in str(refused.value)
    after = await store.get_by_id(pool, c.id)
    assert after.state is State.QUEUED
    assert [e.action for e in await store.events(pool, c.id)] == ["created"]


async def test_a_closed_contact_cannot_be_reopened(pool: asyncpg.Pool) -> None:
    c = await _contact(pool)
    await store.abandon(
        pool, c.id, now=NOW, actor="twilio", why="caller hung up", recorder=NOT_RECORDED
    )
    for action in Action:
        with pytest.raises(IllegalTransition):
            await store.transition(
                pool, c.id, action, now=NOW, actor="x", agent_id=1, recorder=NOT_RECORDED
            )
    assert (await store.get_by_id(pool, c.id)).state is State.ABANDONED


async def test_cancel_records_the_contact_it_was_merged_into(pool: asyncpg.Pool) -> None:
    first, second = await _contact(pool), await _contact(pool)
    c = await store.cancel(
        pool, second.id, now=NOW, actor="intake", merged_into=first.reference, recorder=NOT_RECORDED
    )
    assert (c.state, c.outcome) == (State.CANCELLED, "merged")
    assert (await store.events(pool, c.id))[-1].reason == {"merged_into": first.reference}


async def test_the_same_external_id_never_makes_a_second_contact(pool: asyncpg.Pool) -> None:
    first = await _contact(pool, external_id="<abc@mail.example>")
    again, created = await store.insert_contact(
        pool,
        channel=Channel.EMAIL,
        external_id="<abc@mail.example>",
        case_type="visa",
        case_type_source=CaseTypeSource.CLASSIFIER,
        confidence=0.9,
        language=Language.EN,
        queue="visa",
        priority=0,
        due_at=NOW,
        created_at=NOW,
        client_address=None,
        subject=None,
        text=None,
        actor="imap",
        reason={},
    )
    assert not created
    assert again.reference == first.reference
    assert again.case_type == "family"
    assert await pool.fetchval("SELECT count(*) FROM contacts") == 1
    assert await pool.fetchval("SELECT count(*) FROM contact_events") == 1


async def test_concurrent_offers_of_one_contact_let_exactly_one_win(
    pool: asyncpg.Pool, agent_id: int
) -> None:
    c = await _contact(pool)
    other, _ = await staff.add(pool, login="jens", name="Jens", role=Role.AGENT, now=NOW)
    results = await asyncio.gather(
        store.transition(
            pool,
            c.id,
            Action.OFFER,
            now=NOW,
            actor="router",
            agent_id=agent_id,
            recorder=NOT_RECORDED,
        ),
        store.transition(
            pool,
            c.id,
            Action.OFFER,
            now=NOW,
            actor="router",
            agent_id=other.id,
            recorder=NOT_RECORDED,
        ),
        return_exceptions=True,
    )
    won = [r for r in results if isinstance(r, Contact)]
    lost = [r for r in results if isinstance(r, IllegalTransition)]
    assert len(won) == 1
    assert len(lost) == 1
    assert [e.action for e in await store.events(pool, c.id)] == ["created", "offer"]


async def test_an_unknown_contact_is_reported_as_not_found(pool: asyncpg.Pool) -> None:
    with pytest.raises(store.ContactNotFound):
        await store.transition(
            pool, 123456, Action.ACCEPT, now=NOW, actor="x", recorder=NOT_RECORDED
        )
