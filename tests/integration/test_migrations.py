"""The migrations produce exactly the schema in schema.sql, and may be run again safely."""

from __future__ import annotations

import asyncio
import uuid
from importlib import resources

import asyncpg
import pytest

from contactd import database, migrations
from tests.conftest import with_database

CATALOG = """
SELECT 'column' AS kind, table_name || '.' || column_name AS name,
       concat_ws(' ', data_type, is_nullable, column_default, is_identity) AS definition
FROM information_schema.columns WHERE table_schema = 'public'
UNION ALL
SELECT 'constraint', conrelid::regclass || '.' || conname, pg_get_constraintdef(oid)
FROM pg_constraint WHERE connamespace = 'public'::regnamespace
UNION ALL
SELECT 'index', indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'
ORDER BY 1, 2
"""


async def _catalog(url: str) -> list[tuple[str, str, str]]:
    conn = await asyncpg.connect(url)
    try:
        return [tuple(r) for r in await conn.fetch(CATALOG)]
    finally:
        await conn.close()


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
        await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
    finally:
        await admin.close()


async def test_migrations_produce_the_schema_file(pg_server_url: str, db_url: str) -> None:
    name = await _empty_database(pg_server_url)
    try:
        url = with_database(pg_server_url, name)
        conn = await asyncpg.connect(url)
        try:
            schema = resources.files("contactd").joinpath("sql/schema.sql").read_text()
            await conn.execute(schema)
        finally:
            await conn.close()
        from_schema = await _catalog(url)
        from_migrations = await _catalog(db_url)
        assert from_migrations == from_schema
        assert any(kind == "index" and "contacts_live_idx" in n for kind, n, _ in from_schema)
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
