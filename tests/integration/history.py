"""Contacts written straight into the database with chosen times, as the transitions would
have left them: the history that the statistics and the report are checked against."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg


async def insert_contacts(
    pool: asyncpg.Pool,
    *,
    channel: str = "call",
    queue: str = "family",
    created: datetime,
    due: datetime,
    state: str = "done",
    answered: datetime | None = None,
    closed: datetime | None = None,
    outcome: str | None = None,
    first_response: datetime | None = None,
    not_before: datetime | None = None,
    count: int = 1,
) -> list[int]:
    """`count` family contacts with these times; their ids."""
    rows = await pool.fetch(
        """
        INSERT INTO contacts (reference, channel, case_type, case_type_source, language, queue,
                              state, created_at, state_changed_at, queued_at, due_at,
                              answered_at, closed_at, outcome, first_response_at, not_before)
        SELECT $12 || '-' || g, $1, 'family', 'ivr', 'da', $2, $3, $4, $4, $4, $5,
               $6, $7, $8, $9, $10
        FROM generate_series(1, $11) g
        RETURNING id
        """,
        channel, queue, state, created, due, answered, closed, outcome, first_response,
        not_before, count, uuid.uuid4().hex[:12],
    )  # fmt: skip
    return [r["id"] for r in rows]
