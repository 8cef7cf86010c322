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
class CaseType:
    code: str
    name_da: str
    name_en: str
    processing_goal: str  # e.g. "10 months": what the agency promises for deciding the case
    checklist_url: str  # where clients find what to send, told by every channel


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
        )


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
