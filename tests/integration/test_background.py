"""LISTEN/NOTIFY wake-ups with reconnect, leadership by advisory lock, supervised tasks."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg
import pytest

from contactd.clock import Clock, FixedClock
from contactd.leader.election import Leadership
from contactd.metrics import NOT_RECORDED
from contactd.services.intake import Intake
from contactd.settings import Settings
from contactd.store.listener import CONTACTS_CHANNEL, Listener
from contactd.tasks import Supervisor
from routing.contact import Channel, Language, NewContact


async def _eventually(check: object, within: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not check():  # type: ignore[operator]
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


async def test_a_new_contact_wakes_a_listener_and_so_does_one_after_a_reconnect(
    db_url: str, pool: asyncpg.Pool, config: Settings, clock: Clock
) -> None:
    listener = Listener(db_url)
    router, board = listener.subscribe(CONTACTS_CHANNEL), listener.subscribe(CONTACTS_CHANNEL)
    supervisor = Supervisor()
    supervisor.start("listener", listener.run)
    try:
        await asyncio.wait_for(listener.connected.wait(), 5)
        await router.wait(within=0.01)  # the wake-up sent on connecting
        await board.wait(within=0.01)
        intake = Intake(pool, config, clock=clock, recorder=NOT_RECORDED)
        new = NewContact(channel=Channel.EMAIL, language=Language.DA, case_type="visa")
        await intake.submit(new, actor="test")
        assert await router.wait(within=5)
        assert await board.wait(within=1), "every subscriber is woken, not just the first"

        # The server drops the LISTEN connection: the listener comes back on its own.
        await pool.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND query LIKE 'LISTEN%'"
        )
        await _eventually(lambda: listener.reconnects >= 1 and listener.connected.is_set())
        await router.wait(within=0.5)
        await intake.submit(new, actor="test")
        assert await router.wait(within=5)
    finally:
        await supervisor.stop_all()


async def test_no_notification_means_wait_returns_false_after_its_time(db_url: str) -> None:
    listener = Listener(db_url)
    assert await listener.subscribe(CONTACTS_CHANNEL).wait(within=0.05) is False


async def test_one_of_two_instances_leads_and_the_other_takes_over(
    db_url: str, pool: asyncpg.Pool, clock: Clock
) -> None:
    ran: list[str] = []

    def loop_for(name: str) -> object:
        async def loop() -> None:
            ran.append(name)
            await asyncio.Event().wait()

        return loop

    first = Leadership(db_url, pool, lock_retry_seconds=0.1, heartbeat_seconds=0.2, clock=clock)
    second = Leadership(db_url, pool, lock_retry_seconds=0.1, heartbeat_seconds=0.2, clock=clock)
    first.add_loop("router", loop_for("first"))  # type: ignore[arg-type]
    second.add_loop("router", loop_for("second"))  # type: ignore[arg-type]
    supervisor = Supervisor()
    supervisor.start("first", first.run)
    await asyncio.wait_for(first.became_leader.wait(), 5)
    supervisor.start("second", second.run)
    try:
        await asyncio.sleep(0.5)
        assert (first.is_leader, second.is_leader) == (True, False)
        assert ran == ["first"]
        rows = await pool.fetch("SELECT id, is_leader FROM instances ORDER BY is_leader DESC")
        assert [(r["id"], r["is_leader"]) for r in rows] == [
            (first.instance_id, True),
            (second.instance_id, False),
        ]

        # The leader's lock connection dies (as when its process is killed).
        await pool.execute(
            "SELECT pg_terminate_backend(l.pid) FROM pg_locks l "
            "WHERE l.locktype = 'advisory' AND l.granted"
        )
        await asyncio.wait_for(second.became_leader.wait(), 5)
        await _eventually(lambda: not first.is_leader)
        assert ran[-1] == "second"
    finally:
        await supervisor.stop_all()
    assert await pool.fetchval("SELECT count(*) FROM instances") == 0


async def test_a_crashing_task_is_restarted_and_a_finished_one_is_not() -> None:
    runs = {"crashy": 0, "once": 0}

    async def crashy() -> None:
        runs["crashy"] += 1
        if runs["crashy"] < 3:
            raise RuntimeError("boom")
        await asyncio.Event().wait()

    async def once() -> None:
        runs["once"] += 1

    supervisor = Supervisor(max_backoff=0.01)
    supervisor.start("crashy", crashy)
    supervisor.start("once", once)
    await _eventually(lambda: runs["crashy"] == 3)
    await asyncio.sleep(0.05)
    assert runs["once"] == 1
    assert supervisor.running == ["crashy"]
    with pytest.raises(RuntimeError, match="running already"):
        supervisor.start("crashy", crashy)
    await supervisor.stop_all()
    assert supervisor.running == []


async def test_intake_sets_due_at_from_the_goal_and_calendar(
    pool: asyncpg.Pool, config: Settings
) -> None:
    friday_afternoon = datetime(2026, 11, 27, 13, 0, tzinfo=UTC)  # 14:00 in Copenhagen
    intake = Intake(pool, config, clock=FixedClock(friday_afternoon), recorder=NOT_RECORDED)
    mail, _ = await intake.submit(
        NewContact(
            channel=Channel.EMAIL,
            language=Language.EN,
            case_type="general",
            received_at=friday_afternoon,
        ),
        actor="test",
    )
    # general e-mail: 2 working days of the office calendar -> Tuesday 14:00 local.
    assert mail.due_at == datetime(2026, 12, 1, 13, 0, tzinfo=UTC)
    call, _ = await intake.submit(
        NewContact(
            channel=Channel.CALL,
            language=Language.DA,
            case_type="asylum",
            received_at=friday_afternoon,
        ),
        actor="test",
    )
    assert (call.queue, (call.due_at - friday_afternoon).total_seconds()) == ("asylum", 180)
