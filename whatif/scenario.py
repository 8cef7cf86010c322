"""What the lab plays: the agency's traffic and its staffing, as plain values.

The shipped traffic is the model agency's year (simulator/mix.py: 300,000 calls, 50,000
e-mails, 60,000 visits over 250 working days, with the day's shape per channel); a
scenario file (docs/how-to/whatif.md) or the database's history (`contactd whatif
--history`) gives another. Staffing is a list of agents, each with skills, languages,
capacities and a shift: from a staffing file, or from today's agent profiles.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from routing.contact import Channel, Language
from routing.queues import Queue
from simulator import mix


@dataclasses.dataclass(frozen=True, kw_only=True)
class Dist:
    """A duration in seconds, drawn from a gamma distribution with this mean and coefficient
    of variation: cv 1 is the exponential (Erlang's assumption), smaller is more regular
    (cv 0.58, shape 3: most contacts near the mean, a few long ones)."""

    mean: float
    cv: float = 1.0

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        shape = 1 / (self.cv * self.cv)
        return rng.gamma(shape, self.mean / shape, n)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Callbacks:
    """Callbacks booked on the web: a window that opens `lead` after booking on the next
    whole hour, `window` long; an attempt that nobody answers (`unanswered`) rings for
    `ring` and is tried again after `retry`, `attempts` times in all."""

    window: timedelta = timedelta(hours=2)
    lead: timedelta = timedelta(minutes=30)
    unanswered: float = 0.15
    ring: timedelta = timedelta(seconds=40)
    retry: timedelta = timedelta(minutes=20)
    attempts: int = 3


# Experts are quicker than novices: a caseworker at level 5 takes 0.8 of the time of one at
# level 3, one with no skill in the case type (overflow) 1.3 times it.
SKILL_SPEED = {0: 1.3, 1: 1.3, 2: 1.15, 3: 1.0, 4: 0.9, 5: 0.8}


@dataclasses.dataclass(frozen=True, kw_only=True)
class Traffic:
    """A working day's contacts per channel, spread over the local hours by `profile` (only
    over the hours the channel's calendar is open), with their case types, languages,
    handling times and, for channels whose clients give up, their patience."""

    per_day: Mapping[Channel, float]
    profile: Mapping[Channel, Mapping[int, float]]
    case_types: Mapping[str, float]  # relative weights
    english: Mapping[Channel, float]  # the share in English (the rest Danish)
    handle: Mapping[Channel, Dist]
    patience: Mapping[Channel, Dist]  # channels whose clients hang up or leave
    callbacks: Callbacks = Callbacks()
    # How long an agent takes at each skill level in the contact's case type, relative to
    # the drawn handling time (level 3); 0: no skill (taken by overflow). An assumption of
    # the model, stated in docs/how-to/whatif.md: set every level to 1 to play without it.
    skill_speed: Mapping[int, float] = dataclasses.field(default_factory=lambda: SKILL_SPEED)

    def scaled(self, factor: float) -> Traffic:
        """The same traffic, `factor` times as much."""
        return dataclasses.replace(self, per_day={ch: n * factor for ch, n in self.per_day.items()})


def shipped_traffic(case_types: Sequence[str]) -> Traffic:
    """The model agency's average working day (simulator/mix.py): about 1,180 calls, 20 web
    callbacks, 200 e-mails and 240 visits."""
    channels = {ch: Channel(ch) for ch in mix.YEAR}
    return Traffic(
        per_day={channels[ch]: n / mix.WORKING_DAYS for ch, n in mix.YEAR.items()},
        profile={channels[ch]: dict(shape) for ch, shape in mix.PROFILES.items()},
        case_types=mix.case_type_weights(case_types),
        english={channels[ch]: share for ch, share in mix.ENGLISH.items()},
        # Gamma with shape 3, as the live simulator draws them.
        handle={channels[ch]: Dist(mean=s, cv=3**-0.5) for ch, s in mix.HANDLE_SECONDS.items()},
        patience={Channel.CALL: Dist(mean=mix.CALLER_PATIENCE_SECONDS)},
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class Agent:
    """One caseworker as the lab plays them: what the agent profile says (skills, languages,
    capacity per channel) and when they work, each day of the scenario (local times)."""

    name: str
    team: str
    skills: Mapping[str, int]
    languages: frozenset[Language]
    capacity: Mapping[Channel, int]
    start: time
    end: time
    breaks: tuple[tuple[time, time], ...] = ()

    def at_work(self) -> list[tuple[time, time]]:
        """The stretches of the day they take contacts: the shift less its breaks."""
        stretches, begin = [], self.start
        for pause, back in sorted(self.breaks):
            if begin < pause:
                stretches.append((begin, pause))
            begin = max(begin, back)
        if begin < self.end:
            stretches.append((begin, self.end))
        return stretches


@dataclasses.dataclass(frozen=True, kw_only=True)
class Scenario:
    """Everything one run needs: the configuration's queues (goals, calendars, bullseye,
    overflow) and time zone, the days played, the traffic and the staffing."""

    queues: tuple[Queue, ...]
    timezone: ZoneInfo
    days: tuple[date, ...]
    traffic: Traffic
    staffing: tuple[Agent, ...]

    def local(self, day: date, at: time) -> datetime:
        return datetime.combine(day, at, tzinfo=self.timezone)

    def with_staffing(self, staffing: Sequence[Agent]) -> Scenario:
        return dataclasses.replace(self, staffing=tuple(staffing))
