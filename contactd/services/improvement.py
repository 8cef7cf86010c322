"""The improvement report: the figures a team or division meeting looks at, for a week or a
chosen period, beside the period before it.

- each service goal against its target, with the change since the period before;
- satisfaction per queue and channel against `[csat] goal`, with the clients' comments
  (grouped by case type and wrap-up code, searchable; addresses, phone numbers and CPR
  numbers in them masked);
- failure demand: the share of contacts followed by another from the same client within
  `follow_up_days`, by case type and channel; first-contact resolution;
- callbacks whose client was not reached; why clients contact us (wrap-up codes); the case
  types staff corrected after the classifier (which it confuses).

The goals come from `contactd report`'s own reading (services/report.py), so the two agree.
docs/reference/kpi.md defines every figure; docs/how-to/improvement.md shows the report.
"""

from __future__ import annotations

import dataclasses
import re
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import phonenumbers

from contactd.clock import Clock
from contactd.services import report, statistics
from contactd.settings import Settings
from contactd.store import database, queries
from routing.contact import Channel
from routing.goals import ServiceGoal
from routing.queues import Queue

MOST_COMMENTS = 500  # a meeting reads dozens; a search narrows them
_EMAIL = re.compile(r"[^\s@<>()\[\],;:\"']+@[^\s@<>()\[\],;:\"']+\.[A-Za-z]{2,}")
_CPR = re.compile(r"\b\d{6}[- ]?\d{4}\b")  # a Danish personal number, with or without its dash
_LONG_NUMBER = re.compile(r"\d[\d ./-]{7,}\d")  # any other long run of digits: an id, a number


@dataclasses.dataclass(frozen=True)
class Period:
    """Local days, both included."""

    first: date
    last: date

    @classmethod
    def week_of(cls, day: date) -> Period:
        """The ISO week (Monday to Sunday) that `day` is in."""
        monday = day - timedelta(days=day.weekday())
        return cls(monday, monday + timedelta(days=6))

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def before(self) -> Period:
        """The period of the same length just before: the trend's comparison."""
        return Period(self.first - timedelta(days=self.days), self.first - timedelta(days=1))

    @property
    def label(self) -> str:
        """ "2026-W48" for an ISO week, "2026-11-30" for a day, else "first to last"."""
        if self.days == 7 and self.first.weekday() == 0:
            year, week, _ = self.first.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.first}" if self.days == 1 else f"{self.first} to {self.last}"


@dataclasses.dataclass(frozen=True, kw_only=True)
class GoalTrend:
    queue: str
    channel: Channel
    goal: ServiceGoal | None
    now: report.Row
    before: report.Row | None

    @property
    def change(self) -> float | None:
        """The service level's change since the period before (None: no figure in one)."""
        was = self.before.service_level if self.before else None
        now = self.now.service_level
        return None if was is None or now is None else now - was


@dataclasses.dataclass(frozen=True, kw_only=True)
class Satisfaction:
    queue: str
    channel: Channel
    answers: int
    mean: float | None
    before_answers: int
    before_mean: float | None


@dataclasses.dataclass(frozen=True, kw_only=True)
class Comment:
    score: int
    text: str  # masked: no address, phone or CPR number
    queue: str
    channel: Channel
    case_type: str
    wrap_up: str | None
    day: date


@dataclasses.dataclass(frozen=True, kw_only=True)
class Repeats:
    """Contacts of a case type and channel, and those followed by another of the client."""

    case_type: str  # "" when summed over case types
    channel: Channel | None  # None when summed over channels
    contacts: int
    followed: int
    answered: int
    answered_followed: int

    @property
    def failure_demand(self) -> float | None:
        return self.followed / self.contacts if self.contacts else None

    @property
    def first_contact_resolution(self) -> float | None:
        """Answered and not followed by another contact within the window, of those answered."""
        settled = self.answered - self.answered_followed
        return settled / self.answered if self.answered else None


@dataclasses.dataclass(frozen=True, kw_only=True)
class Callbacks:
    queue: str
    closed: int
    not_reached: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class Improvement:
    period: Period
    follow_up_days: int
    csat_goal: float
    final_on: date  # the day the last follow-up windows have closed: the figures stay then
    goals: tuple[GoalTrend, ...]
    satisfaction: tuple[Satisfaction, ...]
    comments: tuple[Comment, ...]
    more_comments: bool  # more than MOST_COMMENTS matched: search to narrow them
    repeats: tuple[Repeats, ...]
    callbacks: tuple[Callbacks, ...]
    wrap_ups: tuple[tuple[str, str, int], ...]  # queue, code, contacts
    corrections: tuple[tuple[str, str, int], ...]  # from, to, contacts
    classified: int  # contacts the classifier sorted in the period

    def repeats_by_channel(self) -> tuple[Repeats, ...]:
        """The case types of each channel summed: the report's headline per channel."""
        return tuple(
            _sum([r for r in self.repeats if r.channel is ch], channel=ch)
            for ch in Channel
            if any(r.channel is ch for r in self.repeats)
        )

    def repeats_in_all(self) -> Repeats:
        return _sum(self.repeats, channel=None)

    def comment_groups(self) -> dict[tuple[str, str | None], list[Comment]]:
        """The comments by case type and wrap-up code, the groups in the order of their
        first (newest) comment."""
        groups: dict[tuple[str, str | None], list[Comment]] = defaultdict(list)
        for c in self.comments:
            groups[c.case_type, c.wrap_up].append(c)
        return dict(groups)


def _sum(rows: Sequence[Repeats], *, channel: Channel | None) -> Repeats:
    return Repeats(
        case_type="",
        channel=channel,
        contacts=sum(r.contacts for r in rows),
        followed=sum(r.followed for r in rows),
        answered=sum(r.answered for r in rows),
        answered_followed=sum(r.answered_followed for r in rows),
    )


def masked(text: str, region: str = "DK") -> str:
    """A comment without the personal data a client may have written into it: e-mail
    addresses, phone numbers (phonenumbers finds them as dialled in `region`), CPR numbers
    and other long numbers. The rest is the client's own words, for the meeting to read."""
    text = _EMAIL.sub("[e-mail]", text)
    text = _CPR.sub("[CPR]", text)
    lenient = phonenumbers.Leniency.POSSIBLE  # a comment's number need not be well formed
    for match in reversed(list(phonenumbers.PhoneNumberMatcher(text, region, leniency=lenient))):
        text = text[: match.start] + "[phone]" + text[match.end :]
    return _LONG_NUMBER.sub("[number]", text)


async def gather(
    conn: database.Conn,
    queues: Sequence[Queue],
    timezone: ZoneInfo,
    period: Period,
    *,
    now: datetime,
    follow_up_days: int,
    csat_goal: float,
    search: str | None = None,
    region: str = "DK",
) -> Improvement:
    """The report of `period` (and the trend from the period before), read at `now`."""
    before = period.before()
    days = await report.gather(conn, queues, timezone, period.first, period.last, now)
    earlier = await report.gather(conn, queues, timezone, before.first, before.last, now)
    start = statistics.local_midnight(period.first, timezone)
    end = statistics.local_midnight(period.last + timedelta(days=1), timezone)
    async with conn.transaction(readonly=True, isolation="repeatable_read"):
        repeats = await conn.fetch(queries.get("improvement_repeats"), start, end,
                                   follow_up_days, now)  # fmt: skip
        comments = await conn.fetch(queries.get("improvement_comments"), start, end, search,
                                    MOST_COMMENTS + 1)  # fmt: skip
        callbacks = await conn.fetch(queries.get("improvement_callbacks"), start, end)
        corrections = await conn.fetch(queries.get("improvement_corrections"), start, end)
        classified = await conn.fetchval(queries.get("improvement_classified"), start, end)
    now_rows, before_rows = report.summary(days), report.summary(earlier)
    return Improvement(
        period=period,
        follow_up_days=follow_up_days,
        csat_goal=csat_goal,
        final_on=period.last + timedelta(days=follow_up_days + 1),
        goals=_trends(now_rows, before_rows),
        satisfaction=_satisfaction(now_rows, before_rows),
        comments=tuple(_comment(r, timezone, region) for r in comments[:MOST_COMMENTS]),
        more_comments=len(comments) > MOST_COMMENTS,
        repeats=tuple(_repeats(r) for r in repeats),
        callbacks=tuple(
            Callbacks(queue=r["queue"], closed=r["closed"], not_reached=r["not_reached"])
            for r in callbacks
        ),
        wrap_ups=_wrap_ups(days),
        corrections=tuple((r["from_type"], r["to_type"], r["n"]) for r in corrections),
        classified=classified,
    )


async def of_agency(
    conn: database.Conn,
    settings: Settings,
    period: Period,
    *,
    now: datetime,
    follow_up_days: int | None = None,
    search: str | None = None,
) -> Improvement:
    """The report as the agency's configuration sets it: its queues, time zone, follow-up
    window (unless given), satisfaction goal and phone region (for masking numbers)."""
    s = settings
    return await gather(
        conn, s.queues, s.timezone, period, now=now,
        follow_up_days=s.improvement.follow_up_days if follow_up_days is None else follow_up_days,
        csat_goal=s.csat.goal, search=search, region=s.phone.region,
    )  # fmt: skip


class Reports:
    """The improvement report of a period, for the console."""

    def __init__(self, pool: asyncpg.Pool, settings: Settings, *, clock: Clock) -> None:
        self._pool, self._settings, self._clock = pool, settings, clock

    def today(self) -> date:
        return self._clock().astimezone(self._settings.timezone).date()

    async def of(
        self, period: Period, *, follow_up_days: int | None = None, search: str | None = None
    ) -> Improvement:
        async with self._pool.acquire() as conn:
            return await of_agency(conn, self._settings, period, now=self._clock(),
                                   follow_up_days=follow_up_days, search=search)  # fmt: skip


def _repeats(row: asyncpg.Record) -> Repeats:
    return Repeats(
        case_type=row["case_type"],
        channel=Channel(row["channel"]),
        contacts=row["contacts"],
        followed=row["followed"],
        answered=row["answered"],
        answered_followed=row["answered_followed"],
    )


def _trends(now: Sequence[report.Row], before: Sequence[report.Row]) -> tuple[GoalTrend, ...]:
    earlier = {(r.queue, r.channel): r for r in before}
    return tuple(
        GoalTrend(queue=r.queue, channel=r.channel, goal=r.goal, now=r,
                  before=earlier.get((r.queue, r.channel)))
        for r in now
        if r.goal is not None
    )  # fmt: skip


def _satisfaction(
    now: Sequence[report.Row], before: Sequence[report.Row]
) -> tuple[Satisfaction, ...]:
    earlier = {(r.queue, r.channel): r for r in before}
    rows = []
    for r in now:
        was = earlier.get((r.queue, r.channel))
        if not (r.csat_answers or (was and was.csat_answers)):
            continue
        rows.append(
            Satisfaction(queue=r.queue, channel=r.channel, answers=r.csat_answers,
                         mean=r.csat_mean, before_answers=was.csat_answers if was else 0,
                         before_mean=was.csat_mean if was else None)
        )  # fmt: skip
    return tuple(rows)


def _comment(row: asyncpg.Record, timezone: ZoneInfo, region: str) -> Comment:
    return Comment(
        score=row["score"],
        text=masked(row["comment"], region),
        queue=row["queue"],
        channel=Channel(row["channel"]),
        case_type=row["case_type"],
        wrap_up=row["wrap_up"],
        day=row["answered_at"].astimezone(timezone).date(),
    )


def _wrap_ups(days: Sequence[report.Day]) -> tuple[tuple[str, str, int], ...]:
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for d in days:
        for queue, code, n in d.wrap_ups:
            totals[queue, code] += n
    ordered = sorted(totals.items(), key=lambda kv: (kv[0][0], -kv[1], kv[0][1]))
    return tuple((queue, code, n) for (queue, code), n in ordered)
