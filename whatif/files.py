"""The lab's input file: the staffing of a day and, optionally, its traffic, in TOML
(docs/how-to/whatif.md; the shipped one is config/whatif/day.toml).

Checked like the configuration: every mistake is a line naming the key and what is wrong,
raised together as a WhatIfFileError.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from datetime import time
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from routing.contact import Channel, Language
from whatif.scenario import Agent, Callbacks, Dist, Traffic

_SPAN = r"^\d{2}:\d{2}-\d{2}:\d{2}$"


class WhatIfFileError(Exception):
    """The file cannot be played; the message says where and why."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TeamFile(_Strict):
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,39}$")]
    agents: Annotated[int, Field(ge=0, le=10_000)]
    channels: dict[Channel, Annotated[int, Field(ge=1, le=20)]] = Field(min_length=1)
    languages: list[Language] = Field(min_length=1)
    # Level 1-5 per case type; "*" for every case type not named.
    skills: dict[str, Annotated[int, Field(ge=1, le=5)]] = Field(min_length=1)
    shift: Annotated[str, Field(pattern=_SPAN)]
    # Each agent takes one of these, in turn (agent 1 the first, agent 2 the second, ...).
    breaks: list[Annotated[str, Field(pattern=_SPAN)]] = Field(default_factory=list)

    @field_validator("shift", "breaks")
    @classmethod
    def _spans(cls, value: str | list[str]) -> str | list[str]:
        for span in [value] if isinstance(value, str) else value:
            start, end = _span(span)
            if end <= start:
                raise ValueError(f"{span!r}: the end must come after the start")
        return value


class TrafficFile(_Strict):
    """What differs from the shipped traffic; every key may be left out."""

    per_day: dict[Channel, Annotated[float, Field(ge=0)]] = Field(default_factory=dict)
    handle_minutes: dict[Channel, Annotated[float, Field(gt=0)]] = Field(default_factory=dict)
    handle_cv: Annotated[float, Field(gt=0, le=3)] | None = None
    patience_minutes: dict[Channel, Annotated[float, Field(gt=0)]] = Field(default_factory=dict)
    english: dict[Channel, Annotated[float, Field(ge=0, le=1)]] = Field(default_factory=dict)
    case_types: dict[str, Annotated[float, Field(ge=0)]] = Field(default_factory=dict)
    callback_unanswered: Annotated[float, Field(ge=0, le=1)] | None = None
    # Handling time at each skill level (0-5) relative to level 3; 1 everywhere: no effect.
    skill_speed: dict[Annotated[int, Field(ge=0, le=5)], Annotated[float, Field(gt=0, le=5)]] = (
        Field(default_factory=dict)
    )


class DayFile(_Strict):
    teams: list[TeamFile] = Field(min_length=1)
    traffic: TrafficFile = TrafficFile()


def read_toml(path: Path) -> dict[str, Any]:
    """A lab file's TOML, or the WhatIfFileError that says why it cannot be read."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WhatIfFileError(f"{path}: no such file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise WhatIfFileError(f"{path}: not valid TOML: {exc}") from None


def read(path: Path) -> DayFile:
    raw = read_toml(path)
    try:
        return DayFile.model_validate(raw)
    except ValidationError as exc:
        lines = [
            f"{path}: {'.'.join(str(p) for p in e['loc'])}: "
            + e["msg"].removeprefix("Value error, ")
            for e in exc.errors()
        ]
        raise WhatIfFileError("\n".join(lines)) from None


def staffing(day: DayFile, case_types: Sequence[str], path: Path) -> tuple[Agent, ...]:
    """The agents of the file's teams, each skill named a case type the configuration has."""
    problems = [
        f"{path}: teams.{t.name}.skills.{code}: unknown case type; known: {', '.join(case_types)}"
        for t in day.teams
        for code in t.skills
        if code != "*" and code not in case_types
    ]
    if problems:
        raise WhatIfFileError("\n".join(problems))
    agents = []
    for team in day.teams:
        skills = _skills(team.skills, case_types)
        start, end = _span(team.shift)
        for n in range(team.agents):
            pause = [_span(team.breaks[n % len(team.breaks)])] if team.breaks else []
            agents.append(
                Agent(
                    name=f"{team.name}-{n + 1}",
                    team=team.name,
                    skills=skills,
                    languages=frozenset(team.languages),
                    capacity=dict(team.channels),
                    start=start,
                    end=end,
                    breaks=tuple(pause),
                )
            )
    return tuple(agents)


def traffic(day: DayFile, shipped: Traffic) -> Traffic:
    """The shipped traffic with what the file changes."""
    t = day.traffic
    handle = dict(shipped.handle)
    for channel, minutes in t.handle_minutes.items():
        handle[channel] = Dist(mean=minutes * 60, cv=shipped.handle[channel].cv)
    if t.handle_cv is not None:
        handle = {ch: Dist(mean=d.mean, cv=t.handle_cv) for ch, d in handle.items()}
    patience = dict(shipped.patience)
    for channel, minutes in t.patience_minutes.items():
        patience[channel] = Dist(mean=minutes * 60)
    callbacks = shipped.callbacks
    if t.callback_unanswered is not None:
        callbacks = Callbacks(**{**vars(callbacks), "unanswered": t.callback_unanswered})
    return Traffic(
        per_day={**shipped.per_day, **t.per_day},
        profile=shipped.profile,
        case_types=_merged(shipped.case_types, t.case_types),
        english={**shipped.english, **t.english},
        handle=handle,
        patience=patience,
        callbacks=callbacks,
        skill_speed={**shipped.skill_speed, **t.skill_speed},
    )


def _merged(shipped: Mapping[str, float], given: Mapping[str, float]) -> dict[str, float]:
    return {**shipped, **given} if given else dict(shipped)


def _skills(given: Mapping[str, int], case_types: Sequence[str]) -> dict[str, int]:
    default = given.get("*")
    skills = {c: given.get(c, default) for c in case_types}
    return {c: level for c, level in skills.items() if level is not None}


def _span(text: str) -> tuple[time, time]:
    start, end = text.split("-")
    return time.fromisoformat(start), time.fromisoformat(end)
