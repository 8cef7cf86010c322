"""The outbox: messages to clients (e-mail, SMS, a callback to dial, a caller to put
through), written in the same transaction as the change they belong to and sent by the
leader.

A message is leased as its send starts (not for a whole batch: a long batch must not outlast
the leases of the messages still waiting in it), sent once, and marked sent. A transient
failure (Twilio busy or unreachable) is retried with exponential backoff; a permanent one (a
number Twilio refuses) is marked failed at once; an auth failure (a wrong token) is retried
slowly, so nothing is lost while an operator fixes the configuration. A daemon that dies
mid-send leaves the lease to run out, and the message goes again: at least once, never lost.

Calls go at most once for their acceptance (AT_MOST_ONCE). After a send that died mid-request
Twilio is asked whether it placed the call before it is placed again; a call whose contact is
no longer in its acceptance is not placed at all.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import asyncpg
import structlog

from channels.ports import Failure, SendError, acceptance
from contactd.clock import Clock
from contactd.metrics import Recorder
from contactd.store import contacts, database, legs, queries
from contactd.store.listener import Wakeup
from routing.contact import Action, IllegalTransition, State

log = structlog.get_logger(__name__)

# kind -> sends one message's payload; returns the provider's id for it. Raises SendError.
Sender = Callable[[Mapping[str, Any], str], Awaitable[str]]
# Kinds that must never go twice: a phone must not ring twice for one acceptance. They are
# tried once: any failure (Twilio may have acted on a request that timed out) ends the
# message, and its contact goes back to the queue, so a caseworker takes it again and a new
# call is placed then. A lease that ran out (the daemon died mid-request) asks the provider.
AT_MOST_ONCE = frozenset({"dial", "connect", "redirect", "consult"})


@runtime_checkable
class Traceable(Protocol):
    """A sender whose provider can be asked what a send that died mid-request did."""

    async def __call__(self, payload: Mapping[str, Any], key: str) -> str: ...

    async def traces(self, payload: Mapping[str, Any]) -> Sequence[str]:
        """The provider's ids of what it did lately for such a message, newest first, among
        which the interrupted send's would be. Raises SendError."""
        ...


@dataclasses.dataclass(frozen=True, kw_only=True)
class Retry:
    max_attempts: int
    backoff: float  # the first wait; it doubles with every try
    max_backoff: float

    def delay(self, attempts: int, failure: Failure) -> float:
        """Exponential backoff with jitter, so messages that failed together do not retry
        together; waiting for an operator to fix the credentials is slow."""
        delay = min(self.backoff * 2.0 ** (attempts - 1), self.max_backoff)
        if failure is Failure.AUTH:
            delay = self.max_backoff
        jitter: float = random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not a secret
        return delay * jitter


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
    """Send what is due now, `concurrency` at a time; how many were claimed. An error no
    send can handle (the database's) stops the sends still running and is raised: none
    runs on after the loop that started it."""
    due = await pool.fetch(queries.get("outbox_due"), batch, clock())
    retry = Retry(
        max_attempts=max_attempts, backoff=backoff_seconds, max_backoff=max_backoff_seconds
    )
    limit = asyncio.Semaphore(concurrency)
    claimed: list[int] = []

    async def one(message_id: int) -> None:
        async with limit:
            # Leased as its send starts; None: sent or taken by another instance meanwhile.
            row = await pool.fetchrow(
                queries.get("outbox_claim"), message_id, lease_seconds, clock()
            )
            if row is not None:
                claimed.append(message_id)
                await _send(pool, row, senders, clock=clock, recorder=recorder, retry=retry)

    try:
        async with asyncio.TaskGroup() as group:
            for row in due:
                group.create_task(one(row["id"]), name=f"outbox:{row['id']}")
    except ExceptionGroup as failed:  # the others were cancelled and awaited
        raise failed.exceptions[0] from failed
    return len(claimed)


async def _send(
    pool: asyncpg.Pool,
    row: asyncpg.Record,
    senders: Mapping[str, Sender],
    *,
    clock: Clock,
    recorder: Recorder,
    retry: Retry,
) -> None:
    kind, attempts = row["kind"], row["attempts"]
    sender = senders.get(kind)
    if kind in AT_MOST_ONCE:
        await _send_once(pool, row, sender, clock=clock, recorder=recorder, retry=retry)
        return
    if sender is None:  # not configured (no Twilio account yet): keep it for later
        log.warning("outbox.no_sender", kind=kind, id=row["id"])
        await pool.execute(
            queries.get("outbox_wait"), row["id"], retry.max_backoff, "no sender", clock()
        )
        return
    try:
        provider_id = await sender(row["payload"], row["idempotency_key"])
    except SendError as exc:
        failure, error = exc.failure, str(exc)
    except Exception as exc:  # a bug in a sender must not stop the others
        failure, error = Failure.TRANSIENT, f"{type(exc).__name__}"
        log.exception("outbox.sender_crashed", kind=kind, id=row["id"])
    else:
        await _sent(pool, row, provider_id, clock(), recorder)
        return
    spent = failure is Failure.TRANSIENT and attempts >= retry.max_attempts
    final = failure is Failure.PERMANENT or spent
    recorder.message_failed(kind, final=final)
    if final:
        await pool.execute(queries.get("outbox_failed"), row["id"], error, clock())
        log.error("outbox.failed", kind=kind, id=row["id"], attempts=attempts, error=error)
        return
    delay = retry.delay(attempts, failure)
    # Waiting for an operator to fix the credentials is not a try of the message.
    query = "outbox_wait" if failure is Failure.AUTH else "outbox_retry"
    await pool.execute(queries.get(query), row["id"], delay, error, clock())
    log.warning(
        "outbox.retry", kind=kind, id=row["id"], attempts=attempts, error=error, failure=failure,
        retry_in_seconds=round(delay, 1),
    )  # fmt: skip


async def _sent(
    pool: asyncpg.Pool, row: asyncpg.Record, provider_id: str, now: datetime, recorder: Recorder
) -> None:
    await pool.execute(queries.get("outbox_sent"), row["id"], provider_id, now)
    log.info("outbox.sent", kind=row["kind"], id=row["id"], attempts=row["attempts"])
    recorder.message_sent(row["kind"])


async def _send_once(
    pool: asyncpg.Pool,
    row: asyncpg.Record,
    sender: Sender | None,
    *,
    clock: Clock,
    recorder: Recorder,
    retry: Retry,
) -> None:
    """A call, placed (or put through) at most once for its acceptance."""
    kind = row["kind"]
    if sender is None:
        await _fail_once(pool, row, "no sender", clock(), recorder)
        return
    # What an interrupted try did comes first: a call Twilio placed is recorded as sent.
    if row["attempts"] > 1 and await _sent_before(pool, row, sender, clock, recorder, retry):
        return
    if not await _accepted(pool, row):
        # Finished, transferred or taken again meanwhile: the call would ring for nothing.
        await pool.execute(queries.get("outbox_failed"), row["id"], "acceptance over", clock())
        await _no_leg(pool, row, clock())
        recorder.message_failed(kind, final=True)
        log.warning("outbox.acceptance_over", kind=kind, id=row["id"])
        return
    try:
        provider_id = await sender(row["payload"], row["idempotency_key"])
    except SendError as exc:
        error = str(exc)
    except Exception as exc:  # a bug in a sender must not stop the others
        error = f"{type(exc).__name__}"
        log.exception("outbox.sender_crashed", kind=kind, id=row["id"])
    else:
        await _sent(pool, row, provider_id, clock(), recorder)
        return
    recorder.message_failed(kind, final=True)
    await _fail_once(pool, row, error, clock(), recorder)


async def _sent_before(
    pool: asyncpg.Pool,
    row: asyncpg.Record,
    sender: Sender,
    clock: Clock,
    recorder: Recorder,
    retry: Retry,
) -> bool:
    """The last try ended with no outcome written (its sender died mid-request and the lease
    ran out): whether the call was placed, asked of Twilio. True: the message is dealt with
    (Twilio placed the call, or cannot say); False: place it now. Twilio unreachable is asked
    again with backoff, placing nothing meanwhile, up to `max_attempts` tries; refusing to
    say (a permanent error), or never saying, ends the message as unknown."""
    kind, attempts = row["kind"], row["attempts"]
    if not isinstance(sender, Traceable):  # nobody to ask: it may have rung
        await _fail_once(pool, row, "the outcome of the last try is unknown", clock(), recorder)
        return True
    try:
        seen = await sender.traces(row["payload"])
    except Exception as exc:  # Twilio cannot say now (or a bug): place nothing meanwhile
        if not isinstance(exc, SendError):
            log.exception("outbox.sender_crashed", kind=kind, id=row["id"])
        failure = exc.failure if isinstance(exc, SendError) else Failure.TRANSIENT
        why = str(exc) if isinstance(exc, SendError) else type(exc).__name__
        error = f"the outcome of the last try is unknown: {why}"
        if failure is not Failure.PERMANENT and attempts < retry.max_attempts:
            delay = retry.delay(attempts, failure)
            await pool.execute(queries.get("outbox_retry"), row["id"], delay, error, clock())
        else:  # after that long, any call placed then is over
            recorder.outcome_checked(kind, "unknown")
            await _fail_once(pool, row, error, clock(), recorder)
        return True
    placed: str | None = await pool.fetchval(queries.get("outbox_untracked"), list(seen))
    recorder.outcome_checked(kind, "not_placed" if placed is None else "placed")
    log.warning("outbox.outcome_checked", kind=kind, id=row["id"], placed=placed is not None)
    if placed is None:
        return False
    await _sent(pool, row, placed, clock(), recorder)
    return True


async def _accepted(db: database.Conn | asyncpg.Pool, row: asyncpg.Record) -> bool:
    """Whether the message's contact is still in the acceptance the message was written for
    (True for a message that names none). Locks the contact in a transaction."""
    wanted = row["payload"].get("acceptance")
    if wanted is None or row["contact_id"] is None:
        return True
    found = await db.fetchrow(queries.get("outbox_contact"), row["contact_id"])
    if found is None:
        return False
    contact = contacts.contact_from_row(found)
    return contact.state is State.ACTIVE and acceptance(contact) == wanted


async def _fail_once(
    pool: asyncpg.Pool, row: asyncpg.Record, error: str, now: datetime, recorder: Recorder
) -> None:
    """A call not placed (or maybe placed, and not to be placed again): the message ends, and
    its contact goes back to the queue if it is still in the call's acceptance (not in a
    later one, whose own call may be ringing); a failed try is not counted against the
    client."""
    requeued = False
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(queries.get("outbox_failed"), row["id"], error, now)
        await _no_leg(conn, row, now)
        # A transfer's redirect (channels/phone/conference.py transfer_item) is of no
        # acceptance: its contact stays where the transfer put it. A consultation that
        # could not be placed leaves the caseworker with the caller (they cancel it).
        stays = "transfer" in row["payload"] or row["kind"] == "consult"
        if row["contact_id"] is not None and not stays and await _accepted(conn, row):
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
                requeued = True
    log.error("outbox.failed", kind=row["kind"], id=row["id"], error=error, requeued=requeued)


async def _no_leg(db: database.Conn | asyncpg.Pool, row: asyncpg.Record, now: datetime) -> None:
    """A phone the message never dialled into a live call's conference (channels/phone/
    conference.py) is on no call: its leg ends, or a colleague consulted would count as
    holding a call for ever (no webhook of Twilio's will end it)."""
    leg = row["payload"].get("leg")
    if row["kind"] in ("connect", "consult") and leg is not None:
        await legs.ended(db, int(leg), None, now=now)


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
