"""Staff sessions: a personal token (or the agency's OpenID provider) exchanged once for a
session that lives in an HttpOnly cookie. It ends after `auth.session_idle_minutes` without a
request, `auth.session_hours` after sign-in, on sign-out here or everywhere, when an admin ends
it, and at once when its person is disabled.

Failed sign-ins are counted per login in the database (all instances together): over
`auth.failures_per_account` in the window, further tries for that login are refused until the
window has passed, even with the right token, so that guessing one account's token from many
addresses goes nowhere. The count per client address is the HTTP layer's (per instance)."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime, timedelta

import asyncpg
import structlog

from contactd.clock import Clock
from contactd.services.audit import Audit
from contactd.settings import AuthConfig
from contactd.store import sessions, staff
from contactd.store.sessions import LiveSession, Session
from contactd.store.staff import Role, Staff
from routing.errors import DomainError, Kind

log = structlog.get_logger(__name__)
LOGIN = r"[a-z0-9][a-z0-9._-]{0,62}"  # the staff table's check


class SignInFailed(DomainError):
    kind = Kind.UNAUTHORISED
    code = "sign_in_failed"

    def __init__(self) -> None:
        # One answer whatever was wrong: no telling which logins exist.
        super().__init__("the login and token do not match an active person")


class AccountLocked(DomainError):
    kind = Kind.TOO_MANY
    code = "too_many_failures"

    def __init__(self, until: datetime) -> None:
        super().__init__("too many failed sign-ins for this login; wait")
        self.until = until


class TokenSignInOff(DomainError):
    kind = Kind.FORBIDDEN
    code = "token_sign_in_off"

    def __init__(self) -> None:
        super().__init__("sign in with the agency's single sign-on")


class SessionNotFound(DomainError):
    kind = Kind.NOT_FOUND
    code = "not_found"

    def __init__(self) -> None:
        super().__init__("no such live session")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Started:
    key: str  # for the cookie only: never stored, logged or shown
    session: Session


class SignIn:
    def __init__(self, pool: asyncpg.Pool, *, clock: Clock, config: AuthConfig, audit: Audit):
        self._pool = pool
        self._clock = clock
        self._config = config
        self._audit = audit
        self.idle = timedelta(minutes=config.session_idle_minutes)
        self.lasts = timedelta(hours=config.session_hours)
        self._window = timedelta(minutes=config.failure_window_minutes)

    async def with_token(self, login: str, token: str) -> Started:
        """A session for the person whose login and personal token these are."""
        if not self._config.token_sign_in:
            raise TokenSignInOff()
        if not re.fullmatch(LOGIN, login):
            raise SignInFailed()  # no one's login: nothing to count it against or to record
        now = self._clock()
        failures, since = await sessions.failures(self._pool, login, now=now, window=self._window)
        if failures >= self._config.failures_per_account:
            raise AccountLocked(since + self._window)
        person = await staff.by_token(self._pool, token, now=now) if token.isascii() else None
        if person is None or person.login != login:
            await sessions.failed(self._pool, login, now=now, window=self._window)
            log.warning("session.sign_in_failed", login=login, via="token")
            await self._audit.record("system", "sign_in.failed", target=login)
            raise SignInFailed()
        return await self._start(person, via="token")

    async def by_provider(self, *, subject: str, login: str, name: str, role: Role) -> Started:
        """A session for the person the OpenID provider vouched for (made on first sign-in)."""
        person = await staff.signed_in_by_provider(
            self._pool, subject=subject, login=login, name=name, role=role, now=self._clock()
        )
        if person.disabled_at is not None:
            raise SignInFailed()
        return await self._start(person, via="oidc")

    async def _start(self, person: Staff, *, via: str) -> Started:
        now = self._clock()
        key, session_id, csrf = await sessions.start(
            self._pool, person, via=via, now=now, lasts=self.lasts
        )
        session = Session(
            id=session_id,
            person=person,
            via=via,
            csrf=csrf,
            created_at=now,
            last_seen_at=now,
            expires_at=now + self.lasts,
        )
        log.info("session.started", login=person.login, via=via, session=session_id)
        await self._audit.record(person, "session.started", details={"via": via})
        return Started(key=key, session=session)

    async def session(self, key: str) -> Session | None:
        """The live session of a cookie's key, or None."""
        return await sessions.live(self._pool, key, now=self._clock(), idle=self.idle)

    async def sign_out(self, session: Session, *, everywhere: bool) -> int:
        """End this session, or every session of its person; how many ended."""
        now = self._clock()
        if everywhere:
            ended = await sessions.end_all(self._pool, session.person.id, now=now, why="everywhere")
        else:
            ended = int(
                await sessions.end(self._pool, session.id, now=now, why="signed_out") is not None
            )
        action = "session.signed_out_everywhere" if everywhere else "session.signed_out"
        await self._audit.record(session.person, action, details={"ended": ended})
        return ended

    async def end(self, session_id: int, *, by: Staff) -> None:
        """An administrator ends someone's session."""
        ended = await sessions.end(
            self._pool, session_id, now=self._clock(), why=f"admin:{by.login}"
        )
        if ended is None:
            raise SessionNotFound()
        await self._audit.record(by, "session.ended", details={"session": session_id})

    async def end_all_of(self, person: Staff, *, why: str) -> int:
        return await sessions.end_all(self._pool, person.id, now=self._clock(), why=why)

    async def live(self) -> list[LiveSession]:
        return await sessions.live_sessions(self._pool, now=self._clock(), idle=self.idle)

    async def credentials_of(self, staff_id: int) -> frozenset[bytes]:
        """What may follow the person's desk now: their token's hash and live session keys'."""
        return await sessions.credentials_of(
            self._pool, staff_id, now=self._clock(), idle=self.idle
        )
