"""Reading the configuration: the files, the CONTACTD_* variables over them, validation, and
the `Settings` the daemon is given."""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

import pydantic
from pydantic import BaseModel, Field

from channels.phone import voices
from channels.wording import Wording
from contactd.settings import answers, wording
from contactd.settings.agency import (
    CalendarConfig,
    CaseTypeConfig,
    QueueConfig,
    WrapUpCodeConfig,
)
from contactd.settings.auth import AuthConfig
from contactd.settings.queues import build_queues
from contactd.settings.sections import (
    ClassifierConfig,
    ConfigError,
    CsatConfig,
    DaemonConfig,
    DatabaseConfig,
    EmailConfig,
    ImprovementConfig,
    LeaderConfig,
    MetricsConfig,
    OutboxConfig,
    PhoneConfig,
    RetentionConfig,
    RoutingConfig,
    StaffingConfig,
    StrictSection,
    TicketsConfig,
)
from contactd.settings.wording import AgencyConfig
from routing.calendar import BusinessCalendar
from routing.queues import CaseType, ProcessingGoal, Queue

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
SOURCE_CONFIG = Path(__file__).resolve().parents[2] / "config" / "contactd.toml"
SYSTEM_CONFIG = Path("/etc/contactd/contactd.toml")


def _answer_templates(
    folder: Path, types: Mapping[str, CaseTypeConfig]
) -> tuple[answers.AnswerTemplate, ...]:
    """The standard answers, each read and tried: a broken one stops the start, named."""
    templates, problems = answers.read(folder, types)
    if problems:
        raise ConfigError("\n".join(f"email.answers_dir: {p}" for p in problems))
    return templates


def default_config() -> Path:
    return SOURCE_CONFIG if SOURCE_CONFIG.exists() else SYSTEM_CONFIG


class FileConfig(StrictSection):
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
    improvement: ImprovementConfig = ImprovementConfig()
    retention: RetentionConfig = RetentionConfig()
    auth: AuthConfig = AuthConfig()
    agency: AgencyConfig = AgencyConfig()
    calendars: dict[str, CalendarConfig] = Field(min_length=1)
    queues: dict[str, QueueConfig] = Field(min_length=1)
    # Why clients contact us, in their terms (queues.<code>.wrap_up picks from these).
    wrap_up_codes: dict[
        Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")], WrapUpCodeConfig
    ] = Field(default_factory=dict)


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
    improvement: ImprovementConfig
    retention: RetentionConfig
    auth: AuthConfig
    wrap_up_codes: Mapping[str, WrapUpCodeConfig]
    answer_templates: tuple[answers.AnswerTemplate, ...]  # email.answers_dir, read and tried
    agency: AgencyConfig
    wording: Wording  # every client-facing text, from the catalogs, checked
    mailbox_passwords: Mapping[str, str]  # mailbox name -> password, from the environment
    smtp_password: str | None
    oidc_client_secret: str | None  # CONTACTD_OIDC_CLIENT_SECRET; none for a public client
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
    types = _read_case_types(path.parent / file_config.case_types_file)
    tz = ZoneInfo(file_config.daemon.timezone)
    calendars = {name: c.build(tz) for name, c in file_config.calendars.items()}
    queues = build_queues(file_config, types, calendars, path)
    _check_phone(file_config.phone, types, calendars, path, file_config.agency.languages)
    templates = _answer_templates(path.parent / file_config.email.answers_dir, types)
    words = wording.read(file_config.agency, path.parent)
    wording.check_names(file_config, types, path.parent / file_config.case_types_file)
    url = env.get("CONTACTD_DATABASE_URL") or None
    public_url = _public_url(env)
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
        improvement=file_config.improvement,
        retention=file_config.retention,
        auth=file_config.auth,
        wrap_up_codes=file_config.wrap_up_codes,
        answer_templates=templates,
        agency=file_config.agency,
        wording=words,
        mailbox_passwords={
            name: env.get(f"CONTACTD_MAILBOX_{name.upper()}_PASSWORD", "")
            for name in file_config.email.mailboxes
        },
        smtp_password=env.get("CONTACTD_SMTP_PASSWORD") or None,
        oidc_client_secret=env.get("CONTACTD_OIDC_CLIENT_SECRET") or None,
        calendars=calendars,
        database_url=url,
        twilio_auth_token=env.get("CONTACTD_TWILIO_AUTH_TOKEN") or None,
        public_url=public_url,
        timezone=tz,
        case_types={code: _case_type(code, t) for code, t in types.items()},
        queues=queues,
    )


def _case_type(code: str, config: CaseTypeConfig) -> CaseType:
    return CaseType(
        code=code,
        name_da=config.da,
        name_en=config.en,
        names=dict(config.names),
        processing_goal=ProcessingGoal.parse(config.processing_goal)
        if config.processing_goal
        else None,
        checklist_url=config.checklist_url,
        checklists=dict(config.checklists),
    )


def _read_case_types(path: Path) -> dict[str, CaseTypeConfig]:
    types = {
        code: _validate(CaseTypeConfig, value, path, {}, prefix=(code,))
        for code, value in _read_toml(path).items()
    }
    if "general" not in types:
        raise ConfigError(f"{path}: the case type 'general' (triage) is required")
    return types


def _public_url(env: Mapping[str, str]) -> str | None:
    public_url = env.get("CONTACTD_PUBLIC_URL") or None
    if public_url is not None and not re.fullmatch(r"https?://[^/\s]+/?", public_url):
        raise ConfigError(
            f"environment CONTACTD_PUBLIC_URL = {public_url!r}: must be the http(s) origin "
            "Twilio calls, with no path, e.g. https://contact.example.dk"
        )
    return public_url


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
    languages: Sequence[str],
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
    key = f"{path}: phone.language_key = {phone.language_key!r}"
    if phone.language_key in phone.menu:
        problems.append(f"{key}: the menu uses that key")
    elif phone.language_key == "1":  # the closed message says its offer and the languages
        problems.append(f"{key}: the closed line's offer uses that key")
    problems += _check_languages(phone, path, languages)
    if problems:
        raise ConfigError("\n".join(problems))


def _check_languages(phone: PhoneConfig, path: Path, languages: Sequence[str]) -> list[str]:
    """The languages the line offers, on the keys of its language menu (a menu of its own:
    they may be the case-type menu's keys): each served, each on a key of its own, each with
    a voice; and so is the line's own language."""
    problems = []
    if phone.language_digits is None and len(languages) > 11:  # one digit each, 0-9
        problems.append(
            f"{path}: phone.language_digits: {len(languages) - 1} other languages in "
            "[agency] languages and ten keys: set which the line offers"
        )
    taken: dict[str, str] = {}  # key -> the language on it
    for lang, digit in phone.offered(languages).items():
        where = f"{path}: phone.language_digits.{lang} = {digit!r}"
        if digit in taken:
            problems.append(f"{where}: {taken[digit]!r} is on that key already")
        taken.setdefault(digit, lang)
        if lang not in languages:
            problems.append(f"{where}: {lang!r} is not in [agency] languages")
    # Every language the line speaks needs a voice, or Twilio cannot say it.
    for lang in dict.fromkeys([languages[0], *phone.offered(languages)]):
        if voices.has(lang) or lang in phone.voices:
            continue
        spoken = "the line speaks it first" if lang == languages[0] else "the line offers it"
        problems.append(
            f"{path}: phone.voices.{lang}: missing; {spoken}, and contactd knows no voice of "
            f"Twilio's for {lang!r}: set one"
        )
    return problems
