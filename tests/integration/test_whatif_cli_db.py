"""`contactd whatif` on reality (issue 21): the traffic estimated from the database's history
of chosen days (--history) and the staffing from today's agent profiles (--staff-from-db),
run as a supervisor runs it (its own process) on a real PostgreSQL."""

from __future__ import annotations

import asyncpg
import pytest

from contactd.settings import Settings
from routing.contact import Channel
from tests.integration.command import contactd
from tests.integration.test_whatif_inputs import _agent, _history


async def _whatif(db_url: str, *args: str) -> tuple[int, str, str]:
    return await contactd(
        db_url, "whatif", "--seeds", "2", "--workers", "1", "--policy", "contactd", *args,
        CONTACTD_CLOCK_START="2026-12-01T08:00:00+01:00",
    )  # fmt: skip


async def test_the_history_and_todays_profiles_are_played(
    db_url: str, pool: asyncpg.Pool, config: Settings
) -> None:
    await _history(pool, config)
    phones = {Channel.CALL: 1, Channel.CALLBACK: 1}
    for n in range(6):
        await _agent(pool, f"phone{n}", phones, skills={"family": 4, "work": 3, "visa": 3})
    await _agent(pool, "mail", {Channel.EMAIL: 1}, skills={"study": 3})

    code, out, err = await _whatif(db_url, "--history", "2026-11-20..2026-11-23", "--staff-from-db")

    assert code == 0, err
    # What the history gave, and what it could not (e-mail's handling time: too few).
    assert "history 2026-11-20 to 2026-11-23: 2 working days, 2 closed not counted" in out
    assert "email: 10 contacts, 10 handled; shipped values kept: handle:" in out
    # The profiles as teams, and a day of the history's size (44 calls on 2 days).
    assert "staffing: 7 agents in 2 teams (today's agent profiles)" in out
    assert "traffic a day: 22 calls, 2 callbacks, 5 e-mails, 0 tickets" in out


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("--history", "2026-11-20"), "--history '2026-11-20': give FIRST..LAST"),
        (("--history", "2026-11-23..2026-11-20"), "the first day 2026-11-23 is after the last"),
        (("--history", "2026-11-21..2026-11-22"), "the phone's calendar is closed every day"),
        (("--staff-from-db",), "--staff-from-db: no agent profile with room on any channel"),
    ],
)
async def test_a_period_or_profiles_that_cannot_be_played_are_refused(
    db_url: str, args: tuple[str, ...], said: str
) -> None:
    code, _, err = await _whatif(db_url, *args)
    assert code == 2, err
    assert said in err
