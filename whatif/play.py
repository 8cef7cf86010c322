"""One run: a scenario played under one routing policy with one seed.

A discrete-event simulation. Contacts arrive (Poisson, per quarter hour, by the traffic's
profile), wait in the daemon's queues with the due time their goal sets, and are offered
by routing.engine.route, the function the daemon's router calls, with the policy asked
for. An offer is taken at once; the contact is handled for its drawn time and the agent's
idle clock restarts when it ends, as in the daemon. Callers hang up when their patience
runs out; a callback nobody answers is tried again; agents come and go with their shifts
and breaks. Everything random comes from one seeded generator: a seed plays the same day.

The run records each contact's queue, channel, wait and outcome, and each agent's busy
and working time; results.py turns them into the service figures.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime, time, timedelta
from functools import partial

import numpy as np

from routing.agents import AgentView
from routing.calendar import BusinessCalendar
from routing.contact import Channel, Language
from routing.engine import CONTACTD, Policy, QueueRules, WaitingContact, route
from routing.queues import NoQueue, Queue, choose_queue
from whatif.scenario import Agent, Scenario

SLOT = timedelta(minutes=15)  # arrivals are drawn per quarter hour of the profile
ARRIVE, RELEASE, GIVE_UP, FINISH, ON, OFF = range(6)  # same-moment events in this order


@dataclasses.dataclass(kw_only=True, slots=True)
class Record:
    """One contact's fate. `outcome`: answered, abandoned (hung up or left), unreached (a
    callback whose attempts all went unanswered) or open (still waiting at the end)."""

    queue: str
    channel: Channel
    created: datetime
    due: datetime
    outcome: str = "open"
    ended: datetime | None = None  # answered, abandoned or given up on
    waited: float = 0.0  # seconds from entering the queue to its end
    attempts: int = 0


@dataclasses.dataclass(kw_only=True, slots=True)
class _Worker:
    plan: Agent
    id: int
    room: dict[Channel, int]
    idle_since: datetime
    at_work: bool = False
    held: int = 0
    busy_since: datetime | None = None
    busy: float = 0.0  # seconds holding at least one contact
    worked_since: datetime | None = None
    worked: float = 0.0  # seconds at work (on shift, not on a break)
    view: AgentView | None = None  # as the engine sees them, until something changes

    def as_view(self) -> AgentView:
        if self.view is None:
            self.view = AgentView(
                id=self.id,
                skills=self.plan.skills,
                languages=self.plan.languages,
                free={ch: n for ch, n in self.room.items() if n > 0},
                idle_since=self.idle_since,
            )
        return self.view


@dataclasses.dataclass(frozen=True, kw_only=True)
class Outcome:
    records: tuple[Record, ...]
    busy_seconds: dict[str, float]  # per team
    worked_seconds: dict[str, float]
    start: datetime
    end: datetime


def play(scenario: Scenario, policy: Policy = CONTACTD, seed: int = 0) -> Outcome:
    return _Run(scenario, policy, np.random.default_rng(seed)).run()


class _Run:
    def __init__(self, scenario: Scenario, policy: Policy, rng: np.random.Generator) -> None:
        self.s, self.policy, self.rng = scenario, policy, rng
        self.rules: dict[str, QueueRules] = {q.code: q.rules() for q in scenario.queues}
        self.queues = {q.code: q for q in scenario.queues}
        self.events: list[tuple[datetime, int, int, Callable[[datetime], None]]] = []
        self.order = itertools.count()
        # Per channel, so that a pass looks only at channels someone has room on.
        self.waiting: dict[Channel, dict[int, WaitingContact]] = {ch: {} for ch in Channel}
        self.records: dict[int, Record] = {}
        self.handle: dict[int, float] = {}  # seconds each contact takes, drawn on arrival
        self.not_before: dict[int, datetime] = {}  # callbacks: when their window opens
        self.workers = [
            _Worker(plan=a, id=n, room=dict(a.capacity), idle_since=_start(scenario))
            for n, a in enumerate(scenario.staffing)
        ]
        self.start = _start(scenario)
        self.end = scenario.local(scenario.days[-1], time(23, 59)).astimezone(UTC)

    def at(self, moment: datetime, kind: int, then: Callable[[datetime], None]) -> None:
        """`then(moment)` happens at `moment`; at one moment, events go in kind order."""
        heapq.heappush(self.events, (moment, kind, next(self.order), then))

    def run(self) -> Outcome:
        for arrival in _arrivals(self.s, self.rng):
            contact = arrival.contact
            self.records[contact.id] = arrival.record
            self.handle[contact.id] = arrival.handle
            if arrival.not_before is not None:
                self.not_before[contact.id] = arrival.not_before
            self.at(contact.waiting_since, ARRIVE, partial(self._arrive, contact, first=True))
        self._shifts()
        events = self.events
        while events and events[0][0] <= self.end:
            now = events[0][0]
            while events and events[0][0] == now:
                heapq.heappop(events)[3](now)
            self._route(now)
        for worker in self.workers:  # close the books at the end of the run
            self._off(worker, self.end)
        return self._outcome()

    def _give_up(self, contact: WaitingContact, now: datetime) -> None:
        contact_id = contact.id
        if self.waiting[contact.channel].pop(contact_id, None) is not None:  # hangs up
            record = self.records[contact_id]
            record.outcome, record.ended = "abandoned", now
            record.waited = (now - record.created).total_seconds()

    def _on(self, worker: _Worker, now: datetime) -> None:
        worker.at_work, worker.worked_since, worker.idle_since, worker.view = True, now, now, None

    def _arrive(self, contact: WaitingContact, now: datetime, *, first: bool = False) -> None:
        not_before = self.not_before.get(contact.id) if first else None
        if not_before is not None and not_before > now:  # a callback's window opens later
            self.at(not_before, RELEASE, partial(self._arrive, contact))
            return
        self.waiting[contact.channel][contact.id] = contact
        patience = self.s.traffic.patience.get(contact.channel)
        if first and patience is not None:
            given = float(patience.draw(self.rng, 1)[0])
            self.at(now + timedelta(seconds=given), GIVE_UP, partial(self._give_up, contact))

    def _route(self, now: datetime) -> None:
        """A routing pass, when someone at work has room on a channel where contacts wait
        (most moments of a busy day have none: the pass would offer nothing)."""
        wanted = [ch for ch, waiting in self.waiting.items() if waiting]
        if not wanted:
            return
        views = [
            w.as_view() for w in self.workers if w.at_work and any(w.room.get(ch) for ch in wanted)
        ]
        if not views:
            return
        free = {ch for w in views for ch in w.free}
        contacts = itertools.chain.from_iterable(
            self.waiting[ch].values() for ch in wanted if ch in free
        )
        offers = route(contacts, views, self.rules, now, policy=self.policy)
        for offer in offers:
            worker = self.workers[offer.agent_id]
            for waiting in self.waiting.values():  # the offer names the contact, not its channel
                contact = waiting.pop(offer.contact_id, None)
                if contact is not None:
                    self._take(contact, worker, now)
                    break

    def _take(self, contact: WaitingContact, worker: _Worker, now: datetime) -> None:
        channel, record = contact.channel, self.records[contact.id]
        worker.room[channel] -= 1
        worker.view = None
        if worker.held == 0:
            worker.busy_since = now
        worker.held += 1
        if channel is Channel.CALLBACK:
            record.attempts += 1
            callbacks = self.s.traffic.callbacks
            if self.rng.random() < callbacks.unanswered:  # nobody answers: try again later
                self.at(now + callbacks.ring, FINISH, partial(self._finished, worker, channel))
                if record.attempts < callbacks.attempts:
                    retry = now + callbacks.ring + callbacks.retry
                    self.at(retry, RELEASE, partial(self._arrive, contact))
                else:
                    record.outcome, record.ended = "unreached", now
                return
        record.outcome, record.ended = "answered", now
        record.waited = (now - contact.waiting_since).total_seconds()
        level = worker.plan.skills.get(contact.case_type, 0)
        speed = self.s.traffic.skill_speed.get(level, 1.0)
        done = now + timedelta(seconds=self.handle[contact.id] * speed)
        self.at(done, FINISH, partial(self._finished, worker, channel))

    def _finished(self, worker: _Worker, channel: Channel, now: datetime) -> None:
        worker.room[channel] += 1
        worker.held -= 1
        worker.idle_since, worker.view = now, None
        if worker.held == 0 and worker.busy_since is not None:
            worker.busy += (now - worker.busy_since).total_seconds()
            worker.busy_since = None

    def _off(self, worker: _Worker, now: datetime) -> None:
        if worker.at_work and worker.worked_since is not None:
            worker.worked += (now - worker.worked_since).total_seconds()
        worker.at_work, worker.worked_since, worker.view = False, None, None
        if worker.held and worker.busy_since is not None and now >= self.end:
            worker.busy += (now - worker.busy_since).total_seconds()
            worker.busy_since = None

    def _shifts(self) -> None:
        for day in self.s.days:
            for worker in self.workers:
                for begin, finish in worker.plan.at_work():
                    self.at(self.s.local(day, begin).astimezone(UTC), ON, partial(self._on, worker))
                    self.at(
                        self.s.local(day, finish).astimezone(UTC), OFF, partial(self._off, worker)
                    )

    def _outcome(self) -> Outcome:
        busy: dict[str, float] = {}
        worked: dict[str, float] = {}
        for w in self.workers:
            busy[w.plan.team] = busy.get(w.plan.team, 0.0) + w.busy
            worked[w.plan.team] = worked.get(w.plan.team, 0.0) + w.worked
        return Outcome(
            records=tuple(self.records.values()),
            busy_seconds=busy,
            worked_seconds=worked,
            start=self.start,
            end=self.end,
        )


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class _Arrival:
    contact: WaitingContact
    record: Record
    handle: float
    not_before: datetime | None


def _arrivals(s: Scenario, rng: np.random.Generator) -> Iterator[_Arrival]:
    """Every contact of the scenario, drawn in a fixed order (channel, day, slot), so that
    a seed draws the same traffic whatever the policy and staffing."""
    traffic = s.traffic
    codes = list(traffic.case_types)
    weights = np.array([traffic.case_types[c] for c in codes], dtype=float)
    weights /= weights.sum()
    ids = itertools.count(1)
    for channel in sorted(traffic.per_day):
        calendar = channel_calendar(s.queues, channel)
        for day in s.days:
            slots = _slots(s, day, channel, calendar)
            total = sum(w for _, w in slots)
            if not total:
                continue
            for start, weight in slots:
                n = int(rng.poisson(traffic.per_day[channel] * weight / total))
                offsets = np.sort(rng.uniform(0, SLOT.total_seconds(), n))
                kinds = rng.choice(len(codes), n, p=weights)
                english = rng.random(n) < traffic.english.get(channel, 0.0)
                handles = traffic.handle[channel].draw(rng, n)
                for i in range(n):
                    created = start + timedelta(seconds=float(offsets[i]))
                    yield _contact(
                        s, next(ids), channel, created, codes[kinds[i]],
                        Language.EN if english[i] else Language.DA, float(handles[i]),
                    )  # fmt: skip


def _contact(
    s: Scenario,
    id_: int,
    channel: Channel,
    created: datetime,
    case_type: str,
    language: Language,
    handle: float,
) -> _Arrival:
    queue = choose_queue(s.queues, case_type=case_type, channel=channel)
    not_before = None
    if channel is Channel.CALLBACK:  # booked for a window: due when it closes
        not_before = _window_start(created, s, queue)
        due = not_before + s.traffic.callbacks.window
    else:
        goal = queue.goals[channel]
        due = goal.threshold.deadline(created, queue.calendar_for(channel)).astimezone(UTC)
    contact = WaitingContact(
        id=id_,
        channel=channel,
        language=language,
        case_type=case_type,
        queue=queue.code,
        priority=queue.priority,
        due_at=due,
        waiting_since=created,
    )
    record = Record(queue=queue.code, channel=channel, created=created, due=due)
    return _Arrival(contact=contact, record=record, handle=handle, not_before=not_before)


def _window_start(booked: datetime, s: Scenario, queue: Queue) -> datetime:
    """The first whole hour at least the lead time away when the line is open."""
    earliest = booked + s.traffic.callbacks.lead
    start = earliest.replace(minute=0, second=0, microsecond=0)
    if start < earliest:
        start += timedelta(hours=1)
    calendar = queue.calendar_for(Channel.CALLBACK)
    if not calendar.is_open(start):
        start = calendar.next_open(start) or start
    return start.astimezone(UTC)


def channel_calendar(queues: Sequence[Queue], channel: Channel) -> BusinessCalendar | None:
    """When the channel takes contacts: the triage queue's calendar for it, else that of the
    first queue taking the channel, else the first queue's (e-mail comes at any hour: None).
    The lab plays the hotline on these hours, and its days are this calendar's working days."""
    if channel is Channel.EMAIL:
        return None
    try:
        return choose_queue(queues, case_type="general", channel=channel).calendar_for(channel)
    except NoQueue:
        taking = [q for q in queues if channel in q.channels] or list(queues)
        return taking[0].calendar_for(channel)


def _slots(
    s: Scenario, day: date, channel: Channel, calendar: BusinessCalendar | None
) -> list[tuple[datetime, float]]:
    """The day's quarter hours with the profile's weight, those the channel is closed in
    left out (a closed line takes no calls: its callers come when it is open)."""
    if calendar is not None and not calendar.is_working_day(day):
        return []
    profile = s.traffic.profile.get(channel, {})
    slots = []
    for hour, weight in sorted(profile.items()):
        for quarter in range(4):
            start = s.local(day, time(hour, 15 * quarter)).astimezone(UTC)
            if calendar is None or calendar.is_open(start + SLOT / 2):
                slots.append((start, weight))
    return slots


def expected_per_hour(s: Scenario, day: date) -> dict[Channel, dict[int, float]]:
    """The arrivals a day expects per channel and local hour, as the runs spread them."""
    found: dict[Channel, dict[int, float]] = {}
    for channel, per_day in s.traffic.per_day.items():
        slots = _slots(s, day, channel, channel_calendar(s.queues, channel))
        total = sum(w for _, w in slots)
        per_hour: dict[int, float] = {}
        for start, weight in slots:
            hour = start.astimezone(s.timezone).hour
            per_hour[hour] = per_hour.get(hour, 0.0) + per_day * weight / total
        found[channel] = per_hour
    return found


def _start(scenario: Scenario) -> datetime:
    return scenario.local(scenario.days[0], time(0, 0)).astimezone(UTC)


def play_seeds(
    scenario: Scenario,
    policy: Policy = CONTACTD,
    seeds: Sequence[int] = range(5),
    *,
    workers: int = 1,
) -> list[Outcome]:
    """One run per seed, in `workers` processes (runs are independent: a seed decides all
    of its run's draws, so the outcome does not depend on the worker that played it)."""
    if workers <= 1 or len(seeds) <= 1:
        return [play(scenario, policy, seed) for seed in seeds]
    with ProcessPoolExecutor(max_workers=min(workers, len(seeds))) as pool:
        return list(pool.map(_play, [(scenario, policy, seed) for seed in seeds]))


def _play(job: tuple[Scenario, Policy, int]) -> Outcome:
    return play(*job)
