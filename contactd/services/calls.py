"""The phone channel's view of the store (channels.ports.CallsPort): its calls' contacts,
their place in the queue, and what happens when a caller hangs up or asks for a callback."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import datetime

import asyncpg
import structlog

from channels.ports import OutboxItem, Place
from contactd.clock import Clock
from contactd.metrics import Recorder
from contactd.services.intake import Intake
from contactd.store import contacts as store
from contactd.store import database, queries
from routing.contact import Action, Channel, Contact, IllegalTransition, NewContact, State
from routing.queues import Queue
from routing.waits import estimated_wait_seconds

log = structlog.get_logger(__name__)

BOOKING_SMS_LOCK = 0x636F6E74_0003  # "cont" + 3: see leader/election.py LEADER_LOCK

# Until a queue has handled voice contacts in the last 24 hours: a call takes about this long.
DEFAULT_HANDLE_SECONDS = 240


@dataclasses.dataclass(frozen=True, kw_only=True)
class Started:
    """What the calls service works with that exists only once the daemon has started."""

    pool: asyncpg.Pool
    intake: Intake
    sms_per_hour: int  # phone.booking_sms_per_hour: the cap on every callback's confirmation


class Calls:
    """The phone channel's way into the daemon (channels/ports.py, CallsPort): every webhook
    handler of channels/phone/ (voice.py, dialing.py, booking.py) reads and changes its
    calls' contacts through it, and nothing else of the daemon.

    It is built with the routes (contactd/http/phone.py), before the daemon starts, because
    the handlers are bound to it then; the pool and the intake exist only once it has
    started, and `start` gives them (contactd/app.py, at start-up). A webhook cannot arrive
    before: the server listens only after start-up."""

    def __init__(self, queues: Sequence[Queue], *, clock: Clock, recorder: Recorder) -> None:
        self._clock = clock
        self._recorder = recorder
        self._case_types = {q.code: sorted(q.case_types) for q in queues}
        self._started: Started | None = None

    def start(self, pool: asyncpg.Pool, intake: Intake, *, sms_per_hour: int) -> None:
        self._started = Started(pool=pool, intake=intake, sms_per_hour=sms_per_hour)

    @property
    def _running(self) -> Started:
        if self._started is None:
            raise RuntimeError("the phone channel was called before the daemon started")
        return self._started

    @property
    def _pool(self) -> asyncpg.Pool:
        return self._running.pool

    def _now(self) -> datetime:
        return self._clock()

    async def submit(
        self,
        new: NewContact,
        *,
        actor: str,
        outbox: Callable[[Contact], Sequence[OutboxItem]] | None = None,
    ) -> tuple[Contact, bool]:
        return await self._running.intake.submit(new, actor=actor, outbox=outbox)

    async def call(self, call_sid: str) -> Contact | None:
        if not call_sid:
            return None
        row = await self._pool.fetchrow(queries.get("call_by_sid"), call_sid)
        return store.contact_from_row(row) if row else None

    async def place(self, contact: Contact) -> Place:
        row = await self._pool.fetchrow(
            queries.get("queue_place"),
            contact.id,
            self._case_types.get(contact.queue, []),
            self._now(),
        )
        position = int(row["position"]) if row else 1
        agents = int(row["agents"]) if row else 0
        handle = float(row["handle_seconds"] or DEFAULT_HANDLE_SECONDS) if row else 0.0
        return Place(
            position=position,
            estimated_wait_seconds=estimated_wait_seconds(position, agents, handle),
        )

    async def hung_up(self, contact: Contact, *, why: str) -> None:
        if contact.state not in {State.QUEUED, State.OFFERED}:
            return  # taken by an agent, or already closed: nothing to abandon
        try:
            await store.abandon(
                self._pool,
                contact.id,
                now=self._now(),
                actor="twilio",
                recorder=self._recorder,
                why=why,
            )
        except IllegalTransition:
            pass  # taken or closed meanwhile
        else:
            log.info("call.abandoned", reference=contact.reference, why=why)

    async def keep_place(
        self,
        contact: Contact,
        number: str,
        confirmation: Callable[[Contact], OutboxItem] | None = None,
    ) -> Contact:
        merged = await self._merge_into_waiting(contact, number)
        if merged is not None:
            return merged
        place = await self.place(contact)
        now = self._now()
        async with self._pool.acquire() as conn, conn.transaction():
            # Its place in routing order (priority, due_at, queued_at) stays exactly as it
            # was; so does the promise it is measured against: the call's own goal.
            row = await conn.fetchrow(
                queries.get("keep_place"),
                contact.id,
                number,
                "twilio",
                {"why": "caller asked to be called back", "position": place.position},
                now,
            )
            if row is None:  # already a callback (a repeated key press), or no longer waiting
                return await store.get_by_id(conn, contact.id)
            kept = store.contact_from_row(row)
            if confirmation is not None:
                await self._confirm_or_count(conn, kept, confirmation(kept), now)
        log.info("call.kept_place", reference=contact.reference, position=place.position)
        return kept

    async def _merge_into_waiting(self, call: Contact, number: str) -> Contact | None:
        """One number, one callback: a waiting call whose number has a callback waiting
        already is merged into that one, which the caller is told of again (no second SMS)."""
        if call.channel is not Channel.CALL or call.state not in {State.QUEUED, State.CANCELLED}:
            return None
        waiting = await self.pending_callback(number)
        if waiting is None or waiting.id == call.id:
            return None
        if call.state is State.QUEUED:
            try:
                await store.cancel(
                    self._pool, call.id, now=self._now(), actor="twilio",
                    recorder=self._recorder, merged_into=waiting.reference,
                )  # fmt: skip
            except IllegalTransition:
                return None  # offered to an agent meanwhile: the caller waits on
            log.info("callback.merged", into=waiting.reference, merged=1)
        elif call.outcome != "merged":
            return None
        return waiting

    async def book_by_phone(
        self, new: NewContact, confirmation: Callable[[Contact], OutboxItem]
    ) -> tuple[Contact, bool]:
        """A callback booked on the closed line, with its confirmation SMS (under the hourly
        cap); a number with a callback waiting gets that one back. (contact, whether new)"""
        if new.client_address is not None:
            waiting = await self.pending_callback(new.client_address)
            if waiting is not None:
                return waiting, False
        now = self._now()

        async def confirm(conn: database.Conn, contact: Contact) -> None:
            await self._confirm_or_count(conn, contact, confirmation(contact), now)

        return await self._running.intake.submit(new, actor="twilio", record=confirm)

    async def _confirm_or_count(
        self, conn: database.Conn, contact: Contact, sms: OutboxItem, now: datetime
    ) -> None:
        if not await self._confirm(conn, contact, sms, now, self._running.sms_per_hour):
            log.warning("booking.sms_capped", per_hour=self._running.sms_per_hour)
            self._recorder.booking_sms_capped()

    @staticmethod
    async def _confirm(
        conn: database.Conn, contact: Contact, sms: OutboxItem, now: datetime, per_hour: int
    ) -> bool:
        """A callback's confirmation SMS, written with it unless `per_hour` confirmations were
        written in the last hour (all instances and all ways of booking together). One
        booking at a time counts and writes, so a burst cannot overshoot the cap."""
        await conn.execute("SELECT pg_advisory_xact_lock($1)", BOOKING_SMS_LOCK)
        if await conn.fetchval(queries.get("booking_sms_in_last_hour"), now) >= per_hour:
            return False
        await store.insert_outbox(conn, contact.id, sms, now=now)
        return True

    async def pending_callback(self, number: str) -> Contact | None:
        row = await self._pool.fetchrow(queries.get("pending_callback"), number)
        return store.contact_from_row(row) if row else None

    async def bookings_in_last_day(self, number: str) -> int:
        return int(
            await self._pool.fetchval(queries.get("bookings_in_last_day"), number, self._now())
        )

    async def book(
        self,
        new: NewContact,
        confirmation: Callable[[Contact], OutboxItem],
        *,
        sms_per_hour: int,
    ) -> tuple[Contact, bool, bool]:
        confirmed = False
        now = self._now()

        async def confirm(conn: database.Conn, contact: Contact) -> None:
            nonlocal confirmed
            confirmed = await self._confirm(conn, contact, confirmation(contact), now, sms_per_hour)

        contact, created = await self._running.intake.submit(new, actor="web", record=confirm)
        return contact, created, confirmed

    async def by_reference(self, reference: str) -> Contact | None:
        try:
            return await store.get_by_reference(self._pool, reference)
        except store.ContactNotFound:
            return None

    async def agent_number(self, contact: Contact) -> str | None:
        if contact.agent_id is None:
            return None
        phone: str | None = await self._pool.fetchval(
            "SELECT phone FROM agents WHERE staff_id = $1", contact.agent_id
        )
        return phone

    async def requeue_callback(
        self, contact: Contact, *, why: str, not_before: datetime | None
    ) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            try:
                await store.transition(
                    conn,
                    contact.id,
                    Action.REQUEUE,
                    now=self._now(),
                    actor="twilio",
                    recorder=self._recorder,
                    reason={"why": why},
                    since=contact.state_changed_at,  # still the acceptance the webhook named
                )
            except IllegalTransition:
                return  # finished or moved meanwhile
            if not_before is not None:  # the client's turn again later, with any agent
                await conn.execute(queries.get("callback_retry_at"), contact.id, not_before)
            else:  # the agent's side failed: not a try against the client
                await conn.execute(queries.get("attempt_not_counted"), contact.id)
        log.info("callback.requeued", reference=contact.reference, why=why)

    async def not_reached(self, contact: Contact, sms: OutboxItem) -> None:
        now = self._now()
        async with self._pool.acquire() as conn, conn.transaction():
            try:
                await store.transition(
                    conn,
                    contact.id,
                    Action.FINISH,
                    now=now,
                    actor="twilio",
                    recorder=self._recorder,
                    reason={"why": "not reached", "attempts": contact.attempts},
                    outcome="not_reached",
                    since=contact.state_changed_at,
                )
            except IllegalTransition:
                return
            await store.insert_outbox(conn, contact.id, sms, now=now)

    async def requeue_call(self, contact: Contact, *, why: str) -> None:
        try:
            await store.transition(
                self._pool,
                contact.id,
                Action.REQUEUE,
                now=self._now(),
                actor="twilio",
                recorder=self._recorder,
                reason={"why": why},
                since=contact.state_changed_at,  # still the acceptance the webhook named
            )
        except IllegalTransition:
            return
        log.info("call.requeued", reference=contact.reference, why=why)

    async def merge_callbacks(self, call: Contact) -> None:
        if call.client_address is None:
            return
        async with self._pool.acquire() as conn, conn.transaction():
            waiting = await conn.fetch(
                queries.get("waiting_callbacks_of"), call.client_address, call.case_type
            )
            for row in waiting:
                await store.cancel(
                    conn,
                    row["id"],
                    now=self._now(),
                    actor="twilio",
                    recorder=self._recorder,
                    merged_into=call.reference,
                )
        if waiting:
            log.info("callback.merged", into=call.reference, merged=len(waiting))
