"""Queues: where contacts wait for agents, and which queue a new contact belongs to."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from routing.calendar import BusinessCalendar
from routing.contact import Channel
from routing.engine import DEFAULT_BULLSEYE, BullseyeStep, QueueRules
from routing.errors import DomainError, Kind
from routing.goals import ServiceGoal


@dataclasses.dataclass(frozen=True, kw_only=True)
class ProcessingGoal:
    """The longest the agency promises a case takes to decide ("10 months"), told to clients
    in their language by the channels (a number and a unit, so that each language words it)."""

    amount: int
    unit: str  # "day", "week", "month" or "year"

    UNITS = ("day", "week", "month", "year")

    @classmethod
    def parse(cls, text: str) -> ProcessingGoal:
        amount, _, unit = text.strip().partition(" ")
        unit = unit.strip().removesuffix("s")
        if not amount.isdigit() or int(amount) < 1 or unit not in cls.UNITS:
            raise ValueError(f"{text!r} is not a number of days, weeks, months or years")
        return cls(amount=int(amount), unit=unit)

    def __str__(self) -> str:
        return f"{self.amount} {self.unit}{'' if self.amount == 1 else 's'}"


@dataclasses.dataclass(frozen=True, kw_only=True)
class CaseType:
    code: str
    name_da: str
    name_en: str
    processing_goal: ProcessingGoal | None  # what the agency promises for deciding the case
    checklist_url: str  # where clients find what to send, told by every channel
    # The name in the other languages clients are served in, and the checklist in a
    # language that has its own (a language without one gets `checklist_url`).
    names: Mapping[str, str] = dataclasses.field(default_factory=dict)
    checklists: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def name(self, lang: str) -> str:
        return named(lang, self.name_da, self.name_en, self.names)

    def checklist(self, lang: str) -> str:
        return self.checklists.get(lang, self.checklist_url)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Queue:
    code: str
    name_da: str
    name_en: str
    case_types: frozenset[str]
    channels: frozenset[Channel]
    goals: Mapping[Channel, ServiceGoal]
    priority: int
    calendar: BusinessCalendar
    overflow_to: tuple[str, ...] = ()
    overflow_after_seconds: int | None = None
    bullseye: tuple[BullseyeStep, ...] = DEFAULT_BULLSEYE
    # A channel may keep other hours than the queue (the inbox counts office hours).
    channel_calendars: Mapping[Channel, BusinessCalendar] = dataclasses.field(default_factory=dict)
    ticket_letter: str | None = None  # service-centre tickets: A001, A002, ...
    csat_share: float = 0.0  # the share of finished contacts asked about their satisfaction
    wrap_up: tuple[str, ...] = ()  # why clients contact the queue: codes a caseworker picks
    wrap_up_required: bool = False  # a contact is finished only with one of them
    names: Mapping[str, str] = dataclasses.field(default_factory=dict)  # in other languages

    def name(self, lang: str) -> str:
        return named(lang, self.name_da, self.name_en, self.names)

    def calendar_for(self, channel: Channel) -> BusinessCalendar:
        return self.channel_calendars.get(channel, self.calendar)

    def rules(self) -> QueueRules:
        """What the routing engine needs of this queue."""
        return QueueRules(
            code=self.code,
            case_types=self.case_types,
            bullseye=self.bullseye,
            overflow_to=self.overflow_to,
            overflow_after_seconds=self.overflow_after_seconds,
            priority=self.priority,
        )


def named(lang: str, da: str, en: str, others: Mapping[str, str]) -> str:
    """A name in `lang`: Danish and English always exist (the staff's languages); another
    language has its own when configured (the configuration checks every served one)."""
    if lang == "da":
        return da
    return others.get(lang, en)


class NoQueue(DomainError):
    """No queue takes this case type on this channel."""

    kind = Kind.INVALID
    code = "no_queue"


def choose_queue(
    queues: Sequence[Queue], *, case_type: str, channel: Channel, requested: str | None = None
) -> Queue:
    """The queue for a new contact: the one staff named, else the first that takes its
    case type on its channel (configuration order decides ties)."""
    if requested is not None:
        by_code: Mapping[str, Queue] = {q.code: q for q in queues}
        queue = by_code.get(requested)
        if queue is None:
            raise NoQueue(f"unknown queue {requested!r}; known: {', '.join(by_code)}")
        if channel not in queue.channels:
            raise NoQueue(f"queue {requested!r} does not take {channel} contacts")
        return queue
    for queue in queues:
        if case_type in queue.case_types and channel in queue.channels:
            return queue
    raise NoQueue(f"no queue takes case type {case_type!r} on channel {channel}")
