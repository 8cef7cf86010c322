"""The fewest agents per hour, by team, that meet every goal with the confidence asked for,
and beside them what Erlang C and A say for the same hours.

The lab plays the scenario with a staffing plan: so many agents of each team at work in each
hour (a requirement per interval, as workforce planning states it before shifts are drawn).
The search starts from the scenario's own staffing, then
1. adds, while some goal is missed, one agent of the team best placed for the goal missed
   worst (the team with room on its channel and the highest level in its case types), in
   the hour when most of its contacts missed their due time;
2. scales each team down as far as every goal still holds (a few runs a team), then removes
   agents one by one, team and hour, while every goal still holds.
A goal is met when the low end of its service level's 95 % interval over the seeds reaches
the target (its mean, for a goal with fewer than results.FEW contacts a run), so that the
plan holds on days the seeds did not play (tests play it again with new seeds); and at most
MAX_ABANDONMENT of a queue's callers may hang up. E-mail, whose goals a short run cannot
see, keeps at least its workload in agent-hours. A goal with few contacts that STUCK_ADDS
agents added for it did not move is set aside (Found.aside): chance, not staffing.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import time

from routing import erlang
from routing.contact import Channel
from routing.engine import CONTACTD, Policy
from routing.goals import Unit
from routing.queues import Queue
from whatif.play import Outcome, expected_per_hour, play_seeds
from whatif.results import Row, Summary, summarise
from whatif.scenario import Agent, Scenario

Plan = dict[str, dict[int, int]]  # team -> local hour -> agents at work
# Callers who hang up, at most, in a queue the search calls staffed: a goal counted by SL
# variant 1 credits those who hang up within its threshold, so without a ceiling the
# cheapest plan lets a third of them go.
MAX_ABANDONMENT = 0.05
# A goal with few contacts a run (a callback or two a day) is judged on its mean, which one
# unlucky try moves: after this many agents added for it without its margin growing, the
# search sets it aside (and says so) rather than add agents for chance until max_steps.
STUCK_ADDS = 5
Key = tuple[str, Channel]  # a queue and channel


@dataclasses.dataclass(frozen=True, kw_only=True)
class Found:
    plan: Plan
    summary: Summary
    steps: int  # plans played
    met: bool  # every goal met with the confidence asked for, but those set aside
    aside: tuple[Key, ...] = ()  # goals with few contacts that more agents did not move


def plan_of(staffing: Sequence[Agent]) -> Plan:
    """The agents of each team at work in each hour (counted at the half hour)."""
    plan: Plan = defaultdict(lambda: defaultdict(int))
    for agent in staffing:
        for hour in range(24):
            middle = time(hour, 30)
            if any(start <= middle < end for start, end in agent.at_work()):
                plan[agent.team][hour] += 1
    return {team: dict(hours) for team, hours in plan.items()}


def staffed(plan: Plan, teams: Mapping[str, Agent]) -> tuple[Agent, ...]:
    """One agent per team and hour of the plan, at work that hour, like the team's model."""
    agents = []
    for team, hours in sorted(plan.items()):
        model = teams[team]
        for hour, count in sorted(hours.items()):
            end = time(hour + 1) if hour < 23 else time(23, 59)
            agents += [
                dataclasses.replace(
                    model, name=f"{team}-{hour:02d}-{n + 1}", start=time(hour), end=end, breaks=()
                )
                for n in range(count)
            ]
    return tuple(agents)


def search(
    scenario: Scenario,
    *,
    policy: Policy = CONTACTD,
    seeds: Sequence[int] = range(5),
    max_steps: int = 150,
    workers: int = 1,
    played: Callable[[int], None] | None = None,
    max_abandonment: float | None = MAX_ABANDONMENT,
) -> Found:
    """The smallest plan found that meets every goal surely (see the module's note), with
    no more than `max_abandonment` of a queue's callers hanging up (None: no limit)."""
    return _Search(scenario, policy, seeds, max_steps, workers, played, max_abandonment).run()


class _Search:
    def __init__(
        self,
        scenario: Scenario,
        policy: Policy,
        seeds: Sequence[int],
        max_steps: int,
        workers: int,
        played: Callable[[int], None] | None,
        ceiling: float | None,
    ) -> None:
        self.scenario, self.policy, self.seeds = scenario, policy, seeds
        self.ceiling = ceiling
        self.max_steps, self.workers, self.played = max_steps, workers, played
        self.teams = {a.team: a for a in scenario.staffing}
        self.steps = 0
        self.floor = _workloads(scenario)
        self.aside: set[Key] = set()

    def missed(self, summary: Summary) -> list[Row]:
        """The goals not surely met, and the queues whose callers hang up too often (but
        the goals set aside)."""
        return [
            r for r in summary.rows if self.margin(r) < 0 and (r.queue, r.channel) not in self.aside
        ]

    def all_met(self, summary: Summary) -> bool:
        return not self.missed(summary)

    def margin(self, row: Row) -> float:
        """How far the row is above its goal (negative: missed), and under the ceiling of
        abandonment for a queue whose clients give up."""
        found = 1.0 if row.margin is None else min(1.0, row.margin)
        if self.ceiling is not None and row.abandonment is not None and not row.few:
            found = min(found, self.ceiling - row.abandonment.mean)
        return found

    def evaluate(self, plan: Plan) -> tuple[Summary, list[Outcome]]:
        self.steps += 1
        if self.played:
            self.played(self.steps)
        s = self.scenario.with_staffing(staffed(plan, self.teams))
        outcomes = play_seeds(s, self.policy, self.seeds, workers=self.workers)
        return summarise(outcomes, s.queues), outcomes

    def run(self) -> Found:
        plan = plan_of(self.scenario.staffing)
        summary, outcomes = self.evaluate(plan)
        best: dict[Key, float] = {}  # each goal's best margin so far, and adds since
        adds: Counter[Key] = Counter()
        while not self.all_met(summary) and self.steps < self.max_steps:
            worst = min(self.missed(summary), key=self.margin)
            key = (worst.queue, worst.channel)
            if self.margin(worst) > best.get(key, -math.inf):
                best[key], adds[key] = self.margin(worst), 0
            elif worst.few and adds[key] >= STUCK_ADDS:
                self.aside.add(key)  # chance, not staffing: stop adding for it
                continue
            adds[key] += 1
            hour = _worst_hour(outcomes, worst, self.scenario)
            team = _best_team(self.teams, self.scenario.queues, worst)
            plan.setdefault(team, {})[hour] = plan.get(team, {}).get(hour, 0) + 1
            summary, outcomes = self.evaluate(plan)
        aside = tuple(sorted(self.aside))
        if not self.all_met(summary):
            return Found(plan=plan, summary=summary, steps=self.steps, met=False, aside=aside)
        plan, summary = self.trim_evenly(plan, summary)
        plan, summary = self.trim_each(plan, summary)
        plan = {t: {h: n for h, n in hours.items() if n} for t, hours in plan.items()}
        return Found(plan=plan, summary=summary, steps=self.steps, met=True, aside=aside)

    def trim_evenly(self, plan: Plan, summary: Summary) -> tuple[Plan, Summary]:
        """Each team's hours scaled down together while every goal holds: a few runs per
        team find how much of it is spare, before agents go one by one."""
        for team in sorted(plan, key=lambda t: -sum(plan[t].values())):
            low, high = 0.3, 1.0  # the smallest scale known to hold is `high`
            while high - low > 0.05 and self.steps < self.max_steps:
                middle = (low + high) / 2
                trial = {**plan, team: _scaled(plan[team], middle)}
                found = self.evaluate(trial)[0] if self.holds_work(trial) else None
                if found is not None and self.all_met(found):
                    high, summary = middle, found
                else:
                    low = middle
            plan = {**plan, team: _scaled(plan[team], high)}
        return plan, summary

    def trim_each(self, plan: Plan, summary: Summary) -> tuple[Plan, Summary]:
        """One agent fewer in each team and hour, again and again, until every removal
        breaks a goal; a team and hour that could not spare one is not tried again."""
        needed: set[tuple[str, int]] = set()
        while self.steps < self.max_steps:
            slots = [slot for slot in _removal_order(plan) if slot not in needed]
            if not slots:
                break
            for team, hour in slots:
                if self.steps >= self.max_steps:
                    break
                plan[team][hour] -= 1
                if self.holds_work(plan):
                    trial, _ = self.evaluate(plan)
                    if self.all_met(trial):
                        summary = trial
                        continue
                plan[team][hour] += 1
                needed.add((team, hour))
        return plan, summary

    def holds_work(self, plan: Plan) -> bool:
        """Enough agent-hours on each channel for its work (arrivals x handling time): a
        run too short to see a goal measured in working days (e-mail) must not plan away
        the people who answer it."""
        hours: dict[Channel, float] = defaultdict(float)
        for team, per_hour in plan.items():
            for channel in self.teams[team].capacity:
                hours[channel] += sum(per_hour.values())
        return all(hours.get(channel, 0.0) >= need for channel, need in self.floor.items())


def _scaled(hours: dict[int, int], factor: float) -> dict[int, int]:
    return {h: round(n * factor) for h, n in hours.items()}


def _workloads(scenario: Scenario) -> dict[Channel, float]:
    """The hours of handling a day's contacts take, for each channel whose goals count
    working time (e-mail): the others' goals are seen within the run."""
    traffic = scenario.traffic
    return {
        channel: per_day * traffic.handle[channel].mean / 3600
        for channel, per_day in traffic.per_day.items()
        if _strictest(scenario.queues, channel) is None
    }


def _worst_hour(outcomes: Sequence[Outcome], row: Row, scenario: Scenario) -> int:
    """The local hour in which most of the row's contacts missed their due time (created
    then: the hour that needed more hands)."""
    misses: Counter[int] = Counter()
    for outcome in outcomes:
        for r in outcome.records:
            if r.queue == row.queue and r.channel is row.channel:
                late = r.outcome != "answered" or (r.ended is not None and r.ended > r.due)
                if late and (r.outcome != "open" or r.due <= outcome.end):
                    misses[r.created.astimezone(scenario.timezone).hour] += 1
    return misses.most_common(1)[0][0] if misses else 12


def _best_team(teams: Mapping[str, Agent], queues: Sequence[Queue], row: Row) -> str:
    """The team with room on the row's channel and the highest level in its queue's case
    types (English speakers first among equals: they can take every contact)."""
    queue = next(q for q in queues if q.code == row.queue)

    def fit(model: Agent) -> tuple[int, int]:
        level = max((model.skills.get(c, 0) for c in queue.case_types), default=0)
        return level, len(model.languages)

    able = [m for m in teams.values() if m.capacity.get(row.channel, 0) > 0]
    return max(able or teams.values(), key=fit).team


def _removal_order(plan: Plan) -> list[tuple[str, int]]:
    """Each team and hour with someone at work, the quietest hours of the largest teams
    first (where an agent is most likely spare)."""
    slots = [(team, hour) for team, hours in plan.items() for hour, n in hours.items() if n]
    return sorted(slots, key=lambda th: (-plan[th[0]][th[1]], th))


@dataclasses.dataclass(frozen=True, kw_only=True)
class ErlangHour:
    """What Erlang says one hour needs per channel, the channel pooled as one queue with its
    strictest goal (Erlang knows no skills or languages); e-mail as its workload in agents."""

    hour: int
    erlang_c: Mapping[Channel, int]
    erlang_a: Mapping[Channel, int]


def erlang_hours(scenario: Scenario) -> list[ErlangHour]:
    """Erlang C and A per local hour of the scenario's first day."""
    traffic = scenario.traffic
    arrivals = expected_per_hour(scenario, scenario.days[0])
    found = []
    for hour in sorted({h for per in arrivals.values() for h in per}):
        c: dict[Channel, int] = {}
        a: dict[Channel, int] = {}
        for channel, per_hour in arrivals.items():
            rate = per_hour.get(hour, 0.0) / 3600
            aht = traffic.handle[channel].mean
            goal = _strictest(scenario.queues, channel)
            if goal is None:  # a goal in working time (e-mail): the hour's workload
                c[channel] = a[channel] = math.ceil(rate * aht)
                continue
            threshold, target = goal
            c[channel] = erlang.agents_required(rate * aht, aht, threshold, target)
            patience = traffic.patience.get(channel)
            a[channel] = (
                erlang.agents_required_a(rate, aht, patience.mean, threshold, target)
                if patience
                else c[channel]
            )
        found.append(ErlangHour(hour=hour, erlang_c=c, erlang_a=a))
    return found


_SECONDS = {Unit.SECONDS: 1, Unit.MINUTES: 60, Unit.HOURS: 3600}


def _strictest(queues: Sequence[Queue], channel: Channel) -> tuple[float, float] | None:
    """The shortest threshold (seconds) and highest target among the channel's goals on the
    clock; None when a goal counts working time (Erlang has no closed hours)."""
    goals = [q.goals[channel] for q in queues if channel in q.goals]
    if not goals or any(g.threshold.unit not in _SECONDS for g in goals):
        return None
    seconds = min(g.threshold.amount * _SECONDS[g.threshold.unit] for g in goals)
    return float(seconds), max(g.target for g in goals)
