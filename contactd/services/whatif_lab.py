"""The what-if lab (whatif/) as the daemon and the command line use it: which days are played
(the phone line's working days), where the traffic and the staffing come from (the shipped
model and the day file, or the database's history and today's agent profiles), and, for the
supervisors' console, a comparison of policies played in a process of its own, one at a
time per instance, so that the event loop and the routing never wait for it."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import io
import itertools
import multiprocessing
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import asyncpg

from contactd.services import whatif_inputs
from contactd.services.whatif_report import Compared, Report, as_json, csv_text, draw
from contactd.settings import Settings
from contactd.store import database
from routing.engine import Policy
from whatif import files, policies
from whatif.channels import per_channel
from whatif.play import play_seeds
from whatif.results import summarise
from whatif.scenario import Agent, Scenario, Traffic, shipped_traffic

DEFAULT_POLICIES = ("contactd", "fifo", "skills")
LOOK_AHEAD_DAYS = 366  # how far from the first day working days are looked for
# The most runs (seeds × days × policies) one console request plays: a day takes about
# 0.3 s on one core (bench.whatif), so about 20 s; more is for the command line.
MOST_RUNS = 60
T = TypeVar("T")


class Refused(ValueError):
    """An ask the lab cannot play; the message says which and why."""


class Busy(Exception):
    """Another what-if is being played on this instance."""


# Inputs -----------------------------------------------------------------------------------


def day_file(config: Settings) -> Path:
    """The agency's day file: whatif/day.toml beside the configuration file."""
    return config.path.parent / "whatif" / "day.toml"


def lab_days(config: Settings, start: date, count: int) -> tuple[date, ...]:
    """The first `count` working days of the phone line's calendar from `start` on, as the
    lab plays the hotline (the triage queue's calls), and as the history is read."""
    calendar = whatif_inputs.phone_calendar(config.queues)
    ahead = (start + timedelta(days=n) for n in range(LOOK_AHEAD_DAYS + 7 * count))
    days = tuple(itertools.islice((d for d in ahead if calendar.is_working_day(d)), count))
    if len(days) < count:
        raise Refused(f"the phone line's calendar has fewer than {count} working days ahead")
    return days


def file_traffic(config: Settings, path: Path) -> Traffic:
    """The shipped model of the agency's year, with what the day file's [traffic] changes."""
    shipped = shipped_traffic(list(config.case_types))
    return files.traffic(readable(path, files.read), shipped)


def file_staffing(config: Settings, path: Path) -> tuple[Agent, ...]:
    """The agents of the day file's teams."""
    return files.staffing(readable(path, files.read), list(config.case_types), path)


def readable(path: Path, read: Callable[[Path], T]) -> T:
    """A file of the lab read, one that cannot be (none, a folder, no permission) refused
    like a bad one: the lab reads it before playing, so nothing else has happened."""
    try:
        return read(path)
    except OSError as exc:
        raise Refused(f"{path}: cannot be read: {exc.strerror}") from None


async def from_database(
    conn: database.Conn,
    config: Settings,
    *,
    history: tuple[date, date] | None,
    profiles_on: date | None,
) -> tuple[Traffic | None, tuple[Agent, ...] | None, list[str]]:
    """The traffic of the history's days and the agent profiles at work on `profiles_on`, as
    asked (None where not; () when no profile has room on any channel), and the lines saying
    what the history could not estimate."""
    traffic, staffing, notes = None, None, list[str]()
    try:
        if history is not None:
            shipped = shipped_traffic(list(config.case_types))
            traffic, note = await whatif_inputs.history_traffic(conn, config, *history, shipped)
            if not any(traffic.per_day.values()):  # nothing to estimate from, nothing to play
                raise Refused(
                    f"no contact was created on the working days from {history[0]} to "
                    f"{history[1]}: choose days the agency was open with contactd"
                )
            notes = list(note.lines())
        if profiles_on is not None:
            staffing = await whatif_inputs.profile_staffing(conn, config, profiles_on)
    except (whatif_inputs.HistoryError, whatif_inputs.StaffingError) as exc:
        raise Refused(str(exc)) from None
    return traffic, staffing, notes


def compare(
    scenario: Scenario, policy: Policy, seeds: Sequence[int], *, workers: int = 1
) -> Compared:
    """One policy played on `seeds`: its goals and its channels."""
    outcomes = play_seeds(scenario, policy, seeds, workers=workers)
    return Compared(summary=summarise(outcomes, scenario.queues), channels=per_channel(outcomes))


# The console's runs -----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class Ask:
    """A supervisor's what-if: the shipped model's or the history's traffic, the day file's
    teams or today's agent profiles, the policies side by side on the same seeds."""

    start: date | None = None  # None: today by the daemon's clock
    days: int = 1
    seeds: int = 5
    policies: tuple[str, ...] = DEFAULT_POLICIES
    scale: float = 1.0
    profiles: bool = False
    history: tuple[date, date] | None = None


class WhatIfLab:
    """Plays a supervisor's what-if: the scenario read here (the database, the day file),
    the days played in a spawned process (a fork of a process with a running event loop and
    open connections is unsafe), one what-if at a time on an instance."""

    def __init__(self, pool: asyncpg.Pool, config: Settings, *, clock: Callable[[], datetime]):
        self._pool, self._config, self._clock = pool, config, clock
        self._running = asyncio.Lock()

    @property
    def busy(self) -> bool:
        return self._running.locked()

    async def play(self, ask: Ask) -> dict[str, Any]:
        """The figures as JSON (whatif_report.as_json) with the CSV and the chart (a PNG,
        base64); Refused for an ask the lab cannot play, Busy while another plays."""
        runs = ask.seeds * ask.days * len(ask.policies)
        if runs > MOST_RUNS:
            raise Refused(
                f"{runs} runs (seeds × days × policies) asked for; at most {MOST_RUNS} at a "
                "time here, more with `contactd whatif`"
            )
        if self.busy:
            raise Busy
        async with self._running:
            scenario, notes = await self._scenario(ask)
            chosen = policies.named(list(ask.policies), {})
            executor = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
            try:
                loop = asyncio.get_running_loop()
                played = await loop.run_in_executor(
                    executor, played_json, scenario, chosen, ask.seeds, ask.scale
                )
            finally:
                executor.shutdown(wait=False, cancel_futures=True)
        staffing = "profiles" if ask.profiles else "day_file"
        return {**played, "staffing": staffing, "notes": notes}

    async def _scenario(self, ask: Ask) -> tuple[Scenario, list[str]]:
        config = self._config
        today = self._clock().astimezone(config.timezone).date()
        days = lab_days(config, ask.start or today, ask.days)
        traffic, staffing, notes = None, None, list[str]()
        if ask.history is not None or ask.profiles:
            async with self._pool.acquire() as conn:
                traffic, staffing, notes = await from_database(
                    conn, config, history=ask.history, profiles_on=days[0] if ask.profiles else None
                )
            if staffing == ():
                raise Refused("no agent profile has room on any channel")
        try:
            scenario = Scenario(
                queues=config.queues,
                timezone=config.timezone,
                days=days,
                traffic=(traffic or file_traffic(config, day_file(config))).scaled(ask.scale),
                staffing=staffing or file_staffing(config, day_file(config)),
            )
        except files.WhatIfFileError as exc:
            raise Refused(str(exc)) from None
        return scenario, notes


def played_json(
    scenario: Scenario, chosen: Mapping[str, Policy], seeds: int, scale: float
) -> dict[str, Any]:
    """Every policy played on the same seeds, as the console shows it (in the lab's process)."""
    compared = {name: compare(scenario, policy, range(seeds)) for name, policy in chosen.items()}
    report = Report(
        scenario=scenario, day_file="", scale=scale, seeds=seeds, compared=compared, searched=None
    )
    chart = io.BytesIO()
    draw(report, chart)
    return {
        **as_json(report),
        "csv": csv_text(report),
        "png": base64.b64encode(chart.getvalue()).decode("ascii"),
    }
