"""The agency's queues, checked against its calendars and case types and built for routing.
Every problem is named with its key, all at once, so one edit fixes them all."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from contactd.settings.agency import CaseTypeConfig, QueueConfig
from contactd.settings.sections import ConfigError
from routing.calendar import BusinessCalendar
from routing.contact import Channel
from routing.engine import BullseyeStep
from routing.goals import ServiceGoal, Threshold
from routing.queues import Queue

if TYPE_CHECKING:
    from contactd.settings.loading import FileConfig


def _ticket_letters(config: FileConfig, path: Path, problems: list[str]) -> dict[str, str]:
    """Each ticket queue's letter: its own, else the next free one from A."""
    taking = [code for code, q in config.queues.items() if Channel.TICKET in q.channels]
    letters: dict[str, str] = {}
    for code in taking:
        letter = config.queues[code].ticket_letter
        if letter is None:
            continue
        if letter in letters.values():
            problems.append(
                f"{path}: queues.{code}.ticket_letter = {letter!r}: another queue has it"
            )
        letters[code] = letter
    free = (c for c in "ABCDEFGHJKLMNPRSTUVWXYZ" if c not in letters.values())
    for code in taking:
        if code not in letters:
            letter = next(free, None)
            if letter is None:
                problems.append(f"{path}: queues.{code}.ticket_letter: no letter left; set one")
                continue
            letters[code] = letter
    return letters


def build_queues(
    config: FileConfig,
    types: Mapping[str, CaseTypeConfig],
    calendars: Mapping[str, BusinessCalendar],
    path: Path,
) -> tuple[Queue, ...]:
    problems = _queue_problems(config, types, calendars, path)
    letters = _ticket_letters(config, path, problems)
    if problems:
        raise ConfigError("\n".join(problems))
    return tuple(_queue(code, q, calendars, letters.get(code)) for code, q in config.queues.items())


def _queue_problems(
    config: FileConfig,
    types: Mapping[str, CaseTypeConfig],
    calendars: Mapping[str, BusinessCalendar],
    path: Path,
) -> list[str]:
    """What is wrong with the queues: each problem named with its key."""
    problems = []
    for code, q in config.queues.items():
        problems += _problems_of_queue(f"{path}: queues.{code}", code, q, config, types, calendars)
    for ct in types:
        for channel in Channel:
            queues = config.queues.values()
            if not any(ct in q.case_types and channel in q.channels for q in queues):
                problems.append(
                    f"{path}: queues: no queue takes case type {ct!r} on channel {channel}; "
                    "add it to a queue (the 'general' queue, for example)"
                )
    return problems


def _problems_of_queue(
    where: str,
    code: str,
    q: QueueConfig,
    config: FileConfig,
    types: Mapping[str, CaseTypeConfig],
    calendars: Mapping[str, BusinessCalendar],
) -> list[str]:
    problems = []
    for ct in q.case_types:
        if ct not in types:
            problems.append(
                f"{where}.case_types = {ct!r}: unknown case type; known: {', '.join(types)}"
            )
    if q.calendar not in calendars:
        problems.append(
            f"{where}.calendar = {q.calendar!r}: unknown calendar; known: {', '.join(calendars)}"
        )
    for target in q.overflow_to:
        if target not in config.queues or target == code:
            problems.append(f"{where}.overflow_to = {target!r}: must name another queue")
    for channel in q.channels:
        if channel not in q.goals:
            problems.append(f"{where}.goals.{channel}: missing; every channel needs a goal")
    for channel, goal in q.goals.items():
        if goal.calendar is not None and goal.calendar not in calendars:
            problems.append(
                f"{where}.goals.{channel}.calendar = {goal.calendar!r}: unknown calendar; "
                f"known: {', '.join(calendars)}"
            )
        if channel not in q.channels:
            problems.append(f"{where}.goals.{channel}: the queue does not take {channel}")
    return problems + _wrap_up_problems(where, q, config)


def _wrap_up_problems(where: str, q: QueueConfig, config: FileConfig) -> list[str]:
    problems = []
    for wrap_up in q.wrap_up:
        if wrap_up not in config.wrap_up_codes:
            known = ", ".join(config.wrap_up_codes) or "none: add [wrap_up_codes]"
            problems.append(f"{where}.wrap_up = {wrap_up!r}: unknown wrap-up code; known: {known}")
    if q.wrap_up_required and not q.wrap_up:
        problems.append(f"{where}.wrap_up_required: the queue has no wrap_up codes to choose")
    return problems


def _queue(
    code: str, q: QueueConfig, calendars: Mapping[str, BusinessCalendar], letter: str | None
) -> Queue:
    return Queue(
        code=code,
        name_da=q.name_da,
        name_en=q.name_en,
        names=dict(q.names),
        case_types=frozenset(q.case_types),
        channels=frozenset(q.channels),
        goals={
            ch: ServiceGoal(
                threshold=Threshold.parse(g.threshold), target=g.target, sl_variant=g.sl_variant
            )
            for ch, g in q.goals.items()
        },
        priority=q.priority,
        calendar=calendars[q.calendar],
        overflow_to=tuple(q.overflow_to),
        overflow_after_seconds=q.overflow_after_seconds,
        bullseye=tuple(BullseyeStep(after_seconds=t, level=n) for t, n in q.bullseye),
        channel_calendars={
            ch: calendars[g.calendar] for ch, g in q.goals.items() if g.calendar is not None
        },
        ticket_letter=letter,
        csat_share=q.csat_share,
        wrap_up=tuple(q.wrap_up),
        wrap_up_required=q.wrap_up_required,
    )
