"""Staff administration: who may sign in, with which role. Each person's token is shown once,
when it is issued; the store keeps only its hash.

A token is rotated on its own (a lost or leaked token), and re-enabling a disabled person is
another step, which always issues a new token: the token a person had when they were disabled
never works again. Who changed whose access is logged by login (staff, not clients).
"""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import structlog

from contactd.clock import Clock
from contactd.services.audit import Audit
from contactd.store import sessions, staff
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


class OwnRole(DomainError):
    kind = Kind.CONFLICT
    code = "own_role"

    def __init__(self) -> None:
        super().__init__("you cannot change your own role: ask another admin")


class StaffDirectory:
    """Who may sign in: people, their roles, their tokens. Every change is written to the
    audit log with who made it, and logged by login."""

    def __init__(
        self, pool: asyncpg.Pool, *, clock: Clock, audit: Audit, token_lasts: timedelta
    ) -> None:
        self._pool = pool
        self._clock = clock
        self._audit = audit
        self._token_lasts = token_lasts

    async def everyone(self) -> list[Staff]:
        return await staff.list_all(self._pool)

    async def add(self, *, login: str, name: str, role: Role, by: Staff) -> tuple[Staff, str]:
        """The new person and their token; StaffError if the login is taken or not allowed."""
        now = self._clock()
        person, token = await staff.add(
            self._pool,
            login=login,
            name=name,
            role=role,
            now=now,
            expires_at=now + self._token_lasts,
        )
        log.info("staff.added", login=person.login, role=person.role, by=by.login)
        await self._audit.record(by, "staff.added", target=person.login, details={"role": role})
        return person, token

    async def change(self, login: str, *, name: str | None, role: Role | None, by: Staff) -> Staff:
        """A new name or role; OwnRole for an admin's own role (none may lock all admins out)."""
        if role is not None and login == by.login and role is not by.role:
            raise OwnRole()
        before = await self._person(login)
        person = await staff.change(self._pool, login, name=name, role=role)
        changed = {"role": [before.role, person.role]} if before.role is not person.role else {}
        log.info("staff.changed", login=person.login, by=by.login, **changed)
        await self._audit.record(by, "staff.changed", target=person.login, details=changed)
        return person

    async def disable(self, login: str, *, by: Staff) -> Staff:
        """Disable a person (their token and sessions stop working at once); StaffNotFound."""
        now = self._clock()
        person = await staff.disable(self._pool, login, now=now)
        await sessions.end_all(self._pool, person.id, now=now, why="disabled")
        log.info("staff.disabled", login=person.login, by=by.login)
        await self._audit.record(by, "staff.disabled", target=person.login)
        return person

    async def rotate(self, login: str, *, by: Staff) -> tuple[Staff, str]:
        """A new token for an active person, the old one invalid at once; StaffDisabled for a
        disabled person (who stays so), NotYourStaff for a supervisor's peer or an admin."""
        self._may_issue(await self._person(login), by)
        now = self._clock()
        rotated, token = await staff.replace_token(
            self._pool, login, now=now, expires_at=now + self._token_lasts
        )
        log.info("staff.token_rotated", login=rotated.login, by=by.login)
        await self._audit.record(by, "staff.token_issued", target=rotated.login)
        return rotated, token

    async def revoke(self, login: str, *, by: Staff) -> Staff:
        """The person's token stops working (their sessions go on); NotYourStaff as above."""
        self._may_issue(await self._person(login), by)
        person = await staff.revoke_token(self._pool, login, now=self._clock())
        log.info("staff.token_revoked", login=person.login, by=by.login)
        await self._audit.record(by, "staff.token_revoked", target=person.login)
        return person

    async def enable(self, login: str, *, by: Staff) -> tuple[Staff, str]:
        """A disabled person enabled with a new token; StaffNotDisabled if they are active."""
        now = self._clock()
        person, token = await staff.enable(
            self._pool, login, now=now, expires_at=now + self._token_lasts
        )
        log.info("staff.enabled", login=person.login, by=by.login)
        await self._audit.record(by, "staff.enabled", target=person.login)
        return person, token

    async def _person(self, login: str) -> Staff:
        person = await staff.by_login(self._pool, login)
        if person is None:
            raise staff.StaffNotFound(login)
        return person

    @staticmethod
    def _may_issue(person: Staff, by: Staff) -> None:
        if by.role is Role.SUPERVISOR and person.role not in _SUPERVISED and person.id != by.id:
            raise NotYourStaff(person)
