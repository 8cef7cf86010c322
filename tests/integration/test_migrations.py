"""The migrations produce exactly the schema in schema.sql, and may be run again safely."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from importlib import resources

import asyncpg
import pytest

from contactd.store import database, embedded, migrations
from tests.conftest import with_database


def _schema(url: str) -> list[str]:
    """The schema as pg_dump writes it (tables, columns in order, constraints, indexes,
    functions, triggers, types), without comments, settings and pg_dump's random keys."""
    dump = subprocess.run(
        [str(embedded.bin_path("pg_dump")), "--schema-only", "--no-owner", "--no-privileges", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [
        line
        for line in dump.splitlines()
        if line.strip()
        and not line.startswith(("--", "SET ", "SELECT pg_catalog.set_config", "\\"))
    ]


async def _empty_database(server_url: str) -> str:
    name = f"schema_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    return name


async def _drop(server_url: str, name: str) -> None:
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f"DROP DATABASE {name}")  # fails if a test left a connection
    finally:
        await admin.close()


async def test_migrations_produce_the_schema_file(pg_server_url: str, db_url: str) -> None:
    name = await _empty_database(pg_server_url)
    try:
        url = with_database(pg_server_url, name)
        conn = await asyncpg.connect(url)
        try:
            schema = resources.files("contactd.store").joinpath("sql/schema.sql").read_text()
            await conn.execute(schema)
        finally:
            await conn.close()
        from_schema = await asyncio.to_thread(_schema, url)
        from_migrations = await asyncio.to_thread(_schema, db_url)
        assert from_migrations == from_schema
        assert any("contacts_live_idx" in line for line in from_schema)
    finally:
        await _drop(pg_server_url, name)


async def test_migrating_again_applies_nothing(db_url: str) -> None:
    conn = await database.connect(db_url)
    try:
        assert await migrations.migrate(conn) == []
        versions = await conn.fetch("SELECT version FROM schema_migrations ORDER BY version")
        assert [r["version"] for r in versions] == list(range(1, migrations.latest_version() + 1))
    finally:
        await conn.close()


async def test_daemons_starting_together_migrate_once(pg_server_url: str) -> None:
    name = await _empty_database(pg_server_url)
    url = with_database(pg_server_url, name)
    conns = [await database.connect(url) for _ in range(4)]
    try:
        applied = await asyncio.gather(*(migrations.migrate(c) for c in conns))
        assert sorted(len(a) for a in applied) == [0, 0, 0, migrations.latest_version()]
    finally:
        for c in conns:
            await c.close()
        await _drop(pg_server_url, name)


async def test_a_database_newer_than_the_code_is_refused(db_url: str) -> None:
    conn = await database.connect(db_url)
    try:
        await conn.execute("INSERT INTO schema_migrations (version, name) VALUES (999, 'future')")
        with pytest.raises(migrations.MigrationError, match="newer than this contactd knows"):
            await migrations.migrate(conn)
    finally:
        await conn.close()
