"""The outbox: messages to clients (e-mail, SMS, a callback to dial, a caller to put
through), written in the same transaction as the change they belong to and sent by the
leader.

A message is claimed with a lease, sent once, and marked sent. A transient failure (Twilio
busy or unreachable) is retried with exponential backoff; a permanent one (a number Twilio
refuses) is marked failed at once; an auth failure (a wrong token) is retried slowly, so
nothing is lost while an operator fixes the configuration. A daemon that dies mid-send
leaves the lease to run out, and the message goes again: at least once, never lost.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

import asyncpg
import structlog

from channels.ports import Failure, SendError
from contactd.clock import Clock
from contactd.metrics import Recorder
from contactd.store import contacts, queries
from contactd.store.listener import Wakeup
from routing.contact import Action, IllegalTransition

log = structlog.get_logger(__name__)

# kind -> sends one message's payload; returns the provider's id for it. Raises SendError.
Sender = Callable[[Mapping[str, Any], str], Awaitable[str]]
# Kinds that must never go twice: a phone must not ring twice for one acceptance. They are
# tried once: any failure (Twilio may have acted on a request that timed out) and a lease that
# ran out (the daemon died mid-request) end the message, and its contact goes back to the
# queue, so a caseworker takes it again and a new call is placed then.
AT_MOST_ONCE = frozenset({"dial", "connect"})


async def send_due(
    pool: asyncpg.Pool,
    senders: Mapping[str, Sender],
    *,
    clock: Clock,
    recorder: Recorder,
    batch: int,
    lease_seconds: float,
    max_attempts: int,
    backoff_seconds: float,
    max_backoff_seconds: float,
    concurrency: int,
) -> int:
    """Send what is due now; how many were claimed."""
    rows = await pool.fetch(queries.get("claim_outbox"), batch, lease_seconds, clock())
    limit = asyncio.Semaphore(concurrency)

    async def one(row: asyncpg.Record) -> None:
        async with limit:
            await _send(
                pool,
                row,
                senders,
                clock=clock,
                recorder=recorder,
                max_attempts=max_attempts,
                backoff=backoff_seconds,
                max_backoff=max_backoff_seconds,
            )

    await asyncio.gather(*(one(r) for r in rows))
    return len(rows)


async def _send(
    pool: asyncpg.Pool,
    row: asyncpg.Record,
    senders: Mapping[str, Sender],
    *,
    clock: Clock,
    recorder: Recorder,
    max_attempts: int,
    backoff: float,
    max_backoff: float,
) -> None:
    kind, attempts = row["kind"], row["attempts"]
    once = kind in AT_MOST_ONCE
    sender = senders.get(kind)
    if once and (sender is None or attempts > 1):
        why = "no sender" if sender is None else "the outcome of the last try is unknown"
        await _fail_once(pool, row, why, clock(), recorder)
        return
    if sender is None:  # not configured (no Twilio account yet): keep it for later
        log.warning("outbox.no_sender", kind=kind, id=row["id"])
        await pool.execute(queries.get("outbox_wait"), row["id"], max_backoff, "no sender", clock())
        return
    try:
        provider_id = await sender(row["payload"], row["idempotency_key"])
    except SendError as exc:
        failure, error = exc.failure, str(exc)
    except Exception as exc:  # a bug in a sender must not stop the others
        failure, error = Failure.TRANSIENT, f"{type(exc).__name__}"
        log.exception("outbox.sender_crashed", kind=kind, id=row["id"])
    else:
        await pool.execute(queries.get("outbox_sent"), row["id"], provider_id, clock())
        log.info("outbox.sent", kind=kind, id=row["id"], attempts=attempts)
        recorder.message_sent(kind)
        return
    if once:
        recorder.message_failed(kind, final=True)
        await _fail_once(pool, row, error, clock(), recorder)
        return
    spent = failure is Failure.TRANSIENT and attempts >= max_attempts
    final = failure is Failure.PERMANENT or spent
    recorder.message_failed(kind, final=final)
    if final:
        await pool.execute(queries.get("outbox_failed"), row["id"], error, clock())
        log.error("outbox.failed", kind=kind, id=row["id"], attempts=attempts, error=error)
        return
    # Exponential backoff with jitter, so messages that failed together do not retry together.
    delay = min(backoff * 2 ** (attempts - 1), max_backoff)
    if failure is Failure.AUTH:
        delay = max_backoff
    delay *= random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not a secret
    # Waiting for an operator to fix the credentials is not a try of the message.
    retry = "outbox_wait" if failure is Failure.AUTH else "outbox_retry"
    await pool.execute(queries.get(retry), row["id"], delay, error, clock())
    log.warning(
        "outbox.retry", kind=kind, id=row["id"], attempts=attempts, error=error, failure=failure,
        retry_in_seconds=round(delay, 1),
    )  # fmt: skip


async def _fail_once(
    pool: asyncpg.Pool, row: asyncpg.Record, error: str, now: datetime, recorder: Recorder
) -> None:
    """A call not placed (or maybe placed, and not to be placed again): the message ends and
    its contact goes back to the queue; a failed try is not counted against the client."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(queries.get("outbox_failed"), row["id"], error, now)
        if row["contact_id"] is not None:
            try:
                await contacts.transition(
                    conn,
                    row["contact_id"],
                    Action.REQUEUE,
                    now=now,
                    actor="outbox",
                    recorder=recorder,
                    reason={"why": f"{row['kind']} failed: {error}"},
                )
            except IllegalTransition:
                pass  # finished or moved meanwhile
            else:
                await conn.execute(queries.get("attempt_not_counted"), row["contact_id"])
    log.error("outbox.failed", kind=row["kind"], id=row["id"], error=error, requeued=True)


async def run(
    pool: asyncpg.Pool,
    senders: Mapping[str, Sender],
    wakeup: Wakeup,
    *,
    clock: Clock,
    recorder: Recorder,
    poll_seconds: float,
    max_age_hours: Mapping[str, float] | None = None,
    **limits: Any,
) -> None:
    """Send whenever woken by a new message, and every `poll_seconds` for retries; first give
    up what has waited longer than its kind's `max_age_hours`."""
    while True:
        if max_age_hours:
            await expire(pool, max_age_hours, clock=clock, recorder=recorder)
        if await send_due(pool, senders, clock=clock, recorder=recorder, **limits):
            continue
        await wakeup.wait(within=poll_seconds)


async def expire(
    pool: asyncpg.Pool, max_age_hours: Mapping[str, float], *, clock: Clock, recorder: Recorder
) -> int:
    """Mark failed what was not sent within its kind's maximum age (a sender never set up,
    credentials never fixed): a message that late is no use to the client, and until it ends
    the retention job cannot purge its contact. How many were given up."""
    kinds = list(max_age_hours)
    rows = await pool.fetch(
        queries.get("outbox_expire"), kinds, [max_age_hours[k] for k in kinds], clock()
    )
    for row in rows:
        recorder.message_failed(row["kind"], final=True)
        log.error("outbox.expired", kind=row["kind"], id=row["id"])
    return len(rows)
