"""Staff and their sign-in tokens: random, shown once, stored only as a hash."""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import secrets
from datetime import datetime

import asyncpg

from contactd.store import database, queries
from routing.errors import DomainError, Kind

TOKEN_PREFIX = "cdt_"  # noqa: S105 - a prefix, not a secret; lets secret scanners and people recognise a contactd token


class Role(enum.StrEnum):
    AGENT = "agent"
    FRONTDESK = "frontdesk"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Staff:
    id: int
    login: str
    name: str
    role: Role
    created_at: datetime
    token_at: datetime | None
    disabled_at: datetime | None
    token_expires_at: datetime | None = None
    oidc_subject: str | None = None

    @property
    def actor(self) -> str:
        """How this person appears in a contact's event log."""
        return f"staff:{self.login}"


class StaffError(DomainError):
    """A staff command that cannot be done; the message says why."""

    kind = Kind.CONFLICT
    code = "conflict"


class StaffNotFound(StaffError):
    kind = Kind.NOT_FOUND
    code = "not_found"

    def __init__(self, login: str) -> None:
        super().__init__(f"no staff member with login {login!r}")


class StaffDisabled(StaffError):
    code = "staff_disabled"

    def __init__(self, login: str) -> None:
        super().__init__(f"{login} is disabled; enabling them issues a new token")


class StaffNotDisabled(StaffError):
    code = "staff_not_disabled"

    def __init__(self, login: str) -> None:
        super().__init__(f"{login} is not disabled; to give them a new token, rotate it")


def staff_from_row(row: asyncpg.Record) -> Staff:
    return Staff(
        id=row["id"],
        login=row["login"],
        name=row["name"],
        role=Role(row["role"]),
        created_at=row["created_at"],
        token_at=row["token_at"],
        disabled_at=row["disabled_at"],
        token_expires_at=row["token_expires_at"],
        oidc_subject=row["oidc_subject"],
    )


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> bytes:
    # The token has 256 random bits, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(token.encode()).digest()


async def add(
    db: database.Conn | asyncpg.Pool,
    *,
    login: str,
    name: str,
    role: Role,
    now: datetime,
    expires_at: datetime | None = None,
) -> tuple[Staff, str]:
    """Create a person; return them and their token, which is not stored and never shown
    again. It works until `expires_at` (None: until rotated)."""
    token = new_token()
    try:
        row = await db.fetchrow(
            queries.get("insert_staff"), login, name, role, hash_token(token), now, expires_at
        )
    except asyncpg.UniqueViolationError:
        raise StaffError(f"a staff member with login {login!r} exists already") from None
    except asyncpg.CheckViolationError:
        raise StaffError(
            f"login {login!r} is not allowed: use 1-63 lower-case letters, digits, '.', '_' or '-'"
        ) from None
    if row is None:  # INSERT ... RETURNING always returns the row
        raise RuntimeError("insert_staff returned no row")
    return staff_from_row(row), token


async def by_login(db: database.Conn | asyncpg.Pool, login: str) -> Staff | None:
    row = await db.fetchrow(queries.get("staff_by_login"), login)
    return staff_from_row(row) if row else None


async def by_token(db: database.Conn | asyncpg.Pool, token: str, *, now: datetime) -> Staff | None:
    """The active person this token belongs to, or None (unknown, expired, or disabled)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    row = await db.fetchrow(queries.get("staff_by_token"), hash_token(token), now)
    return staff_from_row(row) if row else None


async def list_all(db: database.Conn | asyncpg.Pool) -> list[Staff]:
    return [staff_from_row(r) for r in await db.fetch(queries.get("list_staff"))]


async def disable(db: database.Conn | asyncpg.Pool, login: str, *, now: datetime) -> Staff:
    row = await db.fetchrow(queries.get("disable_staff"), login, now)
    if row is None:
        raise StaffNotFound(login)
    return staff_from_row(row)


async def replace_token(
    db: database.Conn | asyncpg.Pool,
    login: str,
    *,
    now: datetime,
    expires_at: datetime | None = None,
) -> tuple[Staff, str]:
    """Issue an active person a new token (the old one stops working at once). A disabled
    person is not enabled by it: StaffDisabled (use `enable`)."""
    token = new_token()
    row = await db.fetchrow(
        queries.get("rotate_staff_token"), login, hash_token(token), now, expires_at
    )
    if row is None:
        raise await _why_not(db, login, StaffDisabled(login))
    return staff_from_row(row), token


async def enable(
    db: database.Conn | asyncpg.Pool,
    login: str,
    *,
    now: datetime,
    expires_at: datetime | None = None,
) -> tuple[Staff, str]:
    """Enable a disabled person with a new token: the one they had before never works again.
    StaffNotDisabled for an active person (their token is left as it is)."""
    token = new_token()
    row = await db.fetchrow(queries.get("enable_staff"), login, hash_token(token), now, expires_at)
    if row is None:
        raise await _why_not(db, login, StaffNotDisabled(login))
    return staff_from_row(row), token


async def revoke_token(db: database.Conn | asyncpg.Pool, login: str, *, now: datetime) -> Staff:
    """The person's token stops working at once (their sessions go on); StaffNotFound."""
    row = await db.fetchrow(queries.get("revoke_staff_token"), login, now)
    if row is None:
        raise StaffNotFound(login)
    return staff_from_row(row)


async def change(
    db: database.Conn | asyncpg.Pool, login: str, *, name: str | None, role: Role | None
) -> Staff:
    """A new name or role (what is None stays); StaffNotFound."""
    row = await db.fetchrow(queries.get("change_staff"), login, name, role)
    if row is None:
        raise StaffNotFound(login)
    return staff_from_row(row)


async def signed_in_by_provider(
    db: database.Conn | asyncpg.Pool,
    *,
    subject: str,
    login: str,
    name: str,
    role: Role,
    now: datetime,
) -> Staff:
    """The person the OpenID provider vouched for, made or updated from its claims: found by
    the provider's subject, else by login (an account made before, not linked to another
    subject), else new. StaffError when the login belongs to someone the provider does not."""
    known = await db.fetchrow(queries.get("staff_by_oidc_subject"), subject)
    if known is not None:
        return await change(db, known["login"], name=name, role=role)
    try:
        row = await db.fetchrow(queries.get("upsert_oidc_staff"), subject, login, name, role, now)
    except asyncpg.CheckViolationError:
        raise StaffError(f"login {login!r} from the provider is not allowed") from None
    if row is None:
        raise StaffError(f"login {login!r} belongs to another person at the provider")
    return staff_from_row(row)


async def _why_not(
    db: database.Conn | asyncpg.Pool, login: str, otherwise: StaffError
) -> StaffError:
    """Why a change by login found no row: no such person, or `otherwise`."""
    return otherwise if await by_login(db, login) is not None else StaffNotFound(login)
