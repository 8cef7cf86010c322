"""The simulator: clients and caseworkers of the agency, played against a running contactd
over its public interfaces only (the Twilio webhooks, the staff API, the desk).

Callers follow the TwiML the daemon answers, as Twilio would: the menu's keys are found by
listening to it (the names in /api/reference), the queue's wait and leave URLs are those of
its <Enqueue>. E-mails enter through POST /api/contacts without a case type, so the
classifier sorts them (with it off, they go to triage); visitors take tickets through the
kiosk's POST /api/tickets; a few clients book a callback on the web. Caseworkers follow
their desk's event stream, accept offers, hold each contact for a handling time, answer
e-mails, finish, sometimes decline, and take breaks.

Every duration in mix.py is simulated time; `speed` divides it into wall-clock time, and
multiplies the arrival rate. The daemon's own clocks (goals, offer expiry, wrap-up) are not
touched: against a deployment, speed > 1 compresses the traffic only. In the demo the daemon
runs on the same simulated clock (Options.clock), so its goals and timers play at the speed
too.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import json
import re
import secrets
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import yarl
from twilio.request_validator import RequestValidator

from contactd.clock import SimulatedClock
from simulator import mix, texts

CHANNELS = ("call", "callback", "email", "ticket")
_CHOICE = re.compile(r"^(?:Tryk|Press) (\d) for (.+)\.$")
_ENGLISH = re.compile(r"For English, press (\d)\.")
HOTLINE = "+4570201010"  # the number callers dial (a label only; Twilio's "To")


class SimulationError(Exception):
    """The simulation cannot start (a refused token, an unreachable daemon); says why."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Person:
    login: str
    token: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class Staff:
    """Staff made beforehand (the demo's); without it the simulator makes its own."""

    frontdesk: Person
    agents: tuple[Person, ...]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Options:
    url: str
    admin_token: str
    rate: float = mix.AVERAGE_RATE  # contacts per simulated minute, all channels
    duration: float | None = None  # wall-clock seconds; None: until stopped (or the day ends)
    speed: float = 1.0
    agents: int = 12
    seed: int | None = None
    twilio_token: str | None = None
    public_url: str | None = None  # what Twilio signs; default: url
    day: bool = False  # play 07:00-17:00 with the daily peak
    report_every: float = 10.0  # wall-clock seconds between status lines; 0: none
    staff: Staff | None = None
    # The daemon's own simulated clock, when it runs in this process (the demo): the day
    # then starts for both at once, at the clock's start, and plays at its speed.
    clock: SimulatedClock | None = None


@dataclasses.dataclass(eq=False)
class Tracked:
    """A contact the simulator made, as the simulator knows it."""

    channel: str
    case_type: str
    language: str
    state: str = "waiting"  # waiting, active, done, abandoned
    accepted: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    finished: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    # A waiting call: how to hang it up (its form and the <Enqueue>'s action).
    form: dict[str, str] | None = None
    left_url: str | None = None


@dataclasses.dataclass
class Stats:
    arrived: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    refused: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    answered: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    finished: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    abandoned: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    kept_place: int = 0  # callers who pressed 1 and became callbacks
    declined: int = 0
    case_types: collections.Counter[tuple[str, str]] = dataclasses.field(
        default_factory=collections.Counter
    )
    requests: int = 0
    statuses: collections.Counter[tuple[str, int]] = dataclasses.field(
        default_factory=collections.Counter
    )
    failures: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)

    @property
    def server_errors(self) -> dict[str, int]:
        return {f"{r} {s}": n for (r, s), n in sorted(self.statuses.items()) if s >= 500}


@dataclasses.dataclass(eq=False)
class _Agent:
    person: Person
    team: str
    busy: asyncio.Lock = dataclasses.field(default_factory=asyncio.Lock)
    seen: set[str] = dataclasses.field(default_factory=set)
    on_break: bool = False
    counter: str | None = None


class Simulator:
    def __init__(self, options: Options, *, out: Callable[[str], None] = print) -> None:
        if options.speed <= 0 or options.rate < 0 or options.agents < 0:
            raise SimulationError("speed must be > 0, rate and agents >= 0")
        self.options = options
        self.stats = Stats()
        self._out = out
        self._draws = mix.Draws(options.seed)
        # Names this run's staff, keys and ids: not from the seed, so that a second run
        # with the same seed against the same database makes new contacts, not replays.
        self._run = secrets.token_hex(3)
        self._account = "AC" + self._draws.hex(32)
        self._url = options.url.rstrip("/")
        self._public = (options.public_url or options.url).rstrip("/")
        self._validator = RequestValidator(options.twilio_token) if options.twilio_token else None
        self._tracked: dict[str, Tracked] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._agents: list[_Agent] = []
        self._made: list[str] = []  # logins this run created, disabled at the end
        self._case_types: list[str] = []
        self._names: dict[str, dict[str, str]] = {}  # case type -> language -> name
        self._session: aiohttp.ClientSession | None = None
        self._frontdesk: Person | None = None
        self._started = 0.0
        self._sim_start = datetime.now().astimezone()
        self._calls_placeable = True
        self._noted: set[str] = set()
        self._arrivals_done = False
        self._count = 0

    # The simulated clock.

    def elapsed(self) -> float:
        return time.monotonic() - self._started if self._started else 0.0

    def sim_time(self) -> datetime:
        return self._sim_start + timedelta(seconds=self.elapsed() * self.options.speed)

    def sim_hour(self) -> float:
        """The local hour of the simulated day, or -1 when not playing a day."""
        if not self.options.day:
            return -1.0
        return mix.DAY_START_HOUR + self.elapsed() * self.options.speed / 3600

    def progress(self) -> float:
        """How much of the run is done (0-1); 0 when it runs until stopped."""
        limit = self._wall_limit()
        return min(1.0, self.elapsed() / limit) if limit else 0.0

    @property
    def finished_arrivals(self) -> bool:
        return self._arrivals_done

    def _wall_limit(self) -> float | None:
        limits = [self.options.duration] if self.options.duration else []
        if self.options.day:
            limits.append(mix.DAY_MINUTES * 60 / self.options.speed)
        return min(limits) if limits else None

    # The run.

    async def run(self, stop: asyncio.Event) -> Stats:
        """Set up staff, play traffic until `stop`, the duration or the day's end, then put
        everything away: callers hang up, agents hand back their work and go offline."""
        timeout = aiohttp.ClientTimeout(total=30)
        connector = aiohttp.TCPConnector(limit=200)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            self._session = session
            try:
                await self._setup()
                if self.options.clock is not None:
                    self._sim_start = self.options.clock.start
                    self._started = self.options.clock.run()
                else:
                    if self.options.day:
                        now = datetime.now().astimezone()
                        self._sim_start = now.replace(
                            hour=mix.DAY_START_HOUR, minute=0, second=0, microsecond=0
                        )
                    self._started = time.monotonic()
                for agent in self._agents:
                    self._spawn(self._work(agent), f"agent:{agent.person.login}")
                arrivals = asyncio.create_task(self._arrivals(), name="arrivals")
                reporter = asyncio.create_task(self._reporter(), name="reporter")
                stopped = asyncio.create_task(stop.wait(), name="stop")
                limit = self._wall_limit()
                await asyncio.wait(
                    {arrivals, stopped}, timeout=limit, return_when=asyncio.FIRST_COMPLETED
                )
                self._arrivals_done = True
                for task in (arrivals, stopped, reporter):
                    task.cancel()
                await asyncio.gather(arrivals, stopped, reporter, return_exceptions=True)
            finally:
                await self._put_away()
                self._session = None
        self._out(self.summary())
        return self.stats

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _put_away(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is None or self._session.closed:
            return
        # Leave the deployment as a shift ends: waiting callers hang up, agents decline their
        # offers, close what they hold, sign off; staff this run made are disabled.
        waiting = [t for t in self._tracked.values() if t.state == "waiting" and t.left_url]
        jobs = [self._hang_up(t) for t in waiting]
        jobs += [self._sign_off(a) for a in self._agents]
        try:
            async with asyncio.timeout(20):
                await asyncio.gather(*jobs, return_exceptions=True)
                await asyncio.gather(
                    *(self._disable(login) for login in self._made), return_exceptions=True
                )
        except TimeoutError:
            self._out("simulate: gave up putting everything away after 20 s")

    # HTTP.

    async def _request(
        self,
        method: str,
        route: str,
        path: str,
        *,
        token: str | None = None,
        body: Any = None,
    ) -> tuple[int, Any]:
        """One API request; (status, JSON body or None). Transport errors give status 0."""
        session = self._live_session()
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.stats.requests += 1
        try:
            async with session.request(
                method, self._url + path, json=body, headers=headers
            ) as response:
                self.stats.statuses[(route, response.status)] += 1
                try:
                    data = await response.json(content_type=None)
                except (json.JSONDecodeError, ValueError):
                    data = None
                return response.status, data
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.stats.failures[f"{route}: {type(exc).__name__}"] += 1
            return 0, None

    async def _twilio(self, path: str, form: dict[str, str]) -> ET.Element | None:
        """POST a webhook signed as Twilio signs it (the public URL with path and query,
        and every form field); the TwiML, or None."""
        session = self._live_session()
        if self._validator is None:
            raise SimulationError("calls need --twilio-token")
        signature = self._validator.compute_signature(self._public + path, form)
        route = "POST " + path.split("?")[0]
        self.stats.requests += 1
        try:
            async with session.post(
                yarl.URL(self._url + path, encoded=True),  # signed as written: no re-quoting
                data=form,
                headers={"X-Twilio-Signature": signature},
            ) as response:
                self.stats.statuses[(route, response.status)] += 1
                text = await response.text()
                if response.status != 200 or response.content_type != "text/xml":
                    return None
                return ET.fromstring(text)  # noqa: S314 - TwiML of the daemon we drive
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.stats.failures[f"{route}: {type(exc).__name__}"] += 1
            return None
        except ET.ParseError:
            self.stats.failures[f"{route}: bad TwiML"] += 1
            return None

    def _live_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("the simulator's HTTP session is used outside run()")
        return self._session

    def _note(self, key: str, message: str) -> None:
        if key not in self._noted:
            self._noted.add(key)
            self._out(f"simulate: {message}")

    def _desk_person(self) -> Person:
        if self._frontdesk is None:
            raise RuntimeError("no front desk: setup has not run")
        return self._frontdesk

    # Setup.

    async def _setup(self) -> None:
        admin = self.options.admin_token
        status, me = await self._request("GET", "GET /api/me", "/api/me", token=admin)
        if status == 0:
            raise SimulationError(f"cannot reach {self._url}")
        if status != 200 or me.get("role") != "admin":
            raise SimulationError(f"the admin token was refused ({status}); it needs role admin")
        status, ref = await self._request(
            "GET", "GET /api/reference", "/api/reference", token=admin
        )
        if status != 200:
            raise SimulationError(f"GET /api/reference answered {status}")
        self._case_types = [c["code"] for c in ref["case_types"]]
        self._names = {c["code"]: {"da": c["da"], "en": c["en"]} for c in ref["case_types"]}
        if self._validator is None:
            self._note("calls", "no --twilio-token: no calls are simulated (they need signing)")
        staff = self.options.staff or await self._make_staff()
        self._frontdesk = staff.frontdesk
        teams = _teams(len(staff.agents))
        for n, (person, team) in enumerate(zip(staff.agents, teams, strict=True), start=1):
            agent = _Agent(person=person, team=team, counter=str(n) if "ticket" in team else None)
            await self._profile(agent, n)
            self._agents.append(agent)

    async def _make_staff(self) -> Staff:
        async def make(login: str, name: str, role: str) -> Person:
            status, body = await self._request(
                "POST",
                "POST /api/staff",
                "/api/staff",
                token=self.options.admin_token,
                body={"login": login, "name": name, "role": role},
            )
            if status != 201:
                raise SimulationError(f"POST /api/staff for {login} answered {status}")
            self._made.append(login)
            return Person(login=login, token=body["token"])

        desk = await make(f"sim-{self._run}-desk", "Simulated front desk", "frontdesk")
        agents = [
            await make(f"sim-{self._run}-a{n:02d}", f"Simulated caseworker {n}", "agent")
            for n in range(1, self.options.agents + 1)
        ]
        return Staff(frontdesk=desk, agents=tuple(agents))

    async def _profile(self, agent: _Agent, n: int) -> None:
        """Skills in every case type (specialists in a few), Danish, half also English;
        room only on the team's channels, so nobody takes a call while at the counter."""
        draws = self._draws
        special = set(draws.rng.sample(self._case_types, k=min(3, len(self._case_types))))
        skills = {c: (5 if c in special else draws.rng.choice((2, 3))) for c in self._case_types}
        languages = ["da", "en"] if n % 2 == 1 else ["da"]
        capacity = {ch: 1 for ch in agent.team.split("+")}
        if not self._calls_placeable:
            capacity = {ch: k for ch, k in capacity.items() if ch not in ("call", "callback")}
        body = {
            "skills": skills,
            "languages": languages,
            "capacity": capacity,
            "counter": agent.counter,
            "phone": f"+4533{n:06d}",  # the desk phone Twilio would ring (never dialled here)
        }
        status, _ = await self._request(
            "PUT",
            "PUT /api/agents/{login}",
            f"/api/agents/{agent.person.login}",
            token=self.options.admin_token,
            body=body,
        )
        if status != 200:
            raise SimulationError(f"PUT /api/agents/{agent.person.login} answered {status}")

    async def _disable(self, login: str) -> None:
        await self._request(
            "POST",
            "POST /api/staff/{login}/disable",
            f"/api/staff/{login}/disable",
            token=self.options.admin_token,
        )

    # Arrivals.

    def _base_rates(self) -> dict[str, float]:
        """Arrivals per wall-clock second per channel, before the day's shape."""
        per_second = self.options.rate / 60 * self.options.speed
        rates = {ch: per_second * share for ch, share in mix.shares().items()}
        if self._validator is None:
            rates["call"] = 0.0
        if not self._frontdesk:
            rates["ticket"] = 0.0
        return rates

    async def _arrivals(self) -> None:
        """A Poisson process per channel whose rate follows the day (thinning: draw at the
        peak rate, keep each arrival with the share of the rate now)."""
        base = self._base_rates()
        shaped = {ch: r * (mix.peak(ch) if self.options.day else 1.0) for ch, r in base.items()}
        ceiling = sum(shaped.values())
        if ceiling <= 0:
            await asyncio.Event().wait()  # nothing to send: wait to be stopped
        while True:
            await asyncio.sleep(self._draws.gap(ceiling))
            hour = self.sim_hour()
            if self.options.day and hour >= mix.DAY_END_HOUR:
                return
            pick = self._draws.rng.random() * ceiling
            for channel in CHANNELS:
                pick -= base[channel] * mix.profile(channel, hour)
                if pick < 0:
                    arrival = self._draws.arrival(channel, self._case_types)
                    self._count += 1
                    self._spawn(self._arrive(arrival, self._count), f"{channel}:{self._count}")
                    break

    async def _arrive(self, arrival: mix.Arrival, n: int) -> None:
        match arrival.channel:
            case "call":
                await self._call(arrival)
            case "callback":
                await self._callback(arrival, n)
            case "email":
                await self._email(arrival, n)
            case "ticket":
                await self._ticket(arrival, n)

    def _track(self, key: str, arrival: mix.Arrival, case_type: str | None = None) -> Tracked:
        tracked = Tracked(
            channel=arrival.channel,
            case_type=case_type or arrival.case_type,
            language=arrival.language,
        )
        self._tracked[key] = tracked
        self.stats.arrived[arrival.channel] += 1
        self.stats.case_types[(arrival.channel, tracked.case_type)] += 1
        return tracked

    async def _email(self, arrival: mix.Arrival, n: int) -> None:
        frontdesk = self._desk_person()
        name = self._names.get(arrival.case_type, {}).get(arrival.language)
        subject, text = texts.mail(self._draws.rng, arrival.case_type, arrival.language, name)
        message_id = f"<sim-{self._run}-{n}@mail.example.org>"
        body = {
            "channel": "email",
            "external_id": message_id,
            "client_address": f"client-{self._run}-{n}@example.org",
            "subject": subject,
            "text": text,
        }
        status, contact = await self._request(
            "POST", "POST /api/contacts", "/api/contacts", token=frontdesk.token, body=body
        )
        if status == 201:
            self._track(f"ref:{contact['reference']}", arrival)
        else:
            self.stats.refused["email"] += 1

    async def _ticket(self, arrival: mix.Arrival, n: int) -> None:
        frontdesk = self._desk_person()
        rng = self._draws.rng
        priority = rng.choices(["normal", "assistance", "appointment"], [90, 7, 3])[0]
        body: dict[str, Any] = {
            "case_type": arrival.case_type,
            "language": arrival.language,
            "priority": priority,
            "request_id": f"sim-{self._run}-{n:07d}",
        }
        if self._draws.chance(0.3):  # some visitors want an SMS when their turn is near
            body["phone"] = self._draws.phone()
        status, contact = await self._request(
            "POST", "POST /api/tickets", "/api/tickets", token=frontdesk.token, body=body
        )
        if status == 201:
            self._track(f"ref:{contact['reference']}", arrival)
        else:
            self.stats.refused["ticket"] += 1
            if status == 409:
                self._note("kiosk", "the service centre is closed: visitors are turned away")

    async def _callback(self, arrival: mix.Arrival, n: int) -> None:
        status, offer = await self._request("GET", "GET /api/callbacks", "/api/callbacks")
        windows = offer.get("windows", []) if status == 200 else []
        if not windows:
            self.stats.refused["callback"] += 1
            return
        # Most clients take the first window on offer; some a later one.
        ids = [w["id"] for w in windows[:3]]
        window = ids[0] if self._draws.chance(0.7) else self._draws.pick(ids)
        body = {
            "number": self._draws.phone(),
            "language": arrival.language,
            "case_type": arrival.case_type,
            "window": window,
            "key": f"sim-{self._run}-{n:07d}",
        }
        status, _ = await self._request("POST", "POST /api/callbacks", "/api/callbacks", body=body)
        if status == 202:  # the reference goes by SMS only: known on the desk by the form's key
            self._track(f"ext:booking:{body['key']}", arrival)
        else:
            self.stats.refused["callback"] += 1
            if status == 429:
                self._note("bookings", "callback bookings are rate-limited (429)")

    # Callers.

    def _menu_digit(self, twiml: ET.Element, case_type: str, language: str) -> tuple[str, str]:
        """Listen to the menu: the key for the case type, else the key for 'general', else
        the first key read out (0 when none is); and the case type the key stands for."""
        heard: dict[str, str] = {}
        for say in twiml.iter("Say"):
            if found := _CHOICE.match((say.text or "").strip()):
                heard[found.group(2)] = found.group(1)
        by_name = {names[language]: code for code, names in self._names.items()}
        for wanted in (case_type, "general"):
            name = self._names.get(wanted, {}).get(language)
            if name in heard:
                return heard[name], wanted
        first = next(iter(heard), None)
        if first is None:
            return "0", "general"
        return heard[first], by_name.get(first, "general")

    async def _call(self, arrival: mix.Arrival) -> None:
        sid = f"CA{self._run}{self._draws.hex(26)}"
        form = {
            "CallSid": sid,
            "AccountSid": self._account,
            "From": self._draws.phone(),
            "To": HOTLINE,
            "CallStatus": "ringing",
            "Direction": "inbound",
            "ApiVersion": "2010-04-01",
        }
        twiml = await self._twilio("/twilio/voice", form)
        gather = twiml.find("Gather") if twiml is not None else None
        action = gather.get("action", "") if gather is not None else ""
        form["CallStatus"] = "in-progress"
        if twiml is None or not action.startswith("/twilio/menu"):
            self.stats.refused["call"] += 1  # closed line (or an error): they hang up
            if action.startswith("/twilio/closed"):
                self._note("closed", "the phone line is closed: callers hang up")
            await self._twilio("/twilio/status", {**form, "CallStatus": "completed"})
            return
        # An English caller presses the key "For English, press N." names; with several
        # languages on that key, a language menu follows, which names English's own key.
        for _ in range(2 if arrival.language == "en" else 0):
            english = _ENGLISH.search(" ".join(s.text or "" for s in twiml.iter("Say")))
            if english is None:
                break
            twiml = await self._twilio(action, {**form, "Digits": english.group(1)})
            gather = twiml.find("Gather") if twiml is not None else None
            if twiml is None or gather is None:
                self.stats.refused["call"] += 1
                return
            action = gather.get("action", "")
            if "pick=language" not in action:
                break
        digit, case_type = self._menu_digit(twiml, arrival.case_type, arrival.language)
        twiml = await self._twilio(action, {**form, "Digits": digit})
        enqueue = twiml.find("Enqueue") if twiml is not None else None
        if enqueue is None:
            self.stats.refused["call"] += 1
            return
        tracked = self._track(f"ext:{sid}", arrival, case_type)
        tracked.form, tracked.left_url = form, enqueue.get("action")
        await self._wait_in_queue(tracked, enqueue.get("waitUrl", ""), form)

    async def _wait_in_queue(self, tracked: Tracked, wait_url: str, form: dict[str, str]) -> None:
        """Listen to the queue's messages (Twilio asks the wait URL about every 20 s), maybe
        press 1 for a callback, hang up when patience runs out; or be put through."""
        speed = self.options.speed
        patience = self._draws.patience_seconds() / speed
        poll = max(20 / speed, 2.0)  # at most every 2 s a caller: a load test, not a flood
        started = time.monotonic()
        may_keep_place = self._draws.chance(mix.KEEP_PLACE_SHARE)
        while True:
            left = patience - (time.monotonic() - started)
            if left <= 0:
                await self._hang_up(tracked)
                return
            try:
                async with asyncio.timeout(min(poll, left)):
                    await tracked.accepted.wait()
                break
            except TimeoutError:
                pass
            if tracked.state != "waiting":
                return
            waited = str(int((time.monotonic() - started) * speed))
            twiml = await self._twilio(wait_url, {**form, "QueueTime": waited})
            gather = twiml.find("Gather") if twiml is not None else None
            offer = gather.get("action", "") if gather is not None else ""
            wants = offer and may_keep_place and tracked.state == "waiting"
            if wants and await self._keep_place(tracked, offer, form):
                return
        # An agent accepted: contactd moved the call out of its queue (REST redirect).
        await self._twilio(tracked.left_url or "", {**form, "QueueResult": "redirected"})
        await tracked.finished.wait()
        await self._twilio("/twilio/status", {**form, "CallStatus": "completed"})

    async def _keep_place(self, tracked: Tracked, action: str, form: dict[str, str]) -> bool:
        twiml = await self._twilio(action, {**form, "Digits": "1"})
        if twiml is None or twiml.find("Leave") is None:
            return False
        await self._twilio(tracked.left_url or "", {**form, "QueueResult": "leave"})
        await self._twilio("/twilio/status", {**form, "CallStatus": "completed"})
        tracked.channel = "callback"  # the same contact, now waiting to be called back
        tracked.left_url = None
        self.stats.kept_place += 1
        return True

    async def _hang_up(self, tracked: Tracked) -> None:
        form = tracked.form or {}
        if tracked.state != "waiting" or not tracked.left_url:
            return
        tracked.state = "abandoned"
        self.stats.abandoned[tracked.channel] += 1
        await self._twilio(tracked.left_url, {**form, "QueueResult": "hangup"})
        await self._twilio("/twilio/status", {**form, "CallStatus": "completed"})

    # Caseworkers.

    async def _work(self, agent: _Agent) -> None:
        await self._set_state(agent, "available")
        while True:
            try:
                async for desk in self._desk_events(agent):
                    self._on_desk(agent, desk)
            except (aiohttp.ClientError, TimeoutError) as exc:
                self.stats.failures[f"GET /api/desk/events: {type(exc).__name__}"] += 1
            await asyncio.sleep(2)  # as the desk page: connect again after 2 s

    async def _desk_events(self, agent: _Agent) -> AsyncIterator[dict[str, Any]]:
        session = self._live_session()
        route = "GET /api/desk/events"
        self.stats.requests += 1
        async with session.get(
            self._url + "/api/desk/events",
            headers={"Authorization": f"Bearer {agent.person.token}"},
            timeout=aiohttp.ClientTimeout(total=None, sock_read=60),  # keep-alive every 15 s
        ) as response:
            self.stats.statuses[(route, response.status)] += 1
            if response.status != 200:
                return
            event, data = "", []
            async for raw in response.content:
                line = raw.decode().rstrip("\r\n")
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].strip())
                elif not line:
                    if event == "desk" and data:
                        yield json.loads("\n".join(data))
                    event, data = "", []

    def _on_desk(self, agent: _Agent, desk: dict[str, Any]) -> None:
        for contact in desk.get("contacts", []):
            ref = contact["reference"]
            if contact["state"] == "offered" and ref not in agent.seen:
                agent.seen.add(ref)
                self._spawn(self._take(agent, contact), f"take:{ref}")
        if desk.get("state") == "away" and not agent.on_break:
            # Set away by contactd after missed offers: back to work.
            agent.on_break = True
            self._spawn(self._back(agent, 0), f"back:{agent.person.login}")

    def _tracked_for(self, contact: dict[str, Any]) -> Tracked | None:
        return self._tracked.get(f"ref:{contact['reference']}") or self._tracked.get(
            f"ext:{contact.get('external_id')}"
        )

    async def _desk_action(
        self, agent: _Agent, ref: str, action: str, body: Any = None
    ) -> tuple[int, Any]:
        return await self._request(
            "POST",
            f"POST /api/desk/contacts/{{ref}}/{action}",
            f"/api/desk/contacts/{ref}/{action}",
            token=agent.person.token,
            body=body,
        )

    async def _take(self, agent: _Agent, contact: dict[str, Any]) -> None:
        ref, channel = contact["reference"], contact["channel"]
        tracked = self._tracked_for(contact)
        if self._draws.chance(mix.DECLINE_SHARE):
            self.stats.declined += 1
            await self._desk_action(agent, ref, "decline")
            agent.seen.discard(ref)  # it may be offered to us again
            return
        status, body = await self._desk_action(agent, ref, "accept")
        if status != 200:
            agent.seen.discard(ref)
            code = (body or {}).get("error", {}).get("code") if isinstance(body, dict) else None
            if code in {"phone_not_configured", "no_phone"}:
                await self._desk_action(agent, ref, "decline")
                await self._stop_taking_calls(code)
            return
        if tracked is not None:
            tracked.state = "active"
            tracked.accepted.set()
        self.stats.answered[channel] += 1
        try:
            async with agent.busy:
                await self._handle(agent, contact, tracked)
        finally:
            if tracked is not None:
                tracked.finished.set()
        if self._draws.chance(mix.BREAK_SHARE):
            agent.on_break = True
            await self._set_state(agent, "away")
            await self._back(agent, self._draws.rng.expovariate(1 / mix.BREAK_SECONDS))

    async def _handle(
        self, agent: _Agent, contact: dict[str, Any], tracked: Tracked | None
    ) -> None:
        ref, channel = contact["reference"], contact["channel"]
        speed = self.options.speed
        if channel == "ticket" and self._draws.chance(mix.NO_SHOW_SHARE):
            for _ in range(2):  # nobody comes: call the number again, twice, then give up
                await asyncio.sleep(60 / speed)
                await self._desk_action(agent, ref, "recall")
            await asyncio.sleep(60 / speed)
            status, _ = await self._desk_action(agent, ref, "no-show")
            if status == 200:
                self.stats.abandoned["ticket"] += 1
                if tracked is not None:
                    tracked.state = "abandoned"
                return
        await asyncio.sleep(self._draws.handle_seconds(channel) / speed)
        if channel == "email":
            language = contact.get("language") or "da"
            status, body = await self._desk_action(
                agent, ref, "answer", {"text": texts.answer(language)}
            )
            if status == 409 and (body or {}).get("error", {}).get("code") in {
                "email_not_configured",
                "no_address",
            }:
                self._note("smtp", "e-mail answers cannot be sent here (409): finishing only")
        finish: dict[str, Any] = {"outcome": "answered"}
        if tracked is not None and channel == "email" and contact["case_type"] != tracked.case_type:
            finish["case_type"] = tracked.case_type  # the caseworker corrects the classifier
        status, _ = await self._desk_action(agent, ref, "finish", finish)
        if status == 200:
            self.stats.finished[channel] += 1
            if tracked is not None:
                tracked.state = "done"

    async def _back(self, agent: _Agent, after_sim_seconds: float) -> None:
        await asyncio.sleep(after_sim_seconds / self.options.speed)
        await self._set_state(agent, "available")
        agent.on_break = False

    async def _set_state(self, agent: _Agent, state: str) -> None:
        await self._request(
            "POST",
            "POST /api/desk/state",
            "/api/desk/state",
            token=agent.person.token,
            body={"state": state},
        )

    async def _stop_taking_calls(self, code: str) -> None:
        """The deployment cannot put calls through (no Twilio REST set up, or no phone):
        nobody can accept a call, so agents stop being offered them."""
        if not self._calls_placeable:
            return
        self._calls_placeable = False
        self._note("no_phone", f"accepting a call answered 409 {code}: agents stop taking calls")
        for n, agent in enumerate(self._agents, start=1):
            if "call" in agent.team:
                await self._profile(agent, n)

    async def _sign_off(self, agent: _Agent) -> None:
        """Offline first (no new offers), then hand back what the desk still shows; twice,
        for an offer the router made while the first look was under way."""
        await self._set_state(agent, "offline")
        for _ in range(2):
            status, desk = await self._request(
                "GET", "GET /api/desk", "/api/desk", token=agent.person.token
            )
            for contact in desk.get("contacts", []) if status == 200 else []:
                ref = contact["reference"]
                if contact["state"] == "offered":
                    await self._desk_action(agent, ref, "decline")
                elif contact["state"] == "active":
                    await self._desk_action(agent, ref, "finish", {"outcome": "simulation_stopped"})
            await asyncio.sleep(0.3)

    # Reporting.

    def waiting(self) -> collections.Counter[str]:
        live = self._tracked.values()
        return collections.Counter(t.channel for t in live if t.state == "waiting")

    def status_line(self) -> str:
        s, waiting = self.stats, self.waiting()
        parts = [
            f"{ch} {s.arrived[ch]} in/{waiting[ch]} waiting/{s.answered[ch]} answered/"
            f"{s.abandoned[ch]} abandoned"
            for ch in CHANNELS
        ]
        clock = self.sim_time().strftime("%H:%M")
        if self.options.day:
            hour = min(self.sim_hour(), mix.DAY_END_HOUR)
            clock = f"{int(hour):02d}:{int(hour % 1 * 60):02d}"
        errors = sum(n for (_, st), n in s.statuses.items() if st >= 500)
        return (
            f"[{self.elapsed():6.0f} s, simulated {clock}] "
            + " · ".join(parts)
            + (f" · 5xx {errors}" if errors else "")
        )

    async def _reporter(self) -> None:
        every = self.options.report_every
        if every <= 0:
            return
        while True:
            await asyncio.sleep(every)
            self._out(self.status_line())

    def summary(self) -> str:
        s = self.stats
        simulated = self.elapsed() * self.options.speed / 60
        lines = [
            f"simulated {simulated:.0f} minutes in {self.elapsed():.0f} s "
            f"(speed {self.options.speed:g}, {len(self._agents)} agents)",
            f"{'channel':<9} {'arrived':>8} {'refused':>8} {'answered':>9} {'finished':>9} "
            f"{'abandoned':>10}",
        ]
        for ch in CHANNELS:
            lines.append(
                f"{ch:<9} {s.arrived[ch]:>8} {s.refused[ch]:>8} {s.answered[ch]:>9} "
                f"{s.finished[ch]:>9} {s.abandoned[ch]:>10}"
            )
        lines.append(f"callers who kept their place as a callback: {s.kept_place}")
        lines.append(f"offers declined: {s.declined}")
        lines.append(f"requests: {s.requests}; server errors (5xx): {s.server_errors or 'none'}")
        refusals = {f"{r} {st}": n for (r, st), n in sorted(s.statuses.items()) if 400 <= st < 500}
        if refusals:
            lines.append(f"refused requests (4xx): {refusals}")
        if s.failures:
            lines.append(f"failed requests: {dict(s.failures)}")
        return "\n".join(lines)


def _teams(n: int) -> list[str]:
    """Who works which channels: in a contact centre people sit on the phone, at a counter
    or in the inbox, in about the share of the work each takes (calls 60 %, counter 25 %,
    e-mail 15 %). With fewer than three agents everyone does everything."""
    if n < 3:
        return ["call+callback+email+ticket"] * n
    email = max(1, round(n * 0.15))
    ticket = max(1, round(n * 0.25))
    phone = n - email - ticket
    return ["call+callback"] * phone + ["ticket"] * ticket + ["email"] * email
