"""Schema migrations: ordered .sql files applied at start-up under an advisory lock."""

from __future__ import annotations

import dataclasses
import re
from importlib import resources

import structlog

from contactd.store import database

log = structlog.get_logger(__name__)

# Advisory-lock keys; any two fixed numbers distinct from other applications' locks.
MIGRATION_LOCK = 0x636F6E74_0001  # "cont" + 1


class MigrationError(Exception):
    """The database's schema cannot be brought to what this code needs."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Migration:
    version: int
    name: str
    sql: str


def shipped() -> list[Migration]:
    """The migrations this code ships, in order."""
    folder = resources.files("contactd.store").joinpath("sql/migrations")
    found = []
    for entry in folder.iterdir():
        match = re.fullmatch(r"(\d{4})_(\w+)\.sql", entry.name)
        if match:
            found.append(
                Migration(
                    version=int(match.group(1)),
                    name=match.group(2),
                    sql=entry.read_text(encoding="utf-8"),
                )
            )
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise RuntimeError("migration files must be numbered 0001, 0002, ... without gaps")
    return found


def latest_version() -> int:
    """The newest shipped migration's number (not how many there are: a gap is allowed)."""
    return max((m.version for m in shipped()), default=0)


async def migrate_database(url: str) -> list[int]:
    """Migrate on a connection of its own: no statement timeout, since waiting for another
    daemon's migration, or a long migration, is expected."""
    conn = await database.connect(url, timeout=30)
    try:
        return await migrate(conn)
    finally:
        await conn.close()


async def migrate(conn: database.Conn) -> list[int]:
    """Apply the migrations not yet applied; return their versions.

    Several daemons may start at once: the advisory lock lets one migrate while the others
    wait, and they then find nothing left to do. Each migration is its own transaction.
    """
    applied_now = []
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
    try:
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version    integer PRIMARY KEY,
                   name       text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        newest = latest_version()
        if done and max(done) > newest:
            raise MigrationError(
                f"the database is at schema version {max(done)}, newer than this contactd "
                f"knows ({newest}); upgrade contactd"
            )
        for migration in shipped():
            if migration.version in done:
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                    migration.version,
                    migration.name,
                )
            log.info("migration.applied", version=migration.version, name=migration.name)
            applied_now.append(migration.version)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
    return applied_now
