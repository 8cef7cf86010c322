"""`contactd demo`: the daemon on its embedded PostgreSQL, demo staff, and the simulator
playing one agency day (07:00-17:00) sped up, with the queues' figures live in the terminal.

The demo runs in one process, without network beyond localhost:
- it runs the shipped configuration, config/contactd.toml, unchanged: its opening hours,
  holidays, goals and timers. Only the stand-ins' addresses and two limits come on top, as
  the environment overrides an operator would set (`overrides` below);
- the daemon and the simulated clients share one simulated clock (contactd/clock.py): it
  stands at 07:00 of the next working day while the daemon starts and then runs at the
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
import signal
import socket
import sys
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, TextIO

import aiohttp
import platformdirs
import structlog
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

import simulator
from contactd import __version__, logs, settings
from contactd.app import create_app
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
REFRESH_SECONDS = 3.0
LAST_DAY_FILE = "demo-last-day"  # in the data directory: the day the last run played


@dataclasses.dataclass(frozen=True, kw_only=True)
class DemoOptions:
    speed: float = 60.0
    data_dir: Path | None = None
    port: int = 8080
    seed: int | None = None


def default_data_dir() -> Path:
    # Apart from `contactd run`'s: demo staff and traffic never enter the real data.
    return Path(platformdirs.user_data_dir("contactd-demo", appauthor=False))


def main(config: settings.Settings, options: DemoOptions, out: TextIO = sys.stdout) -> int:
    if options.speed <= 0:
        print("contactd: --speed must be more than 0", file=sys.stderr)
        return 2
    return asyncio.run(_demo(config.path, options, out))


# The configuration and the simulated day.


def overrides(*, twilio_api_url: str | None = None, smtp_port: int | None = None) -> dict[str, str]:
    """What the demo changes in the shipped configuration, as environment overrides (the
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


@dataclasses.dataclass
class Outside:
    """What the demo's stand-ins were asked to send."""

    sent: dict[str, int] = dataclasses.field(default_factory=lambda: defaultdict(int))


@contextlib.asynccontextmanager
async def fake_twilio(outside: Outside) -> AsyncIterator[str]:
    """Answers as Twilio's REST API does to what contactd sends: SMS, calls placed for
    callbacks, calls moved to a caseworker. Nothing is delivered; the base URL is yielded."""
    counter = iter(range(1, 10**9))

    async def create(request: web.Request) -> web.Response:
        kind = request.match_info["kind"]
        outside.sent["sms" if kind == "Messages" else "call"] += 1
        prefix = "SM" if kind == "Messages" else "CA"
        sid = f"{prefix}{next(counter):032x}"
        return web.json_response({"sid": sid, "status": "queued"}, status=201)

    async def update(request: web.Request) -> web.Response:
        outside.sent["put through"] += 1
        return web.json_response({"sid": request.match_info["sid"], "status": "in-progress"})

    app = web.Application()
    app.router.add_post("/2010-04-01/Accounts/{account}/{kind:Messages|Calls}.json", create)
    app.router.add_post("/2010-04-01/Accounts/{account}/Calls/{sid}.json", update)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def smtp_sink(outside: Outside) -> AsyncIterator[int]:
    """An SMTP server that accepts every mail and drops it; its port is yielded."""

    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 demo.example.org ESMTP contactd demo sink\r\n")
        try:
            while line := await reader.readline():
                verb = line[:4].upper()
                if verb == b"EHLO":
                    writer.write(b"250-demo.example.org\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                elif verb == b"DATA":
                    writer.write(b"354 end with <CRLF>.<CRLF>\r\n")
                    await writer.drain()
                    while await reader.readline() not in (b".\r\n", b""):  # the mail: dropped
                        pass
                    outside.sent["e-mail"] += 1
                    writer.write(b"250 dropped\r\n")
                elif verb == b"QUIT":
                    writer.write(b"221 bye\r\n")
                    await writer.drain()
                    break
                else:  # HELO, MAIL, RCPT, RSET, NOOP
                    writer.write(b"250 ok\r\n")
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(session, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


# The demo.


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _demo(source: Path, options: DemoOptions, out: TextIO) -> int:
    def say(text: str = "") -> None:
        print(text, file=out, flush=True)

    data_dir = (options.data_dir or default_data_dir()).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    # CONTACTD_PUBLIC_URL must name the port before the daemon starts: choose it now.
    port = options.port or _free_port()
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
        environ = {
            k: v
            for k, v in os.environ.items()
            if k not in {"CONTACTD_DATABASE_URL", "CONTACTD_CONFIG"}  # always the embedded one
        }
        environ |= overrides(twilio_api_url=twilio_api, smtp_port=smtp_port)
        environ |= {"CONTACTD_TWILIO_AUTH_TOKEN": TWILIO_TOKEN, "CONTACTD_PUBLIC_URL": url}
        try:
            config = settings.load(source, environ).with_overrides(
                host="127.0.0.1", port=port, data_dir=data_dir
            )
        except settings.ConfigError as exc:
            print(f"contactd: the demo configuration is refused:\n{exc}", file=sys.stderr)
            return 2
        logs.configure(format="json", level=config.daemon.log_level, stream=log_file)
        say(f"contactd demo: starting the daemon on the embedded PostgreSQL in {data_dir}")
        say("  (the first start trains the case-type model: a minute at most)")
        # The simulated day stands at 07:00 while the daemon starts, then runs at the speed
        # from the simulator's first arrival on: the daemon and the clients share one clock.
        start = day_to_play(config, wall_clock().astimezone(config.timezone).date(),
                            _last_played(data_dir))  # fmt: skip
        (data_dir / LAST_DAY_FILE).write_text(f"{start.date().isoformat()}\n")
        clock = SimulatedClock(start, options.speed, running=False)
        app = create_app(config, clock=clock)
        runner = await serving.set_up(app, config, stop)
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
            _welcome(say, url, people, data_dir, options.speed, config, start)
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
            watch = asyncio.create_task(_watch(session, url, sim, say), name="monitor")
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
            for task in (watch, stopped):
                task.cancel()
            await asyncio.gather(watch, stopped, return_exceptions=True)
            if played.done() and not played.cancelled() and played.exception() is not None:
                say(f"contactd demo: the simulator failed: {played.exception()}")
        sent = ", ".join(f"{n} {kind}" for kind, n in sorted(outside.sent.items())) or "nothing"
        say(f"the stand-ins for Twilio and SMTP took: {sent} (none delivered)")
    say("contactd demo: stopped")
    return 0


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
            _, token = await staff.replace_token(pool, login, now=clock())
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


def _welcome(
    say: Callable[[str], None],
    url: str,
    people: dict[str, simulator.Person],
    data_dir: Path,
    speed: float,
    config: settings.Settings,
    start: datetime,
) -> None:
    minutes = mix.DAY_MINUTES / speed
    say("")
    say(f"  desk      {url}/desk      caseworkers (sign in with a token below)")
    say(f"  kiosk     {url}/kiosk     front desk: issue tickets (frida's token)")
    say(f"  board     {url}/board     the waiting room's screen")
    say(f"  status    {url}/status    the public queue status")
    say(f"  metrics   {url}/metrics   Prometheus")
    say("")
    say(f"  newcomer (an agent nobody simulates): {people['newcomer'].token}")
    say(f"  karin    (a simulated agent, watch her desk): {people['karin'].token}")
    say(f"  frida    (front desk): {people['frida'].token}")
    say(f"  sofie    (supervisor): {people['sofie'].token}")
    say(f"  every token: {data_dir / 'demo-tokens.txt'}")
    say("")
    hotline = config.calendars[config.phone.calendar].intervals_on(start.date())
    hours = ", ".join(f"{a:%H:%M}-{b:%H:%M}" for a, b in hotline)
    say(
        f"Playing {start:%A %d %B %Y}, 07:00-17:00, at {speed:g}x: {minutes:.1f} minutes, "
        f"on the shipped configuration ({config.path.name}): its opening hours (the hotline "
        f"{hours}), goals and timers, on a clock that runs {speed:g} times as fast. "
        f"{len(AGENT_NAMES)} simulated caseworkers take {DAY_SHARE:.0%} of an average day "
        "(calls through signed Twilio webhooks, e-mails sorted by the classifier, tickets "
        "from the kiosk). Each run plays the next working day."
    )
    say("Ctrl-C stops everything.")


async def _watch(
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
        block = ["", _progress(sim), *queue_lines(text)]
        if block != last:  # after the day, only what still changes
            for line in block:
                say(line)
            last = block


def _progress(sim: simulator.Simulator, width: int = 30) -> str:
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
    for queue, count in waiting.items():
        sl = " ".join(f"{ch} {v:4.0%}" for ch, v in sorted(levels[queue].items())) or "-"
        people = ", ".join(f"{int(n)} {st}" for st, n in sorted(agents[queue].items()) if n)
        lines.append(
            f"  {queue:<11} waiting {int(count):>3}   SL {sl:<40} agents {people or 'none'}"
        )
    return lines
