"""Logging with structlog: JSON lines in production, readable on a terminal.

Every line has a stable `event` name; context (request id, contact reference, channel) is
bound per request. Personal data (phone numbers, addresses, message text) is never logged:
code logs references and codes, and `scrub` removes anything under a personal-data key
that slips through.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, Literal, TextIO

import structlog

PERSONAL_KEYS = frozenset(
    {
        "client_address",
        "phone",
        "from_number",
        "to_number",
        "email",
        "address",
        "text",
        "body",
        "subject",
        "token",
        "password",
        "url",
    }
)


def scrub(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in PERSONAL_KEYS & event.keys():
        event[key] = "[redacted]"
    return event


def configure(
    *,
    format: Literal["auto", "json", "console"] = "auto",
    level: str = "info",
    stream: TextIO = sys.stdout,
) -> None:
    """The daemon logs to stdout; CLI commands log to stderr, keeping stdout for their output."""
    as_json = format == "json" or (format == "auto" and not stream.isatty())
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if as_json
        # Plain tracebacks: rich's pretty ones print local variables, which hold personal data.
        else structlog.dev.ConsoleRenderer(
            colors=stream.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        scrub,
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )
    # Libraries that log with the standard logging module (aiohttp, asyncpg, asyncio) are
    # rendered by the same processors, so every line has one format and is scrubbed alike.
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    # asyncpg logs a traceback each time it fails to refill the pool while the database is
    # down; our own lines (database.unavailable, leader.connection_lost, ...) say it once.
    logging.getLogger("asyncpg.pool").setLevel(logging.ERROR)
