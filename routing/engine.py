"""The routing engine: which waiting contacts to offer to which free agents, and why.

A pure function of the waiting contacts, the free agents, the queues and the time:

- contacts are taken most urgent first, across all queues and channels: a priority of the
  contact's own above its queue's first (the higher the sooner), then the earliest due_at
  (the contact closest to breaking its promise), then the higher priority, then the longest
  wait (`order_of`; the router's query gives them in this order);
- an agent is eligible when they have free capacity on the contact's channel, speak its
  language, and have its case type at or above the level the contact requires now;
- the required level relaxes with waiting time in the queue's bullseye steps;
- after the queue's overflow time, agents of its overflow queues are eligible too;
- among eligible agents: the highest skill, then the longest idle.

The pass is greedy in urgency order and runs in about O(contacts + agents × skills):
agents are indexed per (channel, language, case type) in preference order, and an index
only moves forward as agents run out of capacity, because capacity only shrinks in a pass.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from routing.agents import AgentView
from routing.contact import Channel, Language


@dataclasses.dataclass(frozen=True, kw_only=True)
class BullseyeStep:
    after_seconds: int
    level: int


DEFAULT_BULLSEYE = (BullseyeStep(after_seconds=0, level=1),)


@dataclasses.dataclass(frozen=True, kw_only=True)
class QueueRules:
    """What the engine needs of a queue."""

    code: str
    case_types: frozenset[str]
    bullseye: tuple[BullseyeStep, ...] = DEFAULT_BULLSEYE
    overflow_to: tuple[str, ...] = ()
    overflow_after_seconds: int | None = None
    priority: int = 0  # the queue's own: a contact above it has a priority of its own

    def step_at(self, waited_seconds: float) -> int:
        """The index of the bullseye step in force after waiting this long."""
        index = 0
        for i, step in enumerate(self.bullseye):
            if waited_seconds >= step.after_seconds:
                index = i
        return index


@dataclasses.dataclass(frozen=True, kw_only=True)
class WaitingContact:
    id: int
    channel: Channel
    language: Language
    case_type: str
    queue: str
    priority: int
    due_at: datetime
    waiting_since: datetime  # entry into the queue; kept when an offer is declined
    passed_by: frozenset[int] = frozenset()  # agents who declined or passed it on


@dataclasses.dataclass(frozen=True, kw_only=True)
class Policy:
    """How the engine chooses. `CONTACTD` below is the daemon's routing, its only one; the
    what-if lab (whatif/) plays others beside it at equal staffing, to measure what each rule
    is worth (docs/how-to/whatif.md).

    `order`: "promise" takes the contact with the earliest due time first (the one closest
    to breaking its promise) across channels; "arrival" the one waiting longest.
    `priority` says what a contact's priority does before that: "first", the higher goes
    first, whatever its due time; "own", only a contact's own priority above its queue's
    (the difference: a ticket for an appointment +5 or for assistance +3, a priority set by
    staff above the queue's, the priority kept from a higher queue by a transfer) goes
    first, the higher the sooner, and the priority only breaks ties after the due time;
    "none", priorities are ignored.
    `agents`: "skill" offers to the highest skill level in the contact's case type, then the
    longest idle, with the bullseye steps; "idle" to the agent idle longest among those who
    serve the contact's queue (have a skill in one of its case types), as Asterisk's
    app_queue does with its `leastrecent` strategy. `overflow`: False never overflows.

    The daemon orders by promise with priority "own": a queue's priority only breaks ties
    between contacts due at the same moment, so no queue waits while another's contacts,
    due later, are served. Strict priority ("first") starved the low-priority queues: on
    the shipped model day the lab's staffing search (`contactd whatif --search`) needed
    about 187 agent-hours to meet every goal with it, about 171 with Asterisk's plain FIFO,
    and about 155 with "own" (issue 21; the goals alone: docs/reference/routing.md has the
    figures with at most 5 % of callers hanging up).
    """

    order: str = "promise"
    priority: str = "first"
    agents: str = "skill"
    overflow: bool = True

    def __post_init__(self) -> None:
        for name, value, allowed in (
            ("order", self.order, ("promise", "arrival")),
            ("priority", self.priority, ("first", "own", "none")),
            ("agents", self.agents, ("skill", "idle")),
        ):
            if value not in allowed:
                raise ValueError(f"{name} {value!r}: use {' or '.join(map(repr, allowed))}")


# The daemon's routing: by promise, a contact's own priority first (see Policy).
CONTACTD = Policy(priority="own")


class Reason(NamedTuple):
    """Why this agent got this contact, stored with the offer.

    (Named tuples rather than frozen dataclasses: a pass makes thousands of offers, and a
    tuple is built several times faster.)
    """

    rule: str  # "skill" or "overflow"
    step: int  # the bullseye step in force
    required_level: int
    skill: int  # the agent's level in the contact's case type (0: none, via overflow)
    waited_seconds: float
    via_queue: str  # the queue whose agents took it (its own, or an overflow queue)

    def as_dict(self) -> dict[str, object]:
        return dict(self._asdict())


class Offer(NamedTuple):
    """An offer to make, flat (one object per offer in the hot path); `reason` gives the
    why as a record of its own."""

    contact_id: int
    agent_id: int
    rule: str
    step: int
    required_level: int
    skill: int
    waited_seconds: float
    via_queue: str

    @property
    def reason(self) -> Reason:
        return Reason(*self[2:])


class _Index:
    """Agents in preference order under one key, consumed from the front, per channel.

    The order does not depend on the channel, so one list serves all channels, each with
    its own position: an agent out of room on a channel is passed for good on that channel.
    """

    __slots__ = ("agents", "positions")

    def __init__(self, agents: list[AgentView]) -> None:
        self.agents = agents
        self.positions: dict[Channel, int] = {}

    def head(
        self, channel: Channel, room: Mapping[int, int], passed_by: frozenset[int]
    ) -> AgentView | None:
        """The first agent with room on `channel` (`room`: that channel's room per agent)
        who has not passed this contact on before."""
        agents = self.agents
        position = self.positions.get(channel, 0)
        while position < len(agents):
            agent = agents[position]
            if room.get(agent.id, 0) > 0:
                break
            position += 1
        self.positions[channel] = position
        if not passed_by:
            return agents[position] if position < len(agents) else None
        # Rare: look further for this contact only, without moving the shared position.
        for agent in agents[position:]:
            if agent.id not in passed_by and room.get(agent.id, 0) > 0:
                return agent
        return None


def route(
    contacts: Iterable[WaitingContact],
    agents: Sequence[AgentView],
    queues: Mapping[str, QueueRules],
    now: datetime,
    *,
    presorted: bool = False,
    policy: Policy = CONTACTD,
) -> list[Offer]:
    """The offers to make now. `presorted` says the contacts come in the policy's order
    already (the router's query orders them so), which saves the sort."""
    free, skill_index, queue_index = _free_agents(agents, queues)
    left = {channel: sum(room.values()) for channel, room in free.items()}
    plan = _plan(queues, now) if policy.overflow else _plan_without_overflow(queues, now)
    by_skill = policy.agents == "skill"
    offers = []
    no_index: dict[str, _Index] = {}
    for contact in contacts if presorted else sorted(contacts, key=order_of(policy, queues)):
        channel = contact.channel
        if left.get(channel, 0) <= 0:
            continue
        room = free[channel]
        since = contact.waiting_since
        steps, overflow_since, overflow_to = plan[contact.queue]
        step, required = 0, steps[-1][1]
        for i, level, moment in steps:
            if since <= moment:
                step, required = i, level
                break
        if by_skill:
            index = skill_index.get(contact.language, no_index).get(contact.case_type)
            agent = index.head(channel, room, contact.passed_by) if index is not None else None
            rule, via = "skill", contact.queue
        else:  # any member of the queue, longest idle first, whatever their level
            agent, via = _longest_idle_of(
                (contact.queue,), channel, queue_index.get(contact.language, no_index), room,
                contact.passed_by,
            )  # fmt: skip
            rule, required = "queue", 0
        if agent is None or agent.skills.get(contact.case_type, 0) < required:
            if overflow_since is None or since > overflow_since:
                continue
            overflow_index = queue_index.get(contact.language, no_index)
            agent, via = _longest_idle_of(
                overflow_to, channel, overflow_index, room, contact.passed_by
            )
            rule = "overflow"
            if agent is None:
                continue
        room[agent.id] -= 1
        left[channel] -= 1
        offers.append(Offer(  # positional: a hot path
            contact.id, agent.id, rule, step, required, agent.skills.get(contact.case_type, 0),
            (now - since).total_seconds(), via,
        ))  # fmt: skip
    return offers


# Per queue: its bullseye steps, last first, each with the moment a contact must have entered
# the queue by to have reached it; the moment to overflow by, and where to.
_Plan = tuple[list[tuple[int, int, datetime]], datetime | None, tuple[str, ...]]
_ByLanguage = dict[Language, dict[str, "_Index"]]


def _free_agents(
    agents: Sequence[AgentView], queues: Mapping[str, QueueRules]
) -> tuple[dict[Channel, dict[int, int]], _ByLanguage, _ByLanguage]:
    """The room of each agent with some, per channel; and those agents indexed by language
    and case type (highest skill first) and by language and queue (longest idle first)."""
    # Plain nested dicts keyed by values, not tuples: a pass looks them up tens of thousands
    # of times, and every tuple built is garbage for the collector.
    free: dict[Channel, dict[int, int]] = defaultdict(dict)
    by_skill: dict[Language, dict[str, list[AgentView]]] = defaultdict(lambda: defaultdict(list))
    by_queue: dict[Language, dict[str, list[AgentView]]] = defaultdict(lambda: defaultdict(list))
    queues_of_case_type: dict[str, list[str]] = defaultdict(list)
    for queue in queues.values():
        for case_type in queue.case_types:
            queues_of_case_type[case_type].append(queue.code)
    for view in agents:
        has_room = False
        for channel, n in view.free.items():
            if n > 0:
                free[channel][view.id] = n
                has_room = True
        if not has_room:
            continue
        member_of = {q for ct in view.skills for q in queues_of_case_type.get(ct, ())}
        for language in view.languages:
            for case_type in view.skills:
                by_skill[language][case_type].append(view)
            for queue_code in member_of:
                by_queue[language][queue_code].append(view)
    skill_index = {
        language: {ct: _Index(_by_skill(group, ct)) for ct, group in groups.items()}
        for language, groups in by_skill.items()
    }
    queue_index = {
        language: {
            code: _Index(sorted(group, key=lambda a: (a.idle_since, a.id)))
            for code, group in groups.items()
        }
        for language, groups in by_queue.items()
    }
    return free, skill_index, queue_index


def _plan(queues: Mapping[str, QueueRules], now: datetime) -> dict[str, _Plan]:
    """Comparing datetimes is cheaper than computing every contact's wait, and one lookup
    per contact finds all of it."""
    return {
        code: (
            [
                (i, step.level, now - timedelta(seconds=step.after_seconds))
                for i, step in reversed(list(enumerate(q.bullseye)))
            ],
            now - timedelta(seconds=q.overflow_after_seconds)
            if q.overflow_after_seconds is not None and q.overflow_to
            else None,
            q.overflow_to,
        )
        for code, q in queues.items()
    }


def _by_skill(agents: list[AgentView], case_type: str) -> list[AgentView]:
    """Highest skill in the case type first, then the longest idle."""
    return sorted(agents, key=lambda a: (-a.skills[case_type], a.idle_since, a.id))


def _urgency(contact: WaitingContact) -> tuple[int, datetime, datetime, int]:
    return (-contact.priority, contact.due_at, contact.waiting_since, contact.id)


def order_of(
    policy: Policy, queues: Mapping[str, QueueRules]
) -> Callable[[WaitingContact], tuple[Any, ...]]:
    """The sort key that puts waiting contacts in the order `policy` takes them."""
    by_promise = policy.order == "promise"
    if policy.priority == "first":
        if by_promise:
            return _urgency
        return lambda c: (-c.priority, c.waiting_since, c.id)
    if policy.priority == "none":
        if by_promise:
            return lambda c: (c.due_at, c.waiting_since, c.id)
        return lambda c: (c.waiting_since, c.id)
    base = {code: q.priority for code, q in queues.items()}

    def own(c: WaitingContact) -> tuple[Any, ...]:
        boost = max(0, c.priority - base.get(c.queue, 0))
        when = c.due_at if by_promise else c.waiting_since
        return (-boost, when, -c.priority, c.waiting_since, c.id)

    return own


def _plan_without_overflow(queues: Mapping[str, QueueRules], now: datetime) -> dict[str, _Plan]:
    return {code: (steps, None, ()) for code, (steps, _, _) in _plan(queues, now).items()}


def _longest_idle_of(
    overflow_to: Sequence[str],
    channel: Channel,
    index: Mapping[str, _Index],
    room: Mapping[int, int],
    passed_by: frozenset[int],
) -> tuple[AgentView | None, str]:
    best: AgentView | None = None
    via = ""
    for code in overflow_to:
        queue = index.get(code)
        candidate = queue.head(channel, room, passed_by) if queue else None
        if candidate is not None and (
            best is None or (candidate.idle_since, candidate.id) < (best.idle_since, best.id)
        ):
            best, via = candidate, code
    return best, via
