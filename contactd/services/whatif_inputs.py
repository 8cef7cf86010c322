"""The what-if lab's inputs from reality (issue 21): the traffic of chosen working days,
estimated from the database's history, and today's agent profiles as the lab's staffing.

The lab (whatif/) does no I/O; `contactd whatif` calls these and hands it plain values.
Every figure the history cannot give keeps the shipped one (whatif.scenario.shipped_traffic),
and the HistoryNote says which, per channel, for the command to print. The SQL is in
contactd/store/sql/whatif.sql; it reads no client's address, subject or text, and no clock:
the caller names the days. docs/how-to/whatif-inputs.md says how each figure is estimated.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from datetime import date, time, timedelta
from typing import TypeVar

import asyncpg

from contactd.services.statistics import local_midnight
from contactd.settings.agency import Agency
from contactd.store import database, queries
from contactd.store.contacts import Executor
from routing import figures
from routing.calendar import BusinessCalendar
from routing.contact import Channel, Language
from routing.queues import Queue
from whatif.play import channel_calendar
from whatif.scenario import Agent, Callbacks, Dist, Traffic

# Fewer handled contacts than this say little about a channel's handling time (its spread
# least of all): the shipped value is kept.
MIN_HANDLED = 30
# A gamma of cv 0 cannot be drawn (its shape would be infinite): handling times that were all
# alike (a test, a script) are played as nearly alike.
MIN_CV = 0.01
MAX_DAYS = 366

T = TypeVar("T")


class HistoryError(ValueError):
    """Days the history cannot be read from: the message says why."""


class StaffingError(ValueError):
    """A day or hours the agent profiles cannot be played on: the message says why."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class ChannelNote:
    """What one channel's estimates rest on."""

    channel: Channel
    contacts: int  # created on the working days: per_day, profile, english
    handled: int  # finished by an agent: the handling time's sample
    shipped: Mapping[str, str]  # figure -> why the shipped value was kept


@dataclasses.dataclass(frozen=True, kw_only=True)
class HistoryNote:
    """What history_traffic read and what it could not estimate, for the command to print."""

    first: date
    last: date
    working_days: tuple[date, ...]  # the days counted
    closed_days: tuple[date, ...]  # the phone's calendar was closed: not counted
    channels: tuple[ChannelNote, ...]
    shipped: Mapping[str, str]  # figures of no one channel (case_types) -> why kept
    unknown_case_types: int  # contacts of case types the configuration no longer has
    abandons: int  # calls: patience rests on these
    callback_tries: tuple[int, int]  # (unanswered, all) dialled tries at the client

    def lines(self) -> list[str]:
        days = len(self.working_days)
        closed = f", {len(self.closed_days)} closed not counted" if self.closed_days else ""
        out = [f"history {self.first} to {self.last}: {days} working days{closed}"]
        for note in self.channels:
            kept = "; ".join(f"{k}: {why}" for k, why in note.shipped.items()) or "none"
            out.append(
                f"{note.channel}: {note.contacts} contacts, {note.handled} handled;"
                f" shipped values kept: {kept}"
            )
        unanswered, tries = self.callback_tries
        out.append(f"calls abandoned: {self.abandons}; callback tries unanswered: {unanswered}"
                   f" of {tries}")  # fmt: skip
        if self.unknown_case_types:
            out.append(f"{self.unknown_case_types} contacts of case types no longer configured"
                       " are left out of the case-type weights")  # fmt: skip
        for figure, why in self.shipped.items():
            out.append(f"{figure}: shipped values kept: {why}")
        return out


def phone_calendar(queues: Sequence[Queue]) -> BusinessCalendar:
    """The hotline's hours as the lab plays them (whatif.play.channel_calendar)."""
    calendar = channel_calendar(queues, Channel.CALL)
    assert calendar is not None  # noqa: S101 - only e-mail has no calendar
    return calendar


def working_days(agency: Agency, first: date, last: date) -> tuple[list[date], list[date]]:
    """The days first..last on which the phone's calendar opens, and those it does not."""
    if first > last:
        raise HistoryError(f"the first day {first} is after the last {last}")
    if (last - first).days + 1 > MAX_DAYS:
        raise HistoryError(f"read at most {MAX_DAYS} days at a time")
    calendar = phone_calendar(agency.queues)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    open_days = [d for d in days if calendar.is_working_day(d)]
    if not open_days:
        raise HistoryError(f"the phone's calendar is closed every day from {first} to {last}")
    return open_days, [d for d in days if d not in open_days]


@contextlib.asynccontextmanager
async def _snapshot(db: Executor) -> AsyncIterator[database.Conn]:
    """One read-only snapshot, so that the figures agree (as `contactd report` reads)."""
    if isinstance(db, asyncpg.Pool):
        async with (
            db.acquire() as conn,
            conn.transaction(readonly=True, isolation="repeatable_read"),
        ):
            yield conn
    elif db.is_in_transaction():
        yield db
    else:
        async with db.transaction(readonly=True, isolation="repeatable_read"):
            yield db


async def history_traffic(
    db: Executor, agency: Agency, first: date, last: date, shipped: Traffic
) -> tuple[Traffic, HistoryNote]:
    """The traffic of an average working day among first..last (local days; a day the phone's
    calendar is closed is not counted), estimated from the contacts created on them; what the
    history cannot give keeps the `shipped` value, and the note says so."""
    days, closed = working_days(agency, first, last)
    zone = agency.timezone
    bounds = (local_midnight(first, zone), local_midnight(last + timedelta(days=1), zone))
    params = (*bounds, zone.key, days)
    async with _snapshot(db) as conn:
        arrivals = await conn.fetch(queries.get("whatif_arrivals"), *params)
        handling = await conn.fetch(queries.get("whatif_handling"), *params)
        waits = await conn.fetchrow(queries.get("whatif_call_waits"), *params)
        tries = await conn.fetchrow(queries.get("whatif_callback_attempts"), *params)
    kept: dict[Channel, dict[str, str]] = {ch: {} for ch in Channel}
    a = _Arrivals.of(arrivals)
    case_types, unknown, why = _case_types(a.case_types, agency.case_types, shipped)
    handle, handled = _handle(handling, shipped, kept)
    patience, abandons = _patience(waits, shipped, kept)
    callbacks, unanswered = _callbacks(tries, shipped, kept)
    traffic = dataclasses.replace(
        shipped,
        per_day={ch: a.total(ch) / len(days) for ch in Channel},
        profile=_per_channel(shipped.profile, a.profile, "profile", kept),
        case_types=case_types,
        english=_per_channel(shipped.english, a.english, "english", kept),
        handle=handle,
        patience=patience,
        callbacks=callbacks,
    )
    note = HistoryNote(
        first=first,
        last=last,
        working_days=tuple(days),
        closed_days=tuple(closed),
        channels=tuple(
            ChannelNote(channel=ch, contacts=a.total(ch), handled=handled[ch], shipped=kept[ch])
            for ch in Channel
        ),
        shipped={"case_types": why} if why else {},
        unknown_case_types=unknown,
        abandons=abandons,
        callback_tries=unanswered,
    )
    return traffic, note


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Arrivals:
    """The arrival counts, summed the ways the traffic needs them."""

    hours: Mapping[Channel, Mapping[int, int]]
    languages: Mapping[Channel, Mapping[str, int]]
    case_types: Mapping[str, int]

    @classmethod
    def of(cls, rows: Iterable[asyncpg.Record]) -> _Arrivals:
        hours: dict[Channel, Counter[int]] = defaultdict(Counter)
        languages: dict[Channel, Counter[str]] = defaultdict(Counter)
        case_types: Counter[str] = Counter()
        for r in rows:
            channel, n = Channel(r["channel"]), r["n"]
            hours[channel][r["hour"]] += n
            languages[channel][r["language"]] += n
            case_types[r["case_type"]] += n
        return cls(hours=hours, languages=languages, case_types=case_types)

    def total(self, channel: Channel) -> int:
        return sum(self.hours.get(channel, {}).values())

    @property
    def profile(self) -> dict[Channel, dict[int, float]]:
        """The share created in each local hour, per channel with contacts."""
        return {
            ch: {hour: n / self.total(ch) for hour, n in sorted(by_hour.items())}
            for ch, by_hour in self.hours.items()
            if self.total(ch)
        }

    @property
    def english(self) -> dict[Channel, float]:
        return {
            ch: self.languages[ch].get(Language.EN, 0) / self.total(ch)
            for ch in self.hours
            if self.total(ch)
        }


def _per_channel(
    shipped: Mapping[Channel, T],
    found: Mapping[Channel, T],
    figure: str,
    kept: dict[Channel, dict[str, str]],
) -> dict[Channel, T]:
    """The estimate where the channel had contacts, else the shipped value (noted)."""
    out = dict(shipped)
    for ch in Channel:
        if ch in found:
            out[ch] = found[ch]
        elif ch in shipped:
            kept[ch][figure] = "no contacts"
    return out


def _case_types(
    counts: Mapping[str, int], configured: Mapping[str, object], shipped: Traffic
) -> tuple[dict[str, float], int, str | None]:
    """Each configured case type's share of the contacts (in the configuration's order, those
    seen); a case type the configuration no longer has cannot be played and is left out."""
    known = {code: counts[code] for code in configured if counts.get(code)}
    unknown = sum(n for code, n in counts.items() if code not in configured)
    total = sum(known.values())
    if not total:
        return dict(shipped.case_types), unknown, "no contacts of a configured case type"
    return {code: n / total for code, n in known.items()}, unknown, None


def _handle(
    rows: Iterable[asyncpg.Record], shipped: Traffic, kept: dict[Channel, dict[str, str]]
) -> tuple[dict[Channel, Dist], dict[Channel, int]]:
    """Mean and cv of the handling time where at least MIN_HANDLED were handled."""
    handle, handled = dict(shipped.handle), {}
    found = {Channel(r["channel"]): r for r in rows}
    for ch in Channel:
        r = found.get(ch)
        n = r["handled"] if r else 0
        handled[ch] = n
        if r is not None and n >= MIN_HANDLED and r["mean_seconds"] > 0:
            mean = r["mean_seconds"]
            handle[ch] = Dist(mean=mean, cv=max(r["sd_seconds"] / mean, MIN_CV))
        elif ch in shipped.handle:
            kept[ch]["handle"] = f"{n} handled, fewer than {MIN_HANDLED}"
    return handle, handled


def _patience(
    row: asyncpg.Record | None, shipped: Traffic, kept: dict[Channel, dict[str, str]]
) -> tuple[dict[Channel, Dist], int]:
    """Callers' mean patience by the censored estimate (routing.figures.patience): every
    wait, answered or not, over the abandons; exponential (cv 1), as that estimate assumes."""
    patience = dict(shipped.patience)
    counts = figures.Counts(
        answered=row["answered"] if row else 0,
        abandoned=row["abandoned"] if row else 0,
        answered_wait_seconds=row["answered_wait_seconds"] if row else 0.0,
        abandoned_wait_seconds=row["abandoned_wait_seconds"] if row else 0.0,
    )
    mean = figures.patience(counts)
    if mean:
        patience[Channel.CALL] = Dist(mean=mean, cv=1.0)
    else:
        kept[Channel.CALL]["patience"] = "no call abandoned"
    return patience, counts.abandoned


def _callbacks(
    row: asyncpg.Record | None, shipped: Traffic, kept: dict[Channel, dict[str, str]]
) -> tuple[Callbacks, tuple[int, int]]:
    """The share of dialled tries at the client that nobody answered, if any was recorded (a
    daemon without the phone channel finishes callbacks on the desk and records none)."""
    unanswered, answered = (row["unanswered"], row["answered"]) if row else (0, 0)
    tries = unanswered + answered
    if not unanswered:
        kept[Channel.CALLBACK]["unanswered"] = "no unanswered try recorded"
        return shipped.callbacks, (0, tries)
    share = unanswered / tries
    return dataclasses.replace(shipped.callbacks, unanswered=share), (unanswered, tries)


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Profile:
    """An agent profile as the lab plays it; equal profiles make one team."""

    skills: tuple[tuple[str, int], ...]
    languages: tuple[Language, ...]
    capacity: tuple[tuple[Channel, int], ...]  # in Channel order, only channels taken

    @classmethod
    def of(cls, row: asyncpg.Record) -> _Profile:
        capacity = row["capacity"]
        return cls(
            skills=tuple(sorted(row["skills"].items())),
            languages=tuple(sorted(Language(x) for x in row["languages"])),
            capacity=tuple((ch, n) for ch in Channel if (n := capacity.get(ch, 0)) > 0),
        )

    @property
    def stem(self) -> str:
        return "-".join([*(str(ch) for ch, _ in self.capacity), *self.languages])


async def profile_staffing(
    db: Executor, agency: Agency, day: date, hours: tuple[time, time] | None = None
) -> tuple[Agent, ...]:
    """The agent profiles of staff not disabled, as the lab's agents, in login order: skills,
    languages and capacity per channel as the profile says; one team per distinct profile
    (team_names); at work `hours`, or else from the earliest opening to the latest closing on
    `day` of the calendars the queues keep for the channels they take; no breaks. An agent
    with no capacity, or whose channels are all closed that day, is left out."""
    if hours is not None and not hours[0] < hours[1]:
        raise StaffingError(f"the hours {hours[0]}-{hours[1]} must end after they start")
    rows = await db.fetch(queries.get("whatif_profiles"))
    profiles = {r["login"]: p for r in rows if (p := _Profile.of(r)).capacity}
    teams = team_names(profiles.values())
    agents = []
    for login, p in profiles.items():
        shift = hours or _opening(agency.queues, p, day)
        if shift is None:
            continue
        agents.append(
            Agent(name=login, team=teams[p], skills=dict(p.skills),
                  languages=frozenset(p.languages), capacity=dict(p.capacity),
                  start=shift[0], end=shift[1])
        )  # fmt: skip
    if profiles and not agents:
        raise StaffingError(
            f"no calendar of the agents' channels opens on {day}: choose a working day"
            " or give the hours"
        )
    return tuple(agents)


def team_names(profiles: Iterable[_Profile]) -> dict[_Profile, str]:
    """A name per distinct profile: the channels it takes and its languages, such as
    "call-callback-da-en"; numbered (-1, -2, ...) where several profiles share those, in the
    order their first agent comes by login. Such a name is also a staffing file's team name."""
    distinct = list(dict.fromkeys(profiles))
    shared = Counter(p.stem for p in distinct)
    numbered: Counter[str] = Counter()
    names = {}
    for p in distinct:
        if shared[p.stem] == 1:
            names[p] = p.stem
        else:
            numbered[p.stem] += 1
            names[p] = f"{p.stem}-{numbered[p.stem]}"
    return names


def _opening(queues: Sequence[Queue], profile: _Profile, day: date) -> tuple[time, time] | None:
    """From the earliest opening to the latest closing on `day` of the calendars the queues
    keep for the agent's channels (None: all closed that day)."""
    found = [
        (start.astimezone(calendar.timezone).time(), end.astimezone(calendar.timezone).time())
        for channel, _ in profile.capacity
        for calendar in (q.calendar_for(channel) for q in queues if channel in q.channels)
        for start, end in calendar.intervals_on(day)
    ]
    if not found:
        return None
    return min(s for s, _ in found), max(e for _, e in found)
