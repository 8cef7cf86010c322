"""The phone legs of a live call's conference (channels/phone/conference.py): the
caseworker's, placed when they accept, and the colleague's they consult before handing the
caller over (a consult transfer). What a leg's webhooks mean for the call is decided here;
every Twilio request that follows is an outbox message written in the same transaction."""

from __future__ import annotations

import dataclasses
import functools
from datetime import datetime

import asyncpg
import structlog

from channels.phone.conference import (
    agent_leg_item,
    consult_end_item,
    consult_item,
    join_item,
    room,
    transfer_item,
)
from channels.ports import Leg, acceptance
from contactd.clock import Clock
from contactd.metrics import Recorder
from contactd.store import contacts as store
from contactd.store import database, legs, queries
from routing.contact import Action, Channel, Contact, IllegalTransition, State
from routing.errors import DomainError, Kind

log = structlog.get_logger(__name__)


class ConsultRefused(DomainError):
    """A consultation cannot start, complete or be cancelled now (the code says why)."""

    kind = Kind.CONFLICT
    code = "conflict"


class UnknownAgent(DomainError):
    kind = Kind.NOT_FOUND
    code = "unknown_agent"


class TransferRefused(DomainError):
    """A live call cannot go to the colleague named (raised with a code saying why)."""

    kind = Kind.CONFLICT
    code = "agent_unavailable"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Colleague:
    staff_id: int
    phone: str


async def colleague(conn: database.Conn, login: str, call: Contact) -> Colleague:
    """The colleague a live call may go to now (locked, as the router locks agents); else
    why not. Their skills are the caseworker's judgement (they chose the colleague); the
    caller's language is not."""
    row = await conn.fetchrow(queries.get("transfer_target"), login)
    if row is None:
        raise UnknownAgent(f"no caseworker {login!r} with an agent profile")
    if row["state"] != "available":
        raise TransferRefused(f"{login} is {row['state']}, not available")
    if call.language not in row["languages"]:
        raise TransferRefused(f"{login} does not speak {call.language}, the caller's language")
    if row["phone"] is None:
        raise TransferRefused(f"{login} has no phone on their agent profile", code="no_phone")
    if row["calls"] >= row["capacity"]:
        raise TransferRefused(f"{login} has no room for another call")
    return Colleague(staff_id=int(row["staff_id"]), phone=row["phone"])


async def put_through(
    conn: database.Conn, contact: Contact, agent_id: int, phone: str, *, now: datetime
) -> None:
    """The caseworker who accepted a waiting call is dialled into a new conference; the
    caller follows when they answer. In the accept's transaction."""
    leg = await legs.insert(
        conn, contact.id, acceptance(contact), "agent", agent_id, room=room(contact), now=now
    )
    await store.insert_outbox(conn, contact.id, agent_leg_item(contact, leg, phone), now=now)


class CallLegs:
    """channels.ports.LegsPort, and the desk's consultations. Built with the routes; the
    pool is given at start-up (`start`), as for the calls service."""

    def __init__(self, *, clock: Clock, recorder: Recorder) -> None:
        self._clock = clock
        self._recorder = recorder
        self._pool_or_none: asyncpg.Pool | None = None

    def start(self, pool: asyncpg.Pool) -> None:
        self._pool_or_none = pool

    @property
    def _pool(self) -> asyncpg.Pool:
        if self._pool_or_none is None:
            raise RuntimeError("the call legs were used before the daemon started")
        return self._pool_or_none

    async def leg(self, leg_id: int) -> Leg | None:
        return await legs.get(self._pool, leg_id)

    async def current(self, contact: Contact) -> Leg | None:
        return await legs.agent_leg(self._pool, contact.id, acceptance(contact))

    async def answered(self, leg_id: int, call_sid: str) -> None:
        """The caseworker answered: the caller is moved in. A colleague consulted answered:
        the caseworker's desk says so."""
        now = self._clock()
        async with self._pool.acquire() as conn, conn.transaction():
            leg = await legs.answered(conn, leg_id, call_sid, now=now)
            contact = await self._in_acceptance(conn, leg)
            if leg is None or contact is None:
                return
            if leg.role == "agent":
                await store.insert_outbox(conn, contact.id, join_item(contact, leg), now=now)
            else:
                await legs.note(conn, contact.id, "consult_answered", actor="twilio",
                                reason={"leg": str(leg.id)}, now=now)  # fmt: skip
        log.info("call.leg_answered", reference=contact.reference, role=leg.role)

    async def ended(self, leg_id: int, call_sid: str) -> None:
        """A leg ended. The caseworker's, never answered: the caller, still waiting in the
        queue, is offered again. The caseworker's, hung up during a consultation: handed to
        the colleague if they answered, else back to the queue. The colleague's, before
        the hand-over: the consultation is cancelled."""
        now = self._clock()
        async with self._pool.acquire() as conn, conn.transaction():
            leg = await legs.ended(conn, leg_id, call_sid, now=now)
            contact = await self._in_acceptance(conn, leg)
            if leg is None or contact is None:
                return
            found = await legs.of(conn, contact.id, leg.acceptance)
            consult = next((x for x in found if x.role == "consult" and not x.ended), None)
            agent = next((x for x in found if x.role == "agent"), None)
            if leg.role == "consult" and agent is not None:
                await self._cancelled(conn, contact, agent, leg, actor="twilio")
            elif not leg.answered:
                await self._requeue(conn, contact, why="agent did not answer")
            elif consult is not None and consult.answered:
                await self._hand_over(conn, contact, leg, consult, actor="twilio")
            elif consult is not None:
                await legs.ended(conn, consult.id, None, now=now)
                await self._cancelled(conn, contact, leg, consult, actor="twilio")
                moved = await self._requeue(conn, contact, why="agent left the consultation")
                if moved is not None:
                    await store.insert_outbox(conn, contact.id, transfer_item(moved), now=now)
        log.info("call.leg_ended", reference=contact.reference, role=leg.role)

    async def consult(self, actor: str, holder: int, contact: Contact, login: str) -> Contact:
        """Hold the caller and ring the colleague `login` into the caseworker's conference."""
        now = self._clock()
        async with self._pool.acquire() as conn, conn.transaction():
            call, agent, consult = await self._talking(conn, contact, holder)
            if consult is not None:
                raise ConsultRefused("you are consulting a colleague already", code="consulting")
            target = await colleague(conn, login, call)
            if target.staff_id == holder:
                raise TransferRefused("you cannot consult yourself")
            leg = await legs.insert(
                conn, call.id, agent.acceptance, "consult", target.staff_id, room=agent.room,
                now=now,
            )  # fmt: skip
            item = consult_item(call, agent, leg, target.phone)
            await store.insert_outbox(conn, call.id, item, now=now)
            await legs.note(conn, call.id, "consult", actor=actor, reason={"to_agent": login},
                            now=now)  # fmt: skip
        log.info("call.consult", reference=call.reference)
        return call

    async def complete(self, actor: str, holder: int, contact: Contact) -> Contact:
        """Hand the caller to the colleague consulted, who has answered; the caseworker's
        leg ends and they are free."""
        async with self._pool.acquire() as conn, conn.transaction():
            call, agent, consult = await self._talking(conn, contact, holder)
            if consult is None:
                raise ConsultRefused("you are not consulting anyone", code="not_consulting")
            if not consult.answered:
                raise ConsultRefused(
                    "the colleague has not answered yet: wait, or return to the caller",
                    code="not_answered",
                )
            return await self._hand_over(conn, call, agent, consult, actor=actor)

    async def cancel(self, actor: str, holder: int, contact: Contact) -> Contact:
        """Back to the caller: the colleague's leg ends and the hold is taken off."""
        async with self._pool.acquire() as conn, conn.transaction():
            call, agent, consult = await self._talking(conn, contact, holder)
            if consult is None:
                raise ConsultRefused("you are not consulting anyone", code="not_consulting")
            await legs.ended(conn, consult.id, None, now=self._clock())
            await self._cancelled(conn, call, agent, consult, actor=actor)
        return call

    async def _talking(
        self, conn: database.Conn, contact: Contact, holder: int
    ) -> tuple[Contact, Leg, Leg | None]:
        """The live call the caseworker holds and talks on (locked), their leg, and the
        consultation under way if any."""
        call = await _locked(conn, contact.id)
        if call.channel is not Channel.CALL or call.state is not State.ACTIVE:
            raise ConsultRefused(
                f"{call.reference} is not a live call you talk on", code="not_talking"
            )
        if call.agent_id != holder:
            raise store.NotHolder(f"{call.reference} is held by another caseworker")
        found = await legs.of(conn, call.id, acceptance(call))
        agent = next((x for x in found if x.role == "agent"), None)
        if agent is None or not agent.live:
            raise ConsultRefused("you are not talking to the caller yet", code="not_talking")
        consult = next((x for x in found if x.role == "consult" and not x.ended), None)
        return call, agent, consult

    async def _hand_over(
        self, conn: database.Conn, call: Contact, agent: Leg, consult: Leg, *, actor: str
    ) -> Contact:
        """The call becomes the colleague's (a new acceptance, their leg its caseworker's
        leg, in the same conference); the caseworker's leg is removed."""
        now = self._clock()
        step = functools.partial(store.transition, conn, call.id, now=now, recorder=self._recorder)
        passed = {"transfer": "consult", "from": actor, "call_sid": call.external_id or ""}
        waited_since = await conn.fetchval(queries.get("call_queued_at"), call.id)
        await step(Action.REQUEUE, actor=actor, reason=passed, since=call.state_changed_at)
        await conn.execute(queries.get("transfer_keeps_place"), call.id, waited_since)
        await step(Action.OFFER, actor=actor, agent_id=consult.agent_id, reason=passed)
        taken = await step(Action.ACCEPT, actor=actor, holder=consult.agent_id, reason=passed)
        await legs.handed_over(conn, consult.id, acceptance(taken))
        await legs.ended(conn, agent.id, None, now=now)
        item = consult_end_item(taken, agent, consult, completed=True)
        await store.insert_outbox(conn, call.id, item, now=now)
        log.info("call.consult_completed", reference=call.reference)
        return taken

    async def _cancelled(
        self, conn: database.Conn, call: Contact, agent: Leg, consult: Leg, *, actor: str
    ) -> None:
        now = self._clock()
        item = consult_end_item(call, agent, consult, completed=False)
        await store.insert_outbox(conn, call.id, item, now=now)
        await legs.note(conn, call.id, "consult_cancelled", actor=actor,
                        reason={"leg": str(consult.id)}, now=now)  # fmt: skip
        log.info("call.consult_cancelled", reference=call.reference)

    async def _in_acceptance(self, conn: database.Conn, leg: Leg | None) -> Contact | None:
        """The leg's contact, locked, if it is still in the acceptance the leg serves."""
        if leg is None:
            return None
        contact = await _locked(conn, leg.contact_id)
        if contact.state is not State.ACTIVE or acceptance(contact) != leg.acceptance:
            return None
        return contact

    async def _requeue(self, conn: database.Conn, contact: Contact, *, why: str) -> Contact | None:
        try:
            moved = await store.transition(
                conn, contact.id, Action.REQUEUE, now=self._clock(), actor="twilio",
                recorder=self._recorder, reason={"why": why}, since=contact.state_changed_at,
            )  # fmt: skip
        except IllegalTransition:
            return None
        log.info("call.requeued", reference=contact.reference, why=why)
        return moved


async def _locked(conn: database.Conn, contact_id: int) -> Contact:
    row = await conn.fetchrow(queries.get("outbox_contact"), contact_id)
    if row is None:
        raise store.ContactNotFound(f"no contact has the id {contact_id}")
    return store.contact_from_row(row)
