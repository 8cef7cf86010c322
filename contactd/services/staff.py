"""Staff administration: who may sign in, with which role. Each person's token is shown once,
when they are added; the store keeps only its hash."""

from __future__ import annotations

import asyncpg

from contactd.clock import Clock
from contactd.store import staff
from contactd.store.staff import Role, Staff


class StaffDirectory:
    def __init__(self, pool: asyncpg.Pool, *, clock: Clock) -> None:
        self._pool = pool
        self._clock = clock

    async def everyone(self) -> list[Staff]:
        return await staff.list_all(self._pool)

    async def add(self, *, login: str, name: str, role: Role) -> tuple[Staff, str]:
        """The new person and their token; StaffError if the login is taken or not allowed."""
        return await staff.add(self._pool, login=login, name=name, role=role, now=self._clock())

    async def disable(self, login: str) -> Staff:
        """Disable a person (their token stops working at once); StaffNotFound if none."""
        return await staff.disable(self._pool, login, now=self._clock())
