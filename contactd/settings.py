"""Settings: config/contactd.toml and case_types.toml, overridden by CONTACTD_* variables.

Everything is validated at start. A bad value raises ConfigError, whose message names the
file (or variable), the key, the value and what is allowed; the CLI turns it into exit 2.
Secrets (the database URL) come only from the environment.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import re
import ssl
import tomllib
from collections.abc import Mapping
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from routing.calendar import WEEKDAYS, BusinessCalendar, Interval
from routing.contact import Channel
from routing.engine import BullseyeStep
from routing.goals import ServiceGoal, Threshold
from routing.queues import CaseType, Queue

ENV_PREFIX = "CONTACTD_"
_MAILBOX_PASSWORD = re.compile(r"^CONTACTD_MAILBOX_[A-Z0-9_]+_PASSWORD$")
M = TypeVar("M", bound=BaseModel)
# Variables that are not overrides of a config key.
ENV_SPECIAL = {
    "CONTACTD_CONFIG",
    "CONTACTD_DATABASE_URL",
    "CONTACTD_TEST_DATABASE_URL",
    "CONTACTD_TWILIO_AUTH_TOKEN",
    "CONTACTD_PUBLIC_URL",
    "CONTACTD_SMTP_PASSWORD",
    "CONTACTD_CLOCK_START",  # contactd/clock.py: a simulated clock for trials and tests
    "CONTACTD_CLOCK_SPEED",
}
# Where the configuration is looked for when CONTACTD_CONFIG is not set: the source tree's
# config/ (a checkout), then the system-wide place (a package install, the container image).
SOURCE_CONFIG = Path(__file__).resolve().parent.parent / "config" / "contactd.toml"
SYSTEM_CONFIG = Path("/etc/contactd/contactd.toml")


def default_config() -> Path:
    return SOURCE_CONFIG if SOURCE_CONFIG.exists() else SYSTEM_CONFIG


class ConfigError(Exception):
    """The configuration cannot be used; the message says where and why."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DaemonConfig(_Strict):
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8080
    data_dir: Path | None = None
    timezone: str = "Europe/Copenhagen"
    max_body_bytes: Annotated[int, Field(ge=1024, le=64 * 1024 * 1024)] = 1024 * 1024
    shutdown_grace_seconds: Annotated[float, Field(gt=0, le=300)] = 10
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @pydantic.field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("must be an IANA time zone such as 'Europe/Copenhagen'") from exc
        return value


class DatabaseConfig(_Strict):
    pool_min_size: Annotated[int, Field(ge=1, le=100)] = 2
    pool_max_size: Annotated[int, Field(ge=1, le=500)] = 20
    connect_timeout_seconds: Annotated[float, Field(gt=0, le=3600)] = 60
    statement_timeout_seconds: Annotated[float, Field(gt=0, le=3600)] = 30

    @pydantic.model_validator(mode="after")
    def _pool_sizes(self) -> DatabaseConfig:
        if self.pool_min_size > self.pool_max_size:
            raise ValueError(
                f"pool_min_size ({self.pool_min_size}) must not exceed "
                f"pool_max_size ({self.pool_max_size})"
            )
        return self


class LeaderConfig(_Strict):
    lock_retry_seconds: Annotated[float, Field(gt=0, le=60)] = 1
    heartbeat_seconds: Annotated[float, Field(gt=0, le=300)] = 5


class RoutingConfig(_Strict):
    batch_size: Annotated[int, Field(ge=1, le=100_000)] = 10_000
    poll_seconds: Annotated[float, Field(gt=0, le=300)] = 2
    max_missed_offers: Annotated[int, Field(ge=1, le=100)] = 3
    wrap_up_seconds: Annotated[int, Field(ge=0, le=3600)] = 30
    offer_expiry_seconds: dict[Channel, Annotated[int, Field(ge=5, le=3600)]] = {
        Channel.CALL: 20,
        Channel.CALLBACK: 60,
        Channel.EMAIL: 120,
        Channel.TICKET: 30,
    }

    @pydantic.field_validator("offer_expiry_seconds")
    @classmethod
    def _every_channel(cls, value: dict[Channel, int]) -> dict[Channel, int]:
        missing = [c.value for c in Channel if c not in value]
        if missing:
            raise ValueError(f"needs a time for every channel; missing: {', '.join(missing)}")
        return value


_HOURS = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
_MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _interval(text: str) -> Interval:
    match = _HOURS.match(text)
    if not match:
        raise ValueError("must look like '09:00-15:00'")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    try:
        start, end = time(h1, m1), time(h2, m2)
    except ValueError as exc:
        raise ValueError("must look like '09:00-15:00' with real clock times") from exc
    if end <= start:
        raise ValueError("must end after it starts")
    return Interval(start=start, end=end)


def _closed_day(text: str) -> str:
    if _MONTH_DAY.match(text):
        month, day = (int(g) for g in text.split("-"))
        date(2024, month, day)  # a leap year, so 02-29 is allowed
        return text
    if not _DATE.match(text):
        raise ValueError(text)
    date.fromisoformat(text)
    return text


class ClassifierConfig(_Strict):
    # Off: contacts without a case type go straight to general triage.
    enabled: bool = True
    # The model file; default <data dir>/classifier/case-types.skops. Trained from the
    # corpus and written there at first start when it is missing or was built by another
    # scikit-learn; `contactd train` writes it too.
    model: Path | None = None
    # How long intake waits for the model while it loads or trains at start; then triage.
    wait_seconds: Annotated[float, Field(ge=0, le=300)] = 30
    # How often the model file is checked for a newer one (0: never; restart to reload).
    reload_seconds: Annotated[float, Field(ge=0, le=86400)] = 60
    # Texts classified together when many arrive at once: one batch costs little more.
    batch_size: Annotated[int, Field(ge=1, le=1024)] = 64


class PhoneConfig(_Strict):
    # The line's opening hours: outside them callers hear when it opens and may book a call.
    calendar: str = "phone"
    # Numbers written without a country code are read as this country's (ISO 3166 code).
    region: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] = "DK"
    # The IVR's case-type menu: key -> case type code, read out in this order.
    menu: dict[Annotated[str, Field(pattern=r"^[0-9]$")], str] = {}
    # The key for English (the menu is in Danish first).
    english_digit: Annotated[str, Field(pattern=r"^[0-9]$")] = "9"
    # A waiting caller whose expected wait is longer than this may press 1 for a callback.
    callback_offer_after_seconds: Annotated[int, Field(ge=0, le=86_400)] = 300
    # Twilio text-to-speech voices per language.
    voices: dict[Literal["da", "en"], str] = {"da": "Polly.Naja", "en": "Polly.Amy"}
    # The Twilio account (its auth token comes from CONTACTD_TWILIO_AUTH_TOKEN only).
    account_sid: Annotated[str, Field(pattern=r"^AC[0-9a-fA-F]{32}$")] | None = None
    # The hotline's own number: the sender of SMS and the caller id of callbacks.
    number: Annotated[str, Field(pattern=r"^\+[1-9]\d{6,14}$")] | None = None
    # Twilio's REST API (another URL only for a test double of it).
    api_url: Annotated[str, Field(pattern=r"^https?://\S+$")] = "https://api.twilio.com"
    api_timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 10
    # Callbacks booked on the web: windows this long, on today and the next working days
    # (this many in all), ending at least lead_minutes from now.
    callback_window_minutes: Annotated[int, Field(ge=15, le=480)] = 120
    callback_booking_days: Annotated[int, Field(ge=1, le=20)] = 3
    callback_lead_minutes: Annotated[int, Field(ge=0, le=480)] = 30
    # Floods: bookings per number per day (all instances), per client address per hour
    # (per instance).
    bookings_per_number_per_day: Annotated[int, Field(ge=1, le=100)] = 3
    bookings_per_address_per_hour: Annotated[int, Field(ge=1, le=10_000)] = 20
    # Dialling a callback when a caseworker accepts it: whose phone rings first, how often
    # the client is tried (within the window), how far apart, how long a phone rings.
    dial_order: Literal["agent_first", "client_first"] = "agent_first"
    callback_attempts: Annotated[int, Field(ge=1, le=10)] = 3
    callback_retry_minutes: Annotated[int, Field(ge=1, le=240)] = 15
    ring_seconds: Annotated[int, Field(ge=5, le=120)] = 30


class MailboxConfig(_Strict):
    host: str
    port: Annotated[int, Field(ge=1, le=65535)] = 993
    user: str
    folder: str = "INBOX"
    # Where read mail is moved once its contact is stored; none: it stays, flagged \Seen.
    processed_folder: str | None = None
    ssl: bool = True  # IMAPS; false only for a server on the same host or in tests
    # The password comes from CONTACTD_MAILBOX_<NAME>_PASSWORD only (a secret).


class SmtpConfig(_Strict):
    host: str
    port: Annotated[int, Field(ge=1, le=65535)] = 587
    starttls: bool = True
    user: str | None = None  # the password comes from CONTACTD_SMTP_PASSWORD only
    # The CA that signed the server's certificate (an internal CA); none: the system's.
    ca_file: str | None = None

    @pydantic.model_validator(mode="after")
    def _ca_file_usable(self) -> SmtpConfig:
        if self.ca_file is not None:
            if not self.starttls:
                raise ValueError("ca_file is used for STARTTLS only: set starttls = true")
            try:
                ssl.create_default_context(cafile=self.ca_file)
            except (OSError, ssl.SSLError) as exc:
                raise ValueError(
                    f"ca_file {self.ca_file!r} is not a readable PEM file of CA certificates "
                    f"({type(exc).__name__})"
                ) from None
        return self


class EmailConfig(_Strict):
    # The agency's address that acknowledgements come from; none: no acknowledgements.
    address: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")] | None = None
    # More addresses of the agency's own: mail from them is never acknowledged (no loops).
    own_addresses: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]] = []
    smtp: SmtpConfig | None = None
    # Polling, for servers without IDLE; with IDLE, how long one IDLE lasts before renewal.
    poll_seconds: Annotated[float, Field(gt=0, le=3600)] = 30
    idle_seconds: Annotated[float, Field(ge=1, le=1740)] = 300
    timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 30
    # A bigger message is not fetched: its contact tells staff to read it in the mailbox.
    max_message_bytes: Annotated[int, Field(ge=100_000, le=1_000_000_000)] = 50_000_000
    # Acknowledgements per address (loop and abuse protection); the mail still gets a contact.
    acknowledgements_per_address: Annotated[int, Field(ge=0, le=1000)] = 5
    acknowledgement_window_hours: Annotated[float, Field(gt=0, le=720)] = 24
    mailboxes: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,30}$")], MailboxConfig] = {}


class TicketsConfig(_Strict):
    # A counter calls a ticket this many times before it may mark the visitor a no-show.
    no_show_after_calls: Annotated[int, Field(ge=1, le=10)] = 3
    # Tickets still waiting when the service centre closes: served, or cancelled.
    at_closing: Literal["serve", "cancel"] = "serve"
    # An SMS to a visitor who gave a number when this many or fewer are ahead; 0: none.
    notify_position: Annotated[int, Field(ge=0, le=50)] = 3
    # The handling time that estimates waits until there are finished tickets to learn from.
    default_handle_minutes: Annotated[float, Field(gt=0, le=240)] = 10
    # Finished tickets of this many recent minutes give the handling time.
    handle_time_window_minutes: Annotated[int, Field(ge=10, le=1440)] = 120
    # How many called tickets the waiting-room board shows.
    board_size: Annotated[int, Field(ge=1, le=30)] = 8


class OutboxConfig(_Strict):
    batch_size: Annotated[int, Field(ge=1, le=1000)] = 50
    concurrency: Annotated[int, Field(ge=1, le=100)] = 10
    # A message being sent is leased this long: a daemon that dies mid-send frees it after.
    lease_seconds: Annotated[float, Field(ge=5, le=3600)] = 60
    max_attempts: Annotated[int, Field(ge=1, le=100)] = 10
    backoff_seconds: Annotated[float, Field(gt=0, le=3600)] = 2  # doubles with every attempt
    max_backoff_seconds: Annotated[float, Field(gt=0, le=86_400)] = 900
    poll_seconds: Annotated[float, Field(gt=0, le=300)] = 5  # for retries that come due


class StaffingConfig(_Strict):
    # The arrivals of this many recent minutes give the live arrival rate for Erlang.
    window_minutes: Annotated[int, Field(ge=5, le=1440)] = 30
    # Contacts finished in this many recent minutes give the average handling time.
    handle_window_minutes: Annotated[int, Field(ge=10, le=1440)] = 120
    # The handling time (talk and wrap-up) assumed before there is any to learn from.
    default_handle_seconds: Annotated[float, Field(gt=0, le=86_400)] = 300
    # How long callers wait before they hang up, for Erlang A, until enough have abandoned
    # to estimate it (total waiting time / abandons).
    default_patience_seconds: Annotated[float, Field(gt=0, le=86_400)] = 180
    # The most a queue's agents may be kept busy: a staffing figure above it is raised.
    max_occupancy: Annotated[float, Field(gt=0, le=1)] = 0.9


class MetricsConfig(_Strict):
    # How often the leader recomputes the queue figures that /metrics exports.
    statistics_seconds: Annotated[float, Field(ge=1, le=3600)] = 10


class CsatConfig(_Strict):
    # How long a satisfaction link may be answered.
    link_days: Annotated[int, Field(ge=1, le=90)] = 14
    # How long after a contact is finished the question is sent.
    delay_minutes: Annotated[int, Field(ge=0, le=10_080)] = 5


class RetentionConfig(_Strict):
    # On unless switched off in so many words: a missing table keeps the default period.
    enabled: bool = True
    # Contacts closed more than this many days ago lose their personal data. At least 1, so
    # that no value purges the contacts being worked on.
    days: Annotated[int, Field(ge=1, le=36_500)] = 365
    # Contacts purged in one transaction: short ones, so the job never holds locks for long.
    batch_size: Annotated[int, Field(ge=1, le=10_000)] = 1000
    poll_seconds: Annotated[float, Field(ge=1, le=86_400)] = 3600


class CalendarConfig(_Strict):
    mon: list[str] = []
    tue: list[str] = []
    wed: list[str] = []
    thu: list[str] = []
    fri: list[str] = []
    sat: list[str] = []
    sun: list[str] = []
    holidays: str | None = "DK"
    closed_days: list[str] = Field(
        default=[], description="'MM-DD' every year or 'YYYY-MM-DD' once"
    )

    @pydantic.field_validator("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    @classmethod
    def _hours(cls, value: list[str]) -> list[str]:
        intervals = [_interval(v) for v in value]
        for a, b in itertools.pairwise(intervals):
            if b.start < a.end:
                raise ValueError("intervals must be in order and must not overlap")
        return value

    @pydantic.field_validator("closed_days")
    @classmethod
    def _closed(cls, value: list[str]) -> list[str]:
        for v in value:
            try:
                _closed_day(v)
            except ValueError as exc:
                raise ValueError(f"{v!r} must be 'MM-DD' or 'YYYY-MM-DD'") from exc
        return value

    @pydantic.field_validator("holidays")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        import holidays as holiday_lib

        if value is None or value == "none":  # TOML has no null: "none" switches them off
            return None
        if value not in holiday_lib.list_supported_countries():
            raise ValueError(
                "must be a country code known to the holidays package, e.g. 'DK', or 'none'"
            )
        return value

    @pydantic.model_validator(mode="after")
    def _some_hours(self) -> CalendarConfig:
        if not any(getattr(self, day) for day in WEEKDAYS):
            raise ValueError("a calendar needs opening hours on at least one weekday")
        return self

    def build(self, tz: ZoneInfo) -> BusinessCalendar:
        hours = {
            i: tuple(_interval(t) for t in getattr(self, name)) for i, name in enumerate(WEEKDAYS)
        }
        dates = frozenset(date.fromisoformat(d) for d in self.closed_days if len(d) == 10)
        month_days = frozenset((int(d[:2]), int(d[3:])) for d in self.closed_days if len(d) == 5)
        return BusinessCalendar(
            timezone=tz,
            hours=hours,
            holiday_country=self.holidays,
            closed_dates=dates,
            closed_month_days=month_days,
        )


class GoalConfig(_Strict):
    threshold: str
    target: Annotated[float, Field(gt=0, le=1)]
    sl_variant: Annotated[int, Field(ge=1, le=5)] = 1
    calendar: str | None = None  # default: the queue's calendar

    @pydantic.field_validator("threshold")
    @classmethod
    def _threshold(cls, value: str) -> str:
        Threshold.parse(value)
        return value


class QueueConfig(_Strict):
    name_da: str
    name_en: str
    case_types: list[str] = Field(min_length=1)
    channels: list[Channel] = Field(min_length=1)
    priority: Annotated[int, Field(ge=0, le=100)] = 0
    calendar: str
    goals: dict[Channel, GoalConfig]
    overflow_to: list[str] = []
    overflow_after_seconds: Annotated[int, Field(gt=0)] | None = None
    # [[after seconds, required level], ...]: the skill level a contact needs, relaxing as
    # it waits (bullseye routing). Default: any level from the start.
    bullseye: list[tuple[Annotated[int, Field(ge=0)], Annotated[int, Field(ge=1, le=5)]]] = [(0, 1)]
    # The letter of its service-centre tickets (A001, ...); default: A, B, C, ... in the order
    # of the queues that take tickets.
    ticket_letter: Annotated[str, Field(pattern=r"^[A-Z]$")] | None = None
    # The share of finished contacts asked how satisfied they were (0: none, 1: all).
    csat_share: Annotated[float, Field(ge=0, le=1)] = 0.0

    @pydantic.field_validator("bullseye")
    @classmethod
    def _widening(cls, value: list[tuple[int, int]]) -> list[tuple[int, int]]:
        if not value or value[0][0] != 0:
            raise ValueError("must start with a step at 0 seconds, e.g. [[0, 3], [120, 1]]")
        for (t1, l1), (t2, l2) in itertools.pairwise(value):
            if t2 <= t1 or l2 > l1:
                raise ValueError("steps must come later and never ask for a higher level")
        return value


class CaseTypeConfig(_Strict):
    da: str
    en: str
    scope: str = ""
    processing_goal: str
    checklist_url: Annotated[str, Field(pattern=r"^https://\S+$")]


class FileConfig(_Strict):
    case_types_file: str = "case_types.toml"
    daemon: DaemonConfig = DaemonConfig()
    database: DatabaseConfig = DatabaseConfig()
    leader: LeaderConfig = LeaderConfig()
    routing: RoutingConfig = RoutingConfig()
    classifier: ClassifierConfig = ClassifierConfig()
    phone: PhoneConfig = PhoneConfig()
    outbox: OutboxConfig = OutboxConfig()
    email: EmailConfig = EmailConfig()
    tickets: TicketsConfig = TicketsConfig()
    staffing: StaffingConfig = StaffingConfig()
    metrics: MetricsConfig = MetricsConfig()
    csat: CsatConfig = CsatConfig()
    retention: RetentionConfig = RetentionConfig()
    calendars: dict[str, CalendarConfig] = Field(min_length=1)
    queues: dict[str, QueueConfig] = Field(min_length=1)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings:
    """The validated configuration the daemon runs with."""

    path: Path
    daemon: DaemonConfig
    database: DatabaseConfig
    leader: LeaderConfig
    routing: RoutingConfig
    classifier: ClassifierConfig
    phone: PhoneConfig
    outbox: OutboxConfig
    email: EmailConfig
    tickets: TicketsConfig
    staffing: StaffingConfig
    metrics: MetricsConfig
    csat: CsatConfig
    retention: RetentionConfig
    mailbox_passwords: Mapping[str, str]  # mailbox name -> password, from the environment
    smtp_password: str | None
    calendars: Mapping[str, BusinessCalendar]
    database_url: str | None
    # Twilio's auth token and the public base URL Twilio calls: from the environment only.
    twilio_auth_token: str | None
    public_url: str | None
    timezone: ZoneInfo
    case_types: Mapping[str, CaseType]
    queues: tuple[Queue, ...]

    @property
    def can_place_calls(self) -> bool:
        """Twilio is set up far enough to ring phones (it calls back on the public URL)."""
        phone = self.phone
        return bool(
            self.twilio_auth_token and self.public_url and phone.account_sid and phone.number
        )

    def with_overrides(self, **daemon: Any) -> Settings:
        """A copy with daemon settings replaced (from command-line flags), validated alike."""
        merged = {**self.daemon.model_dump(), **daemon}
        validated = _validate(DaemonConfig, merged, Path("command line"), {}, prefix=("daemon",))
        return dataclasses.replace(self, daemon=validated)


def load(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    path = Path(path or env.get("CONTACTD_CONFIG") or default_config())
    raw = _read_toml(path)
    if "database_url" in raw or "url" in raw.get("database", {}):
        raise ConfigError(
            f"{path}: database url: secrets are not read from files; "
            "set the environment variable CONTACTD_DATABASE_URL instead"
        )
    from_env = _apply_env(raw, env)
    file_config = _validate(FileConfig, raw, path, from_env)

    case_types_path = path.parent / file_config.case_types_file
    raw_types = _read_toml(case_types_path)
    types = {
        code: _validate(CaseTypeConfig, value, case_types_path, {}, prefix=(code,))
        for code, value in raw_types.items()
    }
    if "general" not in types:
        raise ConfigError(f"{case_types_path}: the case type 'general' (triage) is required")

    tz = ZoneInfo(file_config.daemon.timezone)
    calendars = {name: c.build(tz) for name, c in file_config.calendars.items()}
    queues = _build_queues(file_config, types, calendars, path)
    _check_phone(file_config.phone, types, calendars, path)
    url = env.get("CONTACTD_DATABASE_URL") or None
    public_url = env.get("CONTACTD_PUBLIC_URL") or None
    if public_url is not None and not re.fullmatch(r"https?://[^/\s]+/?", public_url):
        raise ConfigError(
            f"environment CONTACTD_PUBLIC_URL = {public_url!r}: must be the http(s) origin "
            "Twilio calls, with no path, e.g. https://contact.example.dk"
        )
    return Settings(
        path=path,
        daemon=file_config.daemon,
        database=file_config.database,
        leader=file_config.leader,
        routing=file_config.routing,
        classifier=file_config.classifier,
        phone=file_config.phone,
        outbox=file_config.outbox,
        email=file_config.email,
        tickets=file_config.tickets,
        staffing=file_config.staffing,
        metrics=file_config.metrics,
        csat=file_config.csat,
        retention=file_config.retention,
        mailbox_passwords={
            name: env.get(f"CONTACTD_MAILBOX_{name.upper()}_PASSWORD", "")
            for name in file_config.email.mailboxes
        },
        smtp_password=env.get("CONTACTD_SMTP_PASSWORD") or None,
        calendars=calendars,
        database_url=url,
        twilio_auth_token=env.get("CONTACTD_TWILIO_AUTH_TOKEN") or None,
        public_url=public_url,
        timezone=tz,
        case_types={
            code: CaseType(
                code=code,
                name_da=t.da,
                name_en=t.en,
                processing_goal=t.processing_goal,
                checklist_url=t.checklist_url,
            )
            for code, t in types.items()
        },
        queues=queues,
    )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def _apply_env(raw: dict[str, Any], env: Mapping[str, str]) -> dict[tuple[str, ...], str]:
    """Overlay CONTACTD_SECTION__KEY=value on the file; return which keys came from where."""
    origins: dict[tuple[str, ...], str] = {}
    for name, text in env.items():
        if not name.startswith(ENV_PREFIX) or name in ENV_SPECIAL or _MAILBOX_PASSWORD.match(name):
            continue
        keys = tuple(k.lower() for k in name[len(ENV_PREFIX) :].split("__"))
        if len(keys) < 2 or not all(keys):
            raise ConfigError(
                f"environment {name}: not a configuration key; "
                "use CONTACTD_<SECTION>__<KEY>, e.g. CONTACTD_DAEMON__PORT=8080"
            )
        try:
            value: Any = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            value = text  # a bare word is a string
        if isinstance(value, date | time):
            value = text  # a bare date or time is meant as written, e.g. a closed day
        if isinstance(value, int | float) and text.strip().startswith("+"):
            value = text  # +4570201010 is a phone number, not the integer TOML reads
        node = raw
        for key in keys[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise ConfigError(f"environment {name}: {'.'.join(keys)} is not a table key")
        node[keys[-1]] = value
        origins[keys] = name
    return origins


def _validate(
    model: type[M],
    raw: Any,
    path: Path,
    from_env: Mapping[tuple[str, ...], str],
    prefix: tuple[str, ...] = (),
) -> M:
    try:
        return model.model_validate(raw)
    except pydantic.ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = prefix + tuple(str(p) for p in err["loc"])
            key = ".".join(loc)
            where = next(
                (f"environment {v}" for keys, v in from_env.items() if loc[: len(keys)] == keys),
                str(path),
            )
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "missing":
                lines.append(f"{where}: {key}: missing; this key is required")
            elif err["type"] == "extra_forbidden":
                lines.append(f"{where}: {key}: unknown key")
            elif isinstance(err["input"], dict):  # a check across the keys of a section
                lines.append(f"{where}: {key}: {message}")
            else:
                lines.append(f"{where}: {key} = {err['input']!r}: {message}")
        raise ConfigError("\n".join(lines)) from None


def _check_phone(
    phone: PhoneConfig,
    types: Mapping[str, CaseTypeConfig],
    calendars: Mapping[str, BusinessCalendar],
    path: Path,
) -> None:
    problems = []
    if phone.calendar not in calendars:
        problems.append(
            f"{path}: phone.calendar = {phone.calendar!r}: unknown calendar; "
            f"known: {', '.join(calendars)}"
        )
    for digit, code in phone.menu.items():
        if code not in types:
            problems.append(
                f"{path}: phone.menu.{digit} = {code!r}: unknown case type; "
                f"known: {', '.join(types)}"
            )
    if phone.english_digit in phone.menu:
        problems.append(
            f"{path}: phone.english_digit = {phone.english_digit!r}: the menu uses that key"
        )
    if problems:
        raise ConfigError("\n".join(problems))


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


def _build_queues(
    config: FileConfig,
    types: Mapping[str, CaseTypeConfig],
    calendars: Mapping[str, BusinessCalendar],
    path: Path,
) -> tuple[Queue, ...]:
    problems = []
    for code, q in config.queues.items():
        where = f"{path}: queues.{code}"
        for ct in q.case_types:
            if ct not in types:
                problems.append(
                    f"{where}.case_types = {ct!r}: unknown case type; known: {', '.join(types)}"
                )
        if q.calendar not in calendars:
            problems.append(
                f"{where}.calendar = {q.calendar!r}: unknown calendar; "
                f"known: {', '.join(calendars)}"
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
    for ct in types:
        for channel in Channel:
            queues = config.queues.values()
            if not any(ct in q.case_types and channel in q.channels for q in queues):
                problems.append(
                    f"{path}: queues: no queue takes case type {ct!r} on channel {channel}; "
                    "add it to a queue (the 'general' queue, for example)"
                )
    letters = _ticket_letters(config, path, problems)
    if problems:
        raise ConfigError("\n".join(problems))
    return tuple(
        Queue(
            code=code,
            name_da=q.name_da,
            name_en=q.name_en,
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
            ticket_letter=letters.get(code),
            csat_share=q.csat_share,
        )
        for code, q in config.queues.items()
    )
