"""Connections to PostgreSQL: the pool, single connections, and waiting for a server at start."""

from __future__ import annotations

import asyncio
import json
import random
import re
from typing import Any

import asyncpg
import structlog

log = structlog.get_logger(__name__)

# Errors that mean "the server is not there (yet)": worth waiting for at start-up.
TRANSIENT = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.ConnectionDoesNotExistError,
)


# A pool connection that the server ended while it was idle (PostgreSQL shutting down sends it
# a FATAL error) fails its next query with "cannot switch to state 12; another operation (2)
# is in progress" (MagicStack/asyncpg#1069); the pool replaces it on release. Nothing in
# contactd shares a connection between tasks, so here it means the server went away.
_SESSION_ENDED = asyncpg.InternalClientError

# The database is away or overloaded right now (while running): a client may retry.
UNAVAILABLE = (
    *TRANSIENT,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.AdminShutdownError,
    asyncpg.QueryCanceledError,  # statement_timeout
    _SESSION_ENDED,
)

# Anything the driver or the server may raise: loops that must outlive an outage catch these.
ANY_ERROR = (*TRANSIENT, asyncpg.PostgresError, asyncpg.InterfaceError, _SESSION_ENDED)

# A connection of one's own or one borrowed from the pool: both run queries alike.
Conn = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy


class DatabaseUnavailable(Exception):
    """The database could not be reached within the configured time, or refused us."""


# Errors that waiting will not fix: report them at once.
REFUSED = (
    asyncpg.InvalidPasswordError,
    asyncpg.InvalidAuthorizationSpecificationError,
    asyncpg.InvalidCatalogNameError,
)


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", url)


async def _init_connection(conn: asyncpg.Connection) -> None:
    # jsonb in and out as Python objects (event reasons, outbox payloads).
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Pool connections are not reset on release.

    asyncpg's default reset costs a round trip per borrow (UNLISTEN, RESET ALL, advisory
    unlock). Nothing borrowed from the pool keeps session state: LISTEN and the leader's lock
    live on dedicated connections, and migrations release their lock themselves.
    """


async def connect(url: str, **kwargs: Any) -> asyncpg.Connection:
    """A dedicated connection (leader lock, LISTEN), with the same codecs as the pool."""
    conn: asyncpg.Connection = await asyncpg.connect(url, **kwargs)
    await _init_connection(conn)
    return conn


async def _create_pool(
    url: str, *, min_size: int, max_size: int, wait_seconds: float, statement_timeout: float
) -> asyncpg.Pool:
    pool: asyncpg.Pool = await asyncpg.create_pool(
        url,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        reset=_keep_session,
        timeout=wait_seconds,
        # A server that freezes or a network that drops packets answers nothing, so
        # statement_timeout never fires: bound each query on our side too, a little later,
        # so a request gets 503 (TimeoutError) instead of hanging.
        command_timeout=statement_timeout + 5,
        server_settings={
            "application_name": "contactd",
            "statement_timeout": str(int(statement_timeout * 1000)),
        },
    )
    return pool


async def wait_for_pool(
    url: str,
    *,
    min_size: int,
    max_size: int,
    give_up_after: float,
    statement_timeout: float,
) -> asyncpg.Pool:
    """Open a pool, retrying with capped exponential backoff while the server is unreachable.

    One log line per attempt, no traceback; DatabaseUnavailable after `give_up_after` seconds.
    """
    if not url.startswith(("postgresql://", "postgres://")):
        raise DatabaseUnavailable(
            "CONTACTD_DATABASE_URL is not a PostgreSQL URL; "
            "use postgresql://user:password@host:5432/database"
        )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + give_up_after
    delay = 0.25
    attempt = 0
    while True:
        attempt += 1
        try:
            return await _create_pool(
                url,
                min_size=min_size,
                max_size=max_size,
                wait_seconds=min(10.0, give_up_after),
                statement_timeout=statement_timeout,
            )
        except REFUSED as exc:
            raise DatabaseUnavailable(
                f"database at {redact(url)} refused the connection: {exc}"
            ) from None
        except (ValueError, asyncpg.ClientConfigurationError) as exc:  # a malformed URL
            raise DatabaseUnavailable(
                f"CONTACTD_DATABASE_URL is not a PostgreSQL URL ({exc}); "
                "use postgresql://user:password@host:5432/database"
            ) from None
        except TRANSIENT as exc:
            left = deadline - loop.time()
            reason = f"{type(exc).__name__}: {exc}"
            if left <= 0:
                raise DatabaseUnavailable(
                    f"database at {redact(url)} unreachable after {attempt} attempts "
                    f"over {give_up_after:g} s: {reason}"
                ) from None
            wait = min(delay, left) * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not crypto
            log.warning(
                "database.unavailable",
                attempt=attempt,
                retry_in_seconds=round(wait, 2),
                error=reason,
            )
            await asyncio.sleep(wait)
            delay = min(delay * 2, 5.0)
