"""The contact store: every change of a contact is one transaction that also logs an event."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime

import asyncpg

from channels.ports import OutboxItem
from contactd.metrics import Recorder
from contactd.store import database, queries
from routing.contact import (
    TRANSITIONS,
    Action,
    CaseTypeSource,
    Channel,
    Contact,
    Event,
    Guess,
    IllegalTransition,
    Language,
    State,
    new_reference,
    normalise_reference,
)
from routing.errors import DomainError, Kind
from routing.queues import Queue

Executor = database.Conn | asyncpg.Pool


class ContactNotFound(DomainError):
    kind = Kind.NOT_FOUND
    code = "not_found"


class NotHolder(DomainError):
    """The contact is not offered to, or held by, the agent who acted on it."""

    kind = Kind.FORBIDDEN
    code = "not_holder"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Held:
    """A contact on an agent's desk, with what the desk shows beside it."""

    contact: Contact
    offer_expires_at: datetime | None  # None: accepted, no longer an offer
    message_count: int  # its e-mails: a reply that arrives makes the desk show it
    ticket_number: str | None
    ticket_calls: int | None


@dataclasses.dataclass(frozen=True, kw_only=True)
class Load:
    """How many contacts of one queue and channel wait, are offered or are being handled."""

    queue: str
    channel: str
    waiting: int
    offered: int
    active: int
    oldest_wait_seconds: float  # 0 when none waits


def contact_from_row(row: asyncpg.Record) -> Contact:
    return Contact(
        id=row["id"],
        reference=row["reference"],
        channel=Channel(row["channel"]),
        case_type=row["case_type"],
        case_type_source=CaseTypeSource(row["case_type_source"]),
        confidence=row["confidence"],
        language=Language(row["language"]),
        client_language=row["client_language"],
        queue=row["queue"],
        priority=row["priority"],
        state=State(row["state"]),
        created_at=row["created_at"],
        state_changed_at=row["state_changed_at"],
        due_at=row["due_at"],
        external_id=row["external_id"],
        client_address=row["client_address"],
        subject=row["subject"],
        text=row["body"],
        agent_id=row["agent_id"],
        attempts=row["attempts"],
        outcome=row["outcome"],
        guesses=tuple(Guess(g["case_type"], g["confidence"]) for g in row["guesses"] or ()),
        first_response_at=row["first_response_at"],
        answered_at=row["answered_at"],
        closed_at=row["closed_at"],
    )


async def insert_contact(
    db: Executor,
    *,
    channel: Channel,
    external_id: str | None,
    case_type: str,
    case_type_source: CaseTypeSource,
    confidence: float | None,
    language: Language,
    client_language: str | None = None,
    queue: str,
    priority: int,
    due_at: datetime,
    not_before: datetime | None = None,
    created_at: datetime,
    client_address: str | None,
    subject: str | None,
    text: str | None,
    actor: str,
    reason: Mapping[str, object],
    guesses: Sequence[Guess] = (),
) -> tuple[Contact, bool]:
    """Insert a queued contact with its 'created' event and wake the router.

    Returns (contact, created). A known (channel, external_id) returns the existing contact
    with created False, so a retried webhook or a re-read mail never makes a second one.
    """
    for _ in range(5):
        try:
            row = await db.fetchrow(
                queries.get("insert_contact"),
                new_reference(), channel, external_id, case_type, case_type_source, confidence,
                language, queue, priority, due_at, client_address, subject, text, created_at,
                actor, dict(reason), [dataclasses.asdict(g) for g in guesses] or None,
                not_before, client_language,
            )  # fmt: skip
        except asyncpg.UniqueViolationError as exc:
            if exc.constraint_name == "contacts_reference_key":
                continue  # a random reference collided (1 in 5e10): draw another
            raise
        if row is not None:
            return contact_from_row(row), True
        existing = await db.fetchrow(queries.get("contact_by_external_id"), channel, external_id)
        if existing is not None:
            return contact_from_row(existing), False
        # The other contact was deleted between our insert and read; try again.
    raise RuntimeError("could not insert the contact after 5 attempts")


async def get_by_reference(db: Executor, reference: str) -> Contact:
    row = await db.fetchrow(queries.get("contact_by_reference"), reference)
    if row is None:
        raise ContactNotFound(f"no contact has the reference {reference!r}")
    return contact_from_row(row)


async def find(db: Executor, text: str) -> Contact:
    """The contact whose reference a person wrote as `text` (any case, with or without its
    dashes); ContactNotFound, quoting `text`, if none has it or it cannot be a reference."""
    try:
        return await get_by_reference(db, normalise_reference(text))
    except (ValueError, ContactNotFound):
        raise ContactNotFound(f"no contact has the reference {text!r}") from None


async def set_wrap_up(db: Executor, contact_id: int, wrap_up: str) -> Contact:
    """Why the client contacted us, recorded on a finished contact."""
    row = await db.fetchrow(queries.get("set_wrap_up"), contact_id, wrap_up)
    if row is None:
        raise ContactNotFound(f"no contact has the id {contact_id}")
    return contact_from_row(row)


async def get_by_id(db: Executor, contact_id: int) -> Contact:
    row = await db.fetchrow(queries.get("contact_by_id"), contact_id)
    if row is None:
        raise ContactNotFound(f"no contact has the id {contact_id}")
    return contact_from_row(row)


async def get_by_external_id(db: Executor, channel: Channel, external_id: str) -> Contact | None:
    row = await db.fetchrow(queries.get("contact_by_external_id"), channel, external_id)
    return contact_from_row(row) if row else None


async def held_by(db: Executor, staff_id: int) -> list[Held]:
    """What an agent has on the desk: offered and active contacts, oldest change first."""
    return [
        Held(
            contact=contact_from_row(r),
            offer_expires_at=r["offer_expires_at"],
            message_count=r["message_count"],
            ticket_number=r["ticket_number"],
            ticket_calls=r["ticket_calls"],
        )
        for r in await db.fetch(queries.get("contacts_held_by"), staff_id)
    ]


async def load_by_queue(db: Executor, now: datetime) -> list[Load]:
    """Per queue and channel, what waits, is offered or handled, and the oldest wait at `now`."""
    return [
        Load(
            queue=r["queue"],
            channel=r["channel"],
            waiting=r["waiting"],
            offered=r["offered"],
            active=r["active"],
            oldest_wait_seconds=float(r["oldest_wait_seconds"] or 0),
        )
        for r in await db.fetch(queries.get("queue_overview"), now)
    ]


async def events(db: Executor, contact_id: int) -> list[Event]:
    rows = await db.fetch(queries.get("events_of_contact"), contact_id)
    return [
        Event(
            at=r["at"],
            action=r["action"],
            from_state=State(r["from_state"]) if r["from_state"] else None,
            to_state=State(r["to_state"]),
            actor=r["actor"],
            reason=r["reason"],
        )
        for r in rows
    ]


async def transition(
    db: Executor,
    contact_id: int,
    action: Action,
    *,
    now: datetime,
    actor: str,
    recorder: Recorder,
    reason: Mapping[str, object] | None = None,
    agent_id: int | None = None,
    outcome: str | None = None,
    holder: int | None = None,
    queue: Queue | None = None,
    case_type: str | None = None,
    due_at: datetime | None = None,
    since: datetime | None = None,
) -> Contact:
    """Apply `action` to the contact at `now` in one statement that also appends the event.

    `holder` requires the contact to be offered to or held by that agent; `since` requires
    it to be in the state that began then (the acceptance a webhook was checked against);
    `queue` moves it to another queue (a transfer), its priority raised to the queue's if
    lower (as intake gives it: the priority kept from a higher queue stays, and within a
    queue the routing's order and the positions told agree); `case_type` corrects it.
    Raises NotHolder when another agent holds it, IllegalTransition when its state does not
    allow the action (an expired offer, say; nothing changes then), ContactNotFound when
    there is no such contact.
    """
    rule = TRANSITIONS[action]
    if action is Action.OFFER and agent_id is None:
        raise ValueError("an offer needs the agent it is made to")
    row = await db.fetchrow(
        queries.get("transition_contact"),
        contact_id,
        rule.to,
        sorted(rule.allowed_from),
        action,
        actor,
        dict(reason or {}),
        agent_id,
        action is Action.ACCEPT,  # an attempt: an agent took it (a callback: a dial)
        outcome,
        holder,
        None if queue is None else queue.code,
        case_type,
        due_at,
        now,
        since,
        None if queue is None else queue.priority,
    )
    if row is not None:
        contact = contact_from_row(row)
        recorder.transitioned(action, contact)
        return contact
    current = await get_by_id(db, contact_id)
    if holder is not None and current.agent_id not in (None, holder):
        raise NotHolder(f"contact {current.reference} is not offered to or held by you")
    raise IllegalTransition(reference=current.reference, action=action, state=current.state)


# Named helpers for the transitions that carry a reason of their own (the channels' cases).


async def abandon(
    db: Executor, contact_id: int, *, now: datetime, actor: str, recorder: Recorder, why: str
) -> Contact:
    return await transition(
        db,
        contact_id,
        Action.ABANDON,
        now=now,
        actor=actor,
        recorder=recorder,
        reason={"why": why},
        outcome="abandoned",
    )


async def cancel(
    db: Executor,
    contact_id: int,
    *,
    now: datetime,
    actor: str,
    recorder: Recorder,
    merged_into: str,
) -> Contact:
    return await transition(
        db,
        contact_id,
        Action.CANCEL,
        now=now,
        actor=actor,
        recorder=recorder,
        reason={"merged_into": merged_into},
        outcome="merged",
    )


async def insert_outbox(
    db: Executor, contact_id: int | None, item: OutboxItem, *, now: datetime
) -> None:
    """A message to send from `now`, once this transaction commits (the outbox loop is
    woken)."""
    await db.execute(
        queries.get("insert_outbox"), contact_id, item.kind, item.payload, item.key, now
    )


async def withdraw_outbox(db: Executor, contact_id: int, *, why: str, now: datetime) -> None:
    """The contact's messages not sent yet no longer make sense (a cancelled ticket's SMS)."""
    await db.execute(queries.get("withdraw_outbox"), contact_id, why, now)
