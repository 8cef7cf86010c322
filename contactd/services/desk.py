"""The agent's desk: what an agent has before them, and what they do with it. Take an offer
(a ticket is called to their counter, a call or callback rings their phone), decline it,
finish, transfer; say whether they are available and at which counter they sit; recall a
ticket or mark a visitor who never came.

Every action names the contact by its reference as the agent wrote it, and is made only by
the agent it is offered to or held by. An accept and what it sets going (the call to the
counter, the Twilio request) are one transaction: a refusal rolls both back.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime

import asyncpg

from channels.phone.dialing import DialOrder, dial_item
from contactd.clock import Clock
from contactd.metrics import Recorder
from contactd.services import call_transfer, tickets
from contactd.services.call_legs import put_through
from contactd.settings import Settings
from contactd.store import agents, contacts, database, legs
from contactd.store import tickets as ticket_store
from contactd.store.agents import Agent
from contactd.store.contacts import Held
from contactd.store.staff import Staff
from routing.agents import AgentState
from routing.contact import Action, Channel, Contact, State
from routing.errors import DomainError, Kind
from routing.queues import NoQueue, Queue, choose_queue


class NoAgentProfile(DomainError):
    kind = Kind.NOT_FOUND
    code = "no_agent_profile"

    def __init__(self) -> None:
        super().__init__("you have no agent profile; ask a supervisor")


class NoCounter(DomainError):
    kind = Kind.CONFLICT
    code = "no_counter"

    def __init__(self) -> None:
        super().__init__("say which counter you sit at before you call a ticket")


class NotAccepted(DomainError):
    """A request the desk cannot take as given (an unknown case type, say)."""

    kind = Kind.INVALID
    code = "not_accepted"


class CannotPutThrough(DomainError):
    """A call cannot be put through to the agent's phone (raised with a code saying why)."""

    kind = Kind.CONFLICT
    code = "conflict"


class TicketRefused(DomainError):
    """A ticket action that cannot be made now (raised with a code saying why, for some)."""

    kind = Kind.CONFLICT
    code = "conflict"


@dataclasses.dataclass(frozen=True, kw_only=True)
class DeskRules:
    """What the desk needs of the configuration, and nothing more."""

    queues: Sequence[Queue]
    case_types: Sequence[str]  # in the configuration's order: an error lists them so
    wrap_up: bool  # a finished contact is followed by wrap-up time
    can_place_calls: bool  # Twilio is set up far enough to ring phones
    dial_order: DialOrder
    no_show_after_calls: int

    @classmethod
    def of(cls, settings: Settings) -> DeskRules:
        return cls(
            queues=settings.queues,
            case_types=tuple(settings.case_types),
            wrap_up=settings.routing.wrap_up_seconds > 0,
            can_place_calls=settings.can_place_calls,
            dial_order=settings.phone.dial_order,
            no_show_after_calls=settings.tickets.no_show_after_calls,
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class DeskView:
    """An agent's desk at `at`: their state and the contacts offered to or held by them."""

    at: datetime
    agent: Agent
    held: Sequence[Held]
    # A live call's consultation under way: contact id -> (the colleague's login, answered).
    consulting: Mapping[int, tuple[str, bool]] = dataclasses.field(default_factory=dict)


class Desk:
    def __init__(
        self, pool: asyncpg.Pool, rules: DeskRules, *, clock: Clock, recorder: Recorder
    ) -> None:
        self._pool = pool
        self._rules = rules
        self._clock = clock
        self._recorder = recorder

    async def view(self, staff_id: int) -> DeskView:
        """The agent's desk; NoAgentProfile if they have none."""
        agent = await agents.get(self._pool, staff_id)
        if agent is None:
            raise NoAgentProfile()
        held = await contacts.held_by(self._pool, staff_id)
        calls = [h.contact.id for h in held if h.contact.channel is Channel.CALL]
        consulting = {
            r["contact_id"]: (r["login"], r["answered"])
            for r in (await legs.live_of(self._pool, calls) if calls else [])
            if r["role"] == "consult"
        }
        # The daemon's time: the page counts offers down by it, not by the browser's clock.
        return DeskView(at=self._clock(), agent=agent, held=held, consulting=consulting)

    async def set_state(self, staff_id: int, state: AgentState) -> DeskView:
        """The agent available, away or offline from now; their desk after."""
        if state is AgentState.WRAP_UP:
            raise NotAccepted("wrap-up starts by itself when you finish a contact")
        if await agents.set_state(self._pool, staff_id, state, now=self._clock()) is None:
            raise NoAgentProfile()
        return await self.view(staff_id)

    async def set_counter(self, staff_id: int, counter: str | None) -> None:
        """The counter this caseworker sits at now (shown on the board when they call)."""
        if not await agents.set_counter(self._pool, staff_id, counter):
            raise NoAgentProfile()

    async def find(self, reference: str) -> Contact:
        """The contact whose reference a person wrote; ContactNotFound if none has it."""
        return await contacts.find(self._pool, reference)

    async def accept(self, person: Staff, reference: str) -> Contact:
        """Take the contact offered: a ticket is called to the counter, a callback dialled, a
        waiting call put through; anything else is simply the agent's now."""
        contact = await self.find(reference)
        if _through_twilio(contact):
            accepted = await self._accept_voice(person, contact)
        elif contact.channel is Channel.TICKET and await ticket_store.of(self._pool, contact.id):
            # A numbered ticket (not a walk-in registered by hand): called to a counter.
            accepted = await self._accept_ticket(person, contact)
        else:
            accepted = await self._act(self._pool, person, contact, Action.ACCEPT)
        await agents.offer_taken(self._pool, person.id)
        return accepted

    async def _accept_ticket(self, person: Staff, contact: Contact) -> Contact:
        """Accepting a ticket calls it to the caseworker's counter: the board shows it. Both
        in one transaction, so a ticket is never taken without being called."""
        agent = await agents.get(self._pool, person.id)
        if agent is None or agent.counter is None:
            raise NoCounter()
        now = self._clock()
        async with self._pool.acquire() as conn, conn.transaction():
            accepted = await self._act(conn, person, contact, Action.ACCEPT, now=now)
            await tickets.call(conn, accepted.id, agent.counter, now=now)
        return accepted

    async def _accept_voice(self, person: Staff, contact: Contact) -> Contact:
        """Accepting a callback dials it; accepting a waiting call puts the caller through.
        The accept and the Twilio request to make are one transaction."""
        agent = await agents.get(self._pool, person.id)
        now = self._clock()
        async with self._pool.acquire() as conn, conn.transaction():
            accepted = await self._act(conn, person, contact, Action.ACCEPT, now=now)
            if not self._rules.can_place_calls:
                raise CannotPutThrough(
                    "calls cannot be placed: Twilio is not configured (see docs/how-to/phone.md)",
                    code="phone_not_configured",
                )
            if agent is None or agent.phone is None:
                raise CannotPutThrough(
                    "calls are put through to your phone: ask a supervisor to add your phone "
                    "number to your agent profile",
                    code="no_phone",
                )
            if accepted.channel is Channel.CALLBACK:
                item = dial_item(accepted, agent.phone, self._rules.dial_order)
                await contacts.insert_outbox(conn, accepted.id, item, now=now)
            else:
                await put_through(conn, accepted, person.id, agent.phone, now=now)
        return accepted

    async def decline(self, person: Staff, reference: str) -> Contact:
        return await self._act(self._pool, person, await self.find(reference), Action.DECLINE)

    async def finish(
        self,
        person: Staff,
        reference: str,
        *,
        outcome: str,
        case_type: str | None,
        wrap_up: str | None = None,
    ) -> Contact:
        """The contact is done (its case type corrected if given, why the client contacted us
        recorded as a wrap-up code of its queue); the agent wraps up."""
        self._known_case_type(case_type)
        contact = await self.find(reference)
        self._wrap_up_allowed(contact, wrap_up)
        async with self._pool.acquire() as conn, conn.transaction():
            done = await self._act(
                conn, person, contact, Action.FINISH, outcome=outcome, case_type=case_type
            )
            if wrap_up is not None:
                done = await contacts.set_wrap_up(conn, done.id, wrap_up)
        if wrap_up is not None:
            self._recorder.wrapped_up(done.queue, done.channel, wrap_up)
        await self._finished(person)
        return done

    def _wrap_up_allowed(self, contact: Contact, wrap_up: str | None) -> None:
        queue = next((q for q in self._rules.queues if q.code == contact.queue), None)
        codes = queue.wrap_up if queue else ()
        if wrap_up is None:
            if queue is not None and queue.wrap_up_required:
                raise NotAccepted(
                    f"finishing a contact of {queue.code} needs a wrap_up: one of "
                    f"{', '.join(codes)}",
                    code="wrap_up_required",
                )
        elif wrap_up not in codes:
            known = ", ".join(codes) or "none"
            raise NotAccepted(f"unknown wrap_up {wrap_up!r} for {contact.queue}; known: {known}")

    async def transfer(
        self,
        person: Staff,
        reference: str,
        *,
        queue: str | None,
        case_type: str | None,
        agent: str | None = None,
    ) -> Contact:
        """To another queue, or to the queue of a corrected case type (triage's daily work).
        A live Twilio call keeps its caller (services/call_transfer.py): back in the
        wait of its new queue with its place kept, or put through at once to the phone of
        the colleague named by `agent` (then it stays in its queue unless one is named)."""
        self._known_case_type(case_type)
        contact = await self.find(reference)
        live = contact.state is State.ACTIVE and _through_twilio(contact)
        if agent is not None and not (live and contact.channel is Channel.CALL):
            raise NotAccepted("only a live call goes to a named colleague: transfer to a queue")
        reason: dict[str, str] = {"from_queue": contact.queue}
        to: Queue | None = None
        if queue is not None or case_type is not None:
            try:
                to = choose_queue(
                    self._rules.queues,
                    case_type=case_type or contact.case_type,
                    channel=contact.channel,
                    requested=queue,
                )
            except NoQueue as exc:
                raise NotAccepted(exc.message) from None
            reason["to_queue"] = to.code
        if case_type and case_type != contact.case_type:
            reason |= {"to_case_type": case_type, "from_case_type": contact.case_type}
        if live and contact.channel is Channel.CALL:
            move = call_transfer.Transfer(
                actor=person.actor, holder=person.id, queue=to, case_type=case_type,
                reason=reason | ({"to_agent": agent} if agent else {}), to_agent=agent,
            )  # fmt: skip
            return await call_transfer.transfer_call(
                self._pool, contact, move, now=self._clock(), recorder=self._recorder
            )
        return await self._act(
            self._pool,
            person,
            contact,
            Action.REQUEUE,
            queue=to,
            case_type=case_type,
            reason=reason,
        )

    async def recall(self, person: Staff, reference: str) -> tuple[Contact, int]:
        """Call the ticket again: the board shows it once more. The ticket, and how often it
        has been called."""
        contact = await self._held_ticket(person, reference)
        agent = await agents.get(self._pool, person.id)
        if agent is None or agent.counter is None:
            raise NoCounter()
        async with self._pool.acquire() as conn:
            calls = await tickets.call(conn, contact.id, agent.counter, now=self._clock())
        return contact, calls

    async def no_show(self, person: Staff, reference: str) -> Contact:
        """The visitor never came after being called enough times: the ticket is done."""
        contact = await self._held_ticket(person, reference)
        ticket = await ticket_store.of(self._pool, contact.id)
        needed = self._rules.no_show_after_calls
        calls = ticket.calls if ticket else 0
        if calls < needed:
            raise TicketRefused(
                f"call ticket {ticket.number if ticket else contact.reference} {needed} times "
                f"before marking a no-show (called {calls} times)",
                code="too_few_calls",
                details=[{"calls": calls, "needed": needed}],
            )
        try:
            done = await self._act(self._pool, person, contact, Action.FINISH, outcome="no_show")
        except contacts.NotHolder as exc:  # taken from them meanwhile: no longer theirs
            raise TicketRefused(exc.message) from None
        await self._finished(person)
        return done

    async def _held_ticket(self, person: Staff, reference: str) -> Contact:
        contact = await self.find(reference)
        if contact.channel is not Channel.TICKET:
            raise TicketRefused(f"contact {contact.reference} is not a ticket", code="not_ticket")
        if contact.agent_id != person.id or contact.state is not State.ACTIVE:
            raise TicketRefused(f"call ticket {contact.reference} to your counter first")
        return contact

    async def _act(
        self,
        db: database.Conn | asyncpg.Pool,
        person: Staff,
        contact: Contact,
        action: Action,
        *,
        now: datetime | None = None,
        outcome: str | None = None,
        queue: Queue | None = None,
        case_type: str | None = None,
        reason: Mapping[str, object] | None = None,
    ) -> Contact:
        """`action` applied to the contact as its holder: NotHolder if another agent holds
        it, IllegalTransition if its state does not allow it."""
        return await contacts.transition(
            db,
            contact.id,
            action,
            now=now or self._clock(),
            actor=person.actor,
            recorder=self._recorder,
            holder=person.id,
            outcome=outcome,
            queue=queue,
            case_type=case_type,
            reason=reason,
        )

    async def _finished(self, person: Staff) -> None:
        await agents.contact_finished(
            self._pool, person.id, wrap_up=self._rules.wrap_up, now=self._clock()
        )

    def _known_case_type(self, code: str | None) -> None:
        if code is not None and code not in self._rules.case_types:
            known = ", ".join(self._rules.case_types)
            raise NotAccepted(f"unknown case type {code!r}; known: {known}")


def _through_twilio(contact: Contact) -> bool:
    """A callback with a number to dial, or a call waiting on Twilio's line (not one staff
    registered by hand): accepting it makes Twilio ring the agent's phone."""
    if contact.channel is Channel.CALLBACK:
        return contact.client_address is not None
    return contact.channel is Channel.CALL and (contact.external_id or "").startswith("CA")
