"""What `contactd demo` shows in the terminal: the welcome with the pages and tokens, a
progress bar of the simulated day, and each queue's figures from /metrics."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

import simulator
from contactd import settings
from simulator import mix

REFRESH_SECONDS = 3.0


def welcome(
    say: Callable[[str], None],
    url: str,
    people: dict[str, simulator.Person],
    data_dir: Path,
    speed: float,
    config: settings.Settings,
    start: datetime,
    agents: int,
    share: float,
) -> None:
    minutes = mix.DAY_MINUTES / speed
    say("")
    say(f"  desk      {url}/desk      caseworkers (sign in: a login and its token below)")
    say(f"  kiosk     {url}/kiosk     front desk: issue tickets (frida)")
    say(f"  console   {url}/console   supervisors (sofie) and administrators (ada)")
    say(f"  board     {url}/board     the waiting room's screen")
    say(f"  status    {url}/status    the public queue status")
    say(f"  metrics   {url}/metrics   Prometheus")
    say("")
    say(f"  newcomer (an agent nobody simulates): {people['newcomer'].token}")
    say(f"  karin    (a simulated agent, watch her desk): {people['karin'].token}")
    say(f"  frida    (front desk): {people['frida'].token}")
    say(f"  sofie    (supervisor): {people['sofie'].token}")
    say(f"  ada      (administrator): {people['ada'].token}")
    say(f"  every token: {data_dir / 'demo-tokens.txt'}")
    say("")
    hotline = config.calendars[config.phone.calendar].intervals_on(start.date())
    hours = ", ".join(f"{a:%H:%M}-{b:%H:%M}" for a, b in hotline)
    mails = "sorted by the classifier" if config.classifier.enabled else "to triage (no classifier)"
    say(
        f"Playing {start:%A %d %B %Y}, 07:00-17:00, at {speed:g}x: {minutes:.1f} minutes, "
        f"{agency_of(config)}on {configuration_of(config)}: its opening hours (the hotline "
        f"{hours}), goals and timers, on a clock that runs {speed:g} times as fast. "
        f"{agents} simulated caseworkers take {share:.0%} of an average day "
        f"(calls through signed Twilio webhooks, e-mails {mails}, tickets "
        "from the kiosk). Each run plays the first day the hotline opens that no run has played."
    )
    say("Ctrl-C stops everything.")


def agency_of(config: settings.Settings) -> str:
    """'for <the agency's name>, ' in its first client language, as [agency.words] gives it
    (the terminal speaks English, the agency's name is its own); '' when it gives none."""
    words = config.agency.words.get(config.agency.languages[0], {})
    name = words.get("agency") or words.get("Agency")
    return f"for {name}, " if name else ""


def configuration_of(config: settings.Settings) -> str:
    """The shipped configuration by its file's name, any other by its path."""
    if config.path.resolve() == settings.SOURCE_CONFIG:
        return f"the shipped configuration ({config.path.name})"
    return f"the configuration {config.path}"


async def watch(
    session: aiohttp.ClientSession,
    url: str,
    sim: simulator.Simulator,
    say: Callable[[str], None],
) -> None:
    """Every few seconds: the simulated day's progress, and per queue what waits, today's
    service level per channel and its agents, from the leader's /metrics."""
    last: list[str] = []
    while True:
        await asyncio.sleep(REFRESH_SECONDS)
        try:
            async with session.get(f"{url}/metrics") as response:
                text = await response.text()
        except (aiohttp.ClientError, TimeoutError):
            continue
        block = ["", progress(sim), *queue_lines(text)]
        if block != last:  # after the day, only what still changes
            for line in block:
                say(line)
            last = block


def progress(sim: simulator.Simulator, width: int = 30) -> str:
    done = sim.progress()
    minutes = int(min(sim.sim_hour(), mix.DAY_END_HOUR) * 60)
    clock = f"{minutes // 60:02d}:{minutes % 60:02d}"
    bar = "#" * round(done * width)
    stats = sim.stats
    arrived = sum(stats.arrived.values())
    return (
        f"{clock} [{bar:<{width}}] {done:4.0%}  {arrived} contacts, "
        f"{sum(sim.waiting().values())} waiting, {sum(stats.answered.values())} answered, "
        f"{sum(stats.abandoned.values())} abandoned"
    )


def queue_lines(metrics_text: str) -> list[str]:
    """One line per queue: waiting now, today's service level per channel, its agents."""
    waiting: dict[str, float] = defaultdict(float)
    levels: dict[str, dict[str, float]] = defaultdict(dict)
    agents: dict[str, dict[str, float]] = defaultdict(dict)
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            queue = sample.labels.get("queue")
            if queue is None:
                continue
            if sample.name == "contactd_queue_waiting":
                waiting[queue] += sample.value
            elif sample.name == "contactd_service_level_ratio":
                levels[queue][sample.labels["channel"]] = sample.value
            elif sample.name == "contactd_queue_agents":
                agents[queue][sample.labels["state"]] = sample.value
    if not waiting:
        return ["  (waiting for the leader's first figures)"]
    lines = []
    width = max(11, *(len(queue) + 1 for queue in waiting))  # the agency's queue codes
    for queue, count in waiting.items():
        sl = " ".join(f"{ch} {v:4.0%}" for ch, v in sorted(levels[queue].items())) or "-"
        people = ", ".join(f"{int(n)} {st}" for st, n in sorted(agents[queue].items()) if n)
        lines.append(
            f"  {queue:<{width}} waiting {int(count):>3}   SL {sl:<40} agents {people or 'none'}"
        )
    return lines
