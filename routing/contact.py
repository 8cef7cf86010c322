"""The contact: one inquiry through one channel, and the rules of its life cycle."""

from __future__ import annotations

import dataclasses
import enum
import secrets
from collections.abc import Mapping
from datetime import datetime

from routing.errors import DomainError, Kind


class Channel(enum.StrEnum):
    CALL = "call"
    CALLBACK = "callback"
    EMAIL = "email"
    TICKET = "ticket"


class State(enum.StrEnum):
    QUEUED = "queued"
    OFFERED = "offered"
    ACTIVE = "active"
    DONE = "done"
    ABANDONED = "abandoned"
    CANCELLED = "cancelled"


class CaseTypeSource(enum.StrEnum):
    IVR = "ivr"
    CLASSIFIER = "classifier"
    STAFF = "staff"
    FORM = "form"


class Language(enum.StrEnum):
    DA = "da"
    EN = "en"


class Action(enum.StrEnum):
    """What can happen to a contact; each names one transition of docs/architecture.md."""

    OFFER = "offer"
    ACCEPT = "accept"
    DECLINE = "decline"
    EXPIRE = "expire"  # an offer that timed out
    FINISH = "finish"
    REQUEUE = "requeue"  # transfer, or a callback attempt that must be retried
    ABANDON = "abandon"
    CANCEL = "cancel"
    REOPEN = "reopen"  # the client wrote again about a finished e-mail contact


@dataclasses.dataclass(frozen=True, kw_only=True)
class Transition:
    allowed_from: frozenset[State]
    to: State


TRANSITIONS: Mapping[Action, Transition] = {
    Action.OFFER: Transition(allowed_from=frozenset({State.QUEUED}), to=State.OFFERED),
    Action.ACCEPT: Transition(allowed_from=frozenset({State.OFFERED}), to=State.ACTIVE),
    Action.DECLINE: Transition(allowed_from=frozenset({State.OFFERED}), to=State.QUEUED),
    Action.EXPIRE: Transition(allowed_from=frozenset({State.OFFERED}), to=State.QUEUED),
    Action.FINISH: Transition(allowed_from=frozenset({State.ACTIVE}), to=State.DONE),
    Action.REQUEUE: Transition(allowed_from=frozenset({State.ACTIVE}), to=State.QUEUED),
    Action.ABANDON: Transition(
        allowed_from=frozenset({State.QUEUED, State.OFFERED}), to=State.ABANDONED
    ),
    Action.CANCEL: Transition(allowed_from=frozenset({State.QUEUED}), to=State.CANCELLED),
    Action.REOPEN: Transition(allowed_from=frozenset({State.DONE}), to=State.QUEUED),
}


class IllegalTransition(DomainError):
    """The contact is not in a state from which the action may happen."""

    kind = Kind.CONFLICT
    code = "conflict"

    def __init__(self, *, reference: str, action: Action, state: State) -> None:
        allowed = ", ".join(sorted(TRANSITIONS[action].allowed_from))
        super().__init__(
            f"cannot {action} contact {reference}: it is {state}; {action} needs {allowed}"
        )
        self.reference = reference
        self.action = action
        self.state = state


def next_state(action: Action, current: State) -> State:
    """The state after `action`, or raise ValueError when the action is not allowed now."""
    transition = TRANSITIONS[action]
    if current not in transition.allowed_from:
        raise ValueError(f"{action} is not allowed from {current}")
    return transition.to


# Letters and digits that cannot be confused when read aloud or from a ticket
# (no 0/O, 1/I/L, 2/Z, 5/S, 8/B, G/6).
REFERENCE_ALPHABET = "ACDEFHJKMNPRTUVWXY3479"
REFERENCE_LENGTH = 8


def new_reference() -> str:
    """A short random reference shown to clients, e.g. 'K7MA-P3XR'.

    One read of 64 random bits, written in base 22: 22**8 is 5.5e10, so the bias of the
    modulo is below 1e-8, and one system call is cheaper than eight.
    """
    number = int.from_bytes(secrets.token_bytes(8), "big")
    base = len(REFERENCE_ALPHABET)
    chars = []
    for _ in range(REFERENCE_LENGTH):
        number, digit = divmod(number, base)
        chars.append(REFERENCE_ALPHABET[digit])
    return f"{''.join(chars[:4])}-{''.join(chars[4:])}"


def normalise_reference(text: str) -> str:
    """Accept a reference as people type it: any case, with or without the dash or spaces."""
    chars = "".join(c for c in text.upper() if c.isalnum())
    if len(chars) != REFERENCE_LENGTH or any(c not in REFERENCE_ALPHABET for c in chars):
        raise ValueError(f"not a contact reference: {text!r}")
    return f"{chars[:4]}-{chars[4:]}"


@dataclasses.dataclass(frozen=True)
class Guess:
    """One of the classifier's top guesses for a contact, shown to staff in triage."""

    case_type: str
    confidence: float


@dataclasses.dataclass(frozen=True, kw_only=True)
class NewContact:
    """What a channel hands to intake. case_type None asks intake to classify `text`."""

    channel: Channel
    language: Language | None = None  # None: detected from the text (Danish if unclear)
    case_type: str | None = None
    case_type_source: CaseTypeSource | None = None
    confidence: float | None = None
    queue: str | None = None  # staff may name the queue; otherwise config picks it
    priority: int = 0
    external_id: str | None = None
    client_address: str | None = None
    subject: str | None = None
    text: str | None = None
    received_at: datetime | None = None
    due_at: datetime | None = None  # the channel's own promise (a callback window's end)
    not_before: datetime | None = None  # not offered before (a callback window's start)
    # The language the client reads, when the channel knows it (the booking page's); None:
    # read from the script of the text, if it is not Danish or English.
    client_language: str | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class Contact:
    id: int
    reference: str
    channel: Channel
    case_type: str
    case_type_source: CaseTypeSource
    confidence: float | None
    language: Language
    queue: str
    priority: int
    state: State
    created_at: datetime
    state_changed_at: datetime
    due_at: datetime
    external_id: str | None
    client_address: str | None
    subject: str | None
    text: str | None
    agent_id: int | None
    attempts: int
    outcome: str | None
    guesses: tuple[Guess, ...] = ()
    first_response_at: datetime | None = None  # the first answer sent (e-mail)
    answered_at: datetime | None = None  # first taken by an agent (a ticket: called)
    closed_at: datetime | None = None  # finished, abandoned or cancelled
    # The language the client reads, when not `language` (an Arabic e-mail, a booking page
    # read in Ukrainian); what contactd writes to the client itself is in it. None: `language`.
    client_language: str | None = None

    @property
    def reads(self) -> tuple[str, ...]:
        """The languages to write to the client in, the one they read first."""
        return (self.client_language, self.language) if self.client_language else (self.language,)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Event:
    at: datetime
    action: str  # 'created' or an Action
    from_state: State | None
    to_state: State
    actor: str
    reason: Mapping[str, object]
