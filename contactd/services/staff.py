"""Staff administration: who may sign in, with which role. Each person's token is shown once,
when it is issued; the store keeps only its hash.

A token is rotated on its own (a lost or leaked token), and re-enabling a disabled person is
another step, which always issues a new token: the token a person had when they were disabled
never works again. Who changed whose access is logged by login (staff, not clients).
"""

from __future__ import annotations

import asyncpg
import structlog

from contactd.clock import Clock
from contactd.store import staff
from contactd.store.staff import Role, Staff
from routing.errors import DomainError, Kind

log = structlog.get_logger(__name__)

# A supervisor issues tokens to the people they lead, and to themselves; a token of another
# supervisor or an admin would give them that person's access, so only an admin issues those.
_SUPERVISED = frozenset({Role.AGENT, Role.FRONTDESK})


class NotYourStaff(DomainError):
    kind = Kind.FORBIDDEN
    code = "forbidden"

    def __init__(self, person: Staff) -> None:
        super().__init__(
            f"a supervisor issues tokens to agents and front-desk staff only; "
            f"{person.login} is {person.role}: ask an admin"
        )


class StaffDirectory:
    def __init__(self, pool: asyncpg.Pool, *, clock: Clock) -> None:
        self._pool = pool
        self._clock = clock

    async def everyone(self) -> list[Staff]:
        return await staff.list_all(self._pool)

    async def add(self, *, login: str, name: str, role: Role) -> tuple[Staff, str]:
        """The new person and their token; StaffError if the login is taken or not allowed."""
        return await staff.add(self._pool, login=login, name=name, role=role, now=self._clock())

    async def disable(self, login: str, *, by: Staff) -> Staff:
        """Disable a person (their token stops working at once); StaffNotFound if none."""
        person = await staff.disable(self._pool, login, now=self._clock())
        log.info("staff.disabled", login=person.login, by=by.login)
        return person

    async def rotate(self, login: str, *, by: Staff) -> tuple[Staff, str]:
        """A new token for an active person, the old one invalid at once; StaffDisabled for a
        disabled person (who stays so), NotYourStaff for a supervisor's peer or an admin."""
        person = await staff.by_login(self._pool, login)
        if person is None:
            raise staff.StaffNotFound(login)
        if by.role is Role.SUPERVISOR and person.role not in _SUPERVISED and person.id != by.id:
            raise NotYourStaff(person)
        rotated, token = await staff.replace_token(self._pool, login, now=self._clock())
        log.info("staff.token_rotated", login=rotated.login, by=by.login)
        return rotated, token

    async def enable(self, login: str, *, by: Staff) -> tuple[Staff, str]:
        """A disabled person enabled with a new token; StaffNotDisabled if they are active."""
        person, token = await staff.enable(self._pool, login, now=self._clock())
        log.info("staff.enabled", login=person.login, by=by.login)
        return person, token

    async def token_of(self, staff_id: int) -> bytes | None:
        """The hash of the person's valid token; None once they are disabled."""
        return await staff.token_hash_of(self._pool, staff_id)
