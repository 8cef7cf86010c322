"""`contactd demo`: the daemon on its embedded PostgreSQL, demo staff, and the simulator
playing one agency day (07:00-17:00) sped up, with the queues' figures live in the terminal.

The demo runs in one process, without network beyond localhost:
- it runs the configuration it is given (`--config`, else the shipped config/contactd.toml)
  unchanged: its opening hours, holidays, goals and timers, its case types, queues and
  words. Only the stand-ins' addresses and two limits come on top, as the environment
  overrides an operator would set (`overrides` below);
- the daemon and the simulated clients share one simulated clock (contactd/clock.py): it
  stands at 07:00 of the day it plays (the first day from today on that the hotline opens and
  no run has played) while the daemon starts and then runs at the
  speed, so the 07:00 opening, the lunchtime peak and the 15:00 closing of the hotline happen
  as on a real day, whatever the hour outside;
- a stand-in for Twilio's REST API on localhost takes the SMS, the callbacks dialled and the
  calls put through to caseworkers, and answers as Twilio does (it rings no phone);
- an SMTP sink on localhost takes acknowledgements, answers and surveys, and drops them;
- the webhooks are signed with a demo auth token against CONTACTD_PUBLIC_URL, the demo's
  own address, so they are verified exactly as in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import re
import signal
import sys
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, TextIO

import aiohttp
import platformdirs
import structlog
from aiohttp import web

import simulator
from contactd import __version__, logs, settings
from contactd.app import create_app
from contactd.cli.demo_view import watch, welcome
from contactd.cli.stand_ins import Outside, fake_twilio, free_port, smtp_sink
from contactd.clock import Clock, SimulatedClock, wall_clock
from contactd.http import serving
from contactd.http.appkeys import POOL
from contactd.store import staff
from contactd.store.staff import Role
from simulator import mix

log = structlog.get_logger(__name__)

TWILIO_TOKEN = "demo-auth-token"  # noqa: S105 - signs the demo's own webhooks on localhost
ACCOUNT_SID = "AC" + "d3" * 16
HOTLINE = "+4570201010"
AGENT_NAMES = (
    ("karin", "Karin Holm"), ("jens", "Jens Lund"), ("amal", "Amal Haddad"),
    ("mette", "Mette Berg"), ("ahmed", "Ahmed Khan"), ("sofia", "Sofia Rossi"),
    ("lars", "Lars Dahl"), ("fatima", "Fatima Ali"), ("ole", "Ole Krogh"),
    ("priya", "Priya Nair"), ("ida", "Ida Winther"), ("mads", "Mads Friis"),
)  # fmt: skip
# The simulated caseworkers take this share of an average agency day (the real one has
# about 24 people on the phones, at the counters and in the inbox at once), so the morning
# peak fills the queues and the afternoon drains them.
DAY_SHARE = len(AGENT_NAMES) / 24
LAST_DAY_FILE = "demo-last-day"  # in the data directory: the day the last run played


@dataclasses.dataclass(frozen=True, kw_only=True)
class DemoOptions:
    speed: float = 60.0
    data_dir: Path | None = None
    port: int = 8080
    seed: int | None = None


def default_data_dir(config_path: Path | None = None) -> Path:
    """Apart from `contactd run`'s: demo staff and traffic never enter the real data. The
    shipped configuration plays in `contactd-demo`, any other in `contactd-demo-<its
    folder>`, so that one agency's queues and contacts never meet another's."""
    name = "contactd-demo"
    if config_path is not None and config_path.resolve() != settings.SOURCE_CONFIG:
        folder = re.sub(r"[^a-z0-9]+", "-", config_path.resolve().parent.name.lower())
        name += f"-{folder.strip('-') or 'config'}"
    return Path(platformdirs.user_data_dir(name, appauthor=False))


def main(config: settings.Settings, options: DemoOptions, out: TextIO = sys.stdout) -> int:
    if options.speed <= 0:
        print("contactd: --speed must be more than 0", file=sys.stderr)
        return 2
    return asyncio.run(_demo(config.path, options, out))


# The configuration and the simulated day.


def overrides(*, twilio_api_url: str | None = None, smtp_port: int | None = None) -> dict[str, str]:
    """What the demo changes in the configuration, as environment overrides (the
    same CONTACTD_SECTION__KEY an operator uses): the stand-ins' addresses, and the limits
    that every simulated client sharing one address would hit. Hours, goals and timers stay."""
    env = {
        "CONTACTD_PHONE__ACCOUNT_SID": ACCOUNT_SID,
        "CONTACTD_PHONE__NUMBER": HOTLINE,
        # Every simulated client books from 127.0.0.1.
        "CONTACTD_PHONE__BOOKINGS_PER_ADDRESS_PER_HOUR": "10000",
        "CONTACTD_METRICS__STATISTICS_SECONDS": "2",  # the terminal's lines follow closely
    }
    if twilio_api_url:
        env["CONTACTD_PHONE__API_URL"] = twilio_api_url
    if smtp_port:
        env |= {
            "CONTACTD_EMAIL__ADDRESS": "kontakt@demo.example.org",
            "CONTACTD_EMAIL__SMTP__HOST": "127.0.0.1",
            "CONTACTD_EMAIL__SMTP__PORT": str(smtp_port),
            "CONTACTD_EMAIL__SMTP__STARTTLS": "false",
        }
    return env


def day_to_play(config: settings.Settings, today: date, last_played: date | None) -> datetime:
    """07:00 local of the day the demo plays: the first day, from today on and after the last
    day played in this data directory, on which the hotline opens. Each run plays a new
    working day, so the data of the days before stay in the past."""
    calendar = config.calendars[config.phone.calendar]
    day = today if last_played is None else max(today, last_played + timedelta(days=1))
    while not calendar.is_working_day(day) or not calendar.intervals_on(day):
        day += timedelta(days=1)
    return datetime.combine(day, time(mix.DAY_START_HOUR), config.timezone)


def _last_played(data_dir: Path) -> date | None:
    try:
        return date.fromisoformat((data_dir / LAST_DAY_FILE).read_text().strip())
    except (OSError, ValueError):
        return None


# Stand-ins for Twilio's REST API and an SMTP server, on localhost.


async def _demo(source: Path, options: DemoOptions, out: TextIO) -> int:
    def say(text: str = "") -> None:
        print(text, file=out, flush=True)

    data_dir = (options.data_dir or default_data_dir(source)).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    # CONTACTD_PUBLIC_URL must name the port before the daemon starts: choose it now.
    port = options.port or free_port()
    url = f"http://127.0.0.1:{port}"
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    outside = Outside()
    log_file = (data_dir / "contactd.log").open("a", encoding="utf-8")
    async with contextlib.AsyncExitStack() as stack:
        stack.callback(log_file.close)
        twilio_api = await stack.enter_async_context(fake_twilio(outside))
        smtp_port = await stack.enter_async_context(smtp_sink(outside))
        environ = _environment(url, twilio_api, smtp_port)
        try:
            config = settings.load(source, environ).with_overrides(
                host="127.0.0.1", port=port, data_dir=data_dir
            )
        except settings.ConfigError as exc:
            print(f"contactd: the demo configuration is refused:\n{exc}", file=sys.stderr)
            return 2
        logs.configure(format="json", level=config.daemon.log_level, stream=log_file)
        say(f"contactd demo: starting the daemon on the embedded PostgreSQL in {data_dir}")
        if config.classifier.enabled:
            say("  (the first start trains the case-type model: a minute at most)")
        # The simulated day stands at 07:00 while the daemon starts, then runs at the speed
        # from the simulator's first arrival on: the daemon and the clients share one clock.
        start = day_to_play(config, wall_clock().astimezone(config.timezone).date(),
                            _last_played(data_dir))  # fmt: skip
        (data_dir / LAST_DAY_FILE).write_text(f"{start.date().isoformat()}\n")
        clock = SimulatedClock(start, options.speed, running=False)
        app = create_app(config, clock=clock)
        runner = await serving.set_up(
            app, stop, shutdown_seconds=config.daemon.shutdown_grace_seconds
        )
        if runner is None:
            say("contactd demo: stopped during start-up")
            return 130
        stack.push_async_callback(runner.cleanup)
        site = web.TCPSite(runner, config.daemon.host, port)
        await site.start()
        say(f"contactd {__version__} demo ready on {url}")
        people = await _staff(app[POOL], data_dir, clock)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            await _newcomer(session, url, people)
            agents, share = len(AGENT_NAMES), DAY_SHARE
            welcome(say, url, people, data_dir, options.speed, config, start, agents, share)
            await _play(session, url, people, clock, options, stop, say)
        sent = ", ".join(f"{n} {kind}" for kind, n in sorted(outside.sent.items())) or "nothing"
        say(f"the stand-ins for Twilio and SMTP took: {sent} (none delivered)")
    say("contactd demo: stopped")
    return 0


def _environment(url: str, twilio_api: str, smtp_port: int) -> dict[str, str]:
    """The operator's environment, with the demo's stand-ins and its own address on top."""
    environ = {
        k: v
        for k, v in os.environ.items()
        if k not in {"CONTACTD_DATABASE_URL", "CONTACTD_CONFIG"}  # always the embedded one
    }
    environ |= overrides(twilio_api_url=twilio_api, smtp_port=smtp_port)
    return environ | {"CONTACTD_TWILIO_AUTH_TOKEN": TWILIO_TOKEN, "CONTACTD_PUBLIC_URL": url}


async def _play(
    session: aiohttp.ClientSession,
    url: str,
    people: dict[str, simulator.Person],
    clock: SimulatedClock,
    options: DemoOptions,
    stop: asyncio.Event,
    say: Callable[[str], None],
) -> None:
    """The simulated day, watched in the terminal, until it is over and Ctrl-C is pressed."""
    sim = simulator.Simulator(
        simulator.Options(
            url=url,
            admin_token=people["ada"].token,
            rate=mix.AVERAGE_RATE * DAY_SHARE,
            speed=options.speed,
            clock=clock,
            seed=options.seed,
            twilio_token=TWILIO_TOKEN,
            public_url=url,
            day=True,
            report_every=0,
            staff=simulator.Staff(
                frontdesk=people["frida"],
                agents=tuple(people[login] for login, _ in AGENT_NAMES),
            ),
        ),
        out=say,
    )
    sim_stop = asyncio.Event()
    played = asyncio.create_task(sim.run(sim_stop), name="simulator")
    monitor = asyncio.create_task(watch(session, url, sim, say), name="monitor")
    stopped = asyncio.create_task(stop.wait(), name="stop")
    await asyncio.wait({played, stopped}, return_when=asyncio.FIRST_COMPLETED)
    if played.done() and not stopped.done():
        if played.exception() is None:
            say("\nThe simulated day is over. The daemon keeps running: look around;")
            say("Ctrl-C stops it and its PostgreSQL.")
        await stopped
    say("\ncontactd demo: stopping")
    sim_stop.set()
    try:
        async with asyncio.timeout(40):
            await asyncio.gather(played, return_exceptions=True)
    except TimeoutError:
        played.cancel()
        await asyncio.gather(played, return_exceptions=True)
    for task in (monitor, stopped):
        task.cancel()
    await asyncio.gather(monitor, stopped, return_exceptions=True)
    if played.done() and not played.cancelled() and played.exception() is not None:
        say(f"contactd demo: the simulator failed: {played.exception()}")


async def _staff(pool: Any, data_dir: Path, clock: Clock) -> dict[str, simulator.Person]:
    """The demo's people, with fresh tokens (also on a second start: the old ones stop
    working), written to a file only the user can read."""
    wanted = [
        ("ada", "Ada Admin", Role.ADMIN),
        ("frida", "Frida Front Desk", Role.FRONTDESK),
        ("sofie", "Sofie Supervisor", Role.SUPERVISOR),
        ("newcomer", "You (not simulated)", Role.AGENT),
        *((login, name, Role.AGENT) for login, name in AGENT_NAMES),
    ]
    people = {}
    for login, name, role in wanted:
        try:
            _, token = await staff.add(pool, login=login, name=name, role=role, now=clock())
        except staff.StaffError:
            try:
                _, token = await staff.replace_token(pool, login, now=clock())
            except staff.StaffDisabled:  # disabled during an earlier demo: back, newly keyed
                _, token = await staff.enable(pool, login, now=clock())
        people[login] = simulator.Person(login=login, token=token)
    tokens = data_dir / "demo-tokens.txt"
    tokens.touch(mode=0o600)
    tokens.chmod(0o600)
    roles = {login: role for login, _, role in wanted}
    tokens.write_text(
        "".join(f"{login}\t{roles[login]}\t{p.token}\n" for login, p in people.items())
    )
    return people


async def _newcomer(
    session: aiohttp.ClientSession, url: str, people: dict[str, simulator.Person]
) -> None:
    """An agent no simulation drives, with every skill: sign in as it and take contacts."""
    codes = await _case_types(session, url, people["ada"].token)
    body = {
        "skills": dict.fromkeys(codes, 3),
        "languages": ["da", "en"],
        "counter": "13",
        "phone": "+4533000099",
    }
    headers = {"Authorization": f"Bearer {people['ada'].token}"}
    async with session.put(f"{url}/api/agents/newcomer", json=body, headers=headers) as r:
        r.raise_for_status()


async def _case_types(session: aiohttp.ClientSession, url: str, token: str) -> list[str]:
    headers = {"Authorization": f"Bearer {token}"}
    async with session.get(f"{url}/api/reference", headers=headers) as r:
        r.raise_for_status()
        return [c["code"] for c in (await r.json())["case_types"]]
