"""The sections of contactd.toml the daemon's parts read: one pydantic model each, strict
(an unknown key is an error)."""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from datetime import time
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from routing.contact import Channel


class ConfigError(Exception):
    """The configuration cannot be used; the message says where and why."""


class StrictSection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# A language clients may be served in, as catalogs and Babel name it ("da", "ar", "pt_BR").
LanguageCode = Annotated[str, Field(pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")]
# A name in a client's language (a case type's, a queue's), as pages and prompts show it.
Name = Annotated[str, Field(min_length=1, max_length=120)]


class DaemonConfig(StrictSection):
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8080
    data_dir: Path | None = None
    timezone: str = "Europe/Copenhagen"
    max_body_bytes: Annotated[int, Field(ge=1024, le=64 * 1024 * 1024)] = 1024 * 1024
    shutdown_grace_seconds: Annotated[float, Field(gt=0, le=300)] = 10
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # The reverse proxies in front of the daemon (addresses or networks): only from these is
    # X-Forwarded-For believed, for the public endpoints' per-address limits.
    trusted_proxies: list[IPv4Network | IPv6Network] = []
    # Desk event streams one token may hold open on an instance (tabs, screens); one more is
    # refused with 429 too_many_streams.
    desk_streams_per_token: Annotated[int, Field(ge=1, le=100)] = 4

    @pydantic.field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("must be an IANA time zone such as 'Europe/Copenhagen'") from exc
        return value


class DatabaseConfig(StrictSection):
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


class LeaderConfig(StrictSection):
    lock_retry_seconds: Annotated[float, Field(gt=0, le=60)] = 1
    heartbeat_seconds: Annotated[float, Field(gt=0, le=300)] = 5


class RoutingConfig(StrictSection):
    batch_size: Annotated[int, Field(ge=1, le=100_000)] = 10_000
    poll_seconds: Annotated[float, Field(gt=0, le=300)] = 2
    max_missed_offers: Annotated[int, Field(ge=1, le=100)] = 3
    wrap_up_seconds: Annotated[int, Field(ge=0, le=3600)] = 30
    # An agent who passed a contact on (declined it, let its offer expire, transferred it)
    # is not offered it again for this long after its latest pass; then they may be, so
    # that a contact only they can take (the one caseworker at a counter) does not wait for
    # ever.
    passed_over_seconds: Annotated[int, Field(ge=30, le=86_400)] = 600
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


class ClassifierConfig(StrictSection):
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


class PhoneConfig(StrictSection):
    # The line's opening hours: outside them callers hear when it opens and may book a call.
    calendar: str = "phone"
    # Numbers written without a country code are read as this country's (ISO 3166 code).
    region: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] = "DK"
    # The countries (ISO 3166 codes) whose numbers contactd calls and texts: booking, the
    # IVR's callback, surveys, tickets, staff input. Others are refused as the place where
    # toll fraud and SMS pumping pay.
    countries: Annotated[
        list[Annotated[str, Field(pattern=r"^[A-Z]{2}$")]], Field(min_length=1)
    ] = ["DK"]
    # The IVR's case-type menu: key -> case type code, read out in this order.
    menu: dict[Annotated[str, Field(pattern=r"^[0-9]$")], str] = {}
    # The one key for every other language the line offers (it speaks [agency]'s first):
    # after the menu and the closed line's offer, each of them is said in itself on this key.
    # Not a menu key, and not 1 (the closed line's offer): loading.py checks.
    language_key: Annotated[str, Field(pattern=r"^[0-9]$")] = "9"
    # The languages the line offers, each on its key of the language menu that language_key
    # opens (with one other language, the key switches to it at once). A menu of its own, so
    # its keys may be the case-type menu's. None: see offered().
    language_digits: dict[LanguageCode, Annotated[str, Field(pattern=r"^[0-9]$")]] | None = None
    # The key of English before language_key (issue 20): never read, only refused with what
    # to write instead.
    english_digit: Annotated[object, Field(exclude=True)] = None
    # A waiting caller whose expected wait is longer than this may press 1 for a callback.
    callback_offer_after_seconds: Annotated[int, Field(ge=0, le=86_400)] = 300
    # Twilio text-to-speech voices per language; a language left out gets the one of
    # channels/phone/voices.py.
    voices: dict[LanguageCode, Annotated[str, Field(min_length=1, max_length=100)]] = {}
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
    # SMS the booking form may cause in an hour, all instances together: above it, callbacks
    # are still booked but not confirmed by SMS, and contactd_booking_sms_capped_total counts
    # them (an alert fires). A ceiling on what SMS pumping can cost.
    booking_sms_per_hour: Annotated[int, Field(ge=1, le=100_000)] = 200
    # Dialling a callback when a caseworker accepts it: whose phone rings first, how often
    # the client is tried (within the window), how far apart, how long a phone rings.
    dial_order: Literal["agent_first", "client_first"] = "agent_first"
    callback_attempts: Annotated[int, Field(ge=1, le=10)] = 3
    callback_retry_minutes: Annotated[int, Field(ge=1, le=240)] = 15
    ring_seconds: Annotated[int, Field(ge=5, le=120)] = 30

    @pydantic.field_validator("english_digit")
    @classmethod
    def _renamed(cls, value: object) -> None:
        raise ValueError(f'renamed; write phone.language_key = "{value}"')

    def offered(self, languages: Sequence[str]) -> dict[str, str]:
        """The languages the line offers, on their keys of the language menu: language_digits,
        else every client language after the line's own (the first of `languages`, [agency]
        languages) on 1, 2, 3, ... in that order, the tenth on 0 (loading.py refuses more)."""
        if self.language_digits is not None:
            return dict(self.language_digits)
        return dict(zip(languages[1:], "1234567890", strict=False))


class MailboxConfig(StrictSection):
    host: str
    port: Annotated[int, Field(ge=1, le=65535)] = 993
    user: str
    folder: str = "INBOX"
    # Where read mail is moved once its contact is stored; none: it stays, flagged \Seen.
    processed_folder: str | None = None
    # Where mail goes, unread, that could not be stored after email.store_tries tries or that
    # is over email.mails_per_contact; made at login if missing (docs/reference/email.md).
    quarantine_folder: Annotated[str, Field(pattern=r"^[^\x00-\x1f\x7f]{1,200}$")] = "Quarantine"
    ssl: bool = True  # IMAPS; false only for a server on the same host or in tests
    # The authserv-id(s) the receiving mail server writes in Authentication-Results: only its
    # headers are believed (the sender can write any). Empty: the sender is not checked.
    authserv_ids: list[Annotated[str, Field(pattern=r"^[^\s;()\"]{1,255}$")]] = []
    # The password comes from CONTACTD_MAILBOX_<NAME>_PASSWORD only (a secret).

    @pydantic.model_validator(mode="after")
    def _quarantine_apart(self) -> MailboxConfig:
        # Mail "moved" to the folder it is read from would be read and quarantined for ever.
        if self.quarantine_folder in (self.folder, self.processed_folder):
            raise ValueError("quarantine_folder must differ from folder and processed_folder")
        return self


class SmtpConfig(StrictSection):
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


class EmailConfig(StrictSection):
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
    # A mail the database refuses this many times (counted across passes and restarts) goes
    # to the mailbox's quarantine folder, with a contact in triage that says so.
    store_tries: Annotated[int, Field(ge=1, le=100)] = 3
    # New contacts from one address in the last hour; more of its mail is kept on its newest
    # contact (no new contact, no acknowledgement).
    contacts_per_sender_per_hour: Annotated[int, Field(ge=1, le=10_000)] = 10
    # Mails from the client kept on one contact; more go to the quarantine folder, and the
    # contact says so.
    mails_per_contact: Annotated[int, Field(ge=1, le=100_000)] = 200
    # Standard answers, <dir>/<da|en>/<name>.j2 (relative: to the configuration's directory).
    answers_dir: Annotated[str, Field(min_length=1, max_length=500)] = "answers"
    # The agency's forms and checklists a caseworker attaches to an answer (a folder of
    # files, relative: to the configuration's directory), each at most this many bytes.
    forms_dir: Annotated[str, Field(min_length=1, max_length=500)] = "forms"
    max_attachment_bytes: Annotated[int, Field(ge=1000, le=20_000_000)] = 5_000_000
    mailboxes: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,30}$")], MailboxConfig] = {}


class TicketsConfig(StrictSection):
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


# channels.ports.OUTBOX_KINDS
OutboxKind = Literal["email", "sms", "dial", "connect", "redirect", "consult", "consult_end"]
# A live call's moves are worth nothing after an hour: the caller has long gone.
MAX_AGE_HOURS: dict[OutboxKind, float] = {
    "email": 168, "sms": 48, "dial": 12, "connect": 1, "redirect": 1, "consult": 1,
    "consult_end": 1,
}  # fmt: skip


class OutboxConfig(StrictSection):
    batch_size: Annotated[int, Field(ge=1, le=1000)] = 50
    concurrency: Annotated[int, Field(ge=1, le=100)] = 10
    # A message being sent is leased this long: a daemon that dies mid-send frees it after.
    lease_seconds: Annotated[float, Field(ge=5, le=3600)] = 60
    max_attempts: Annotated[int, Field(ge=1, le=100)] = 10
    backoff_seconds: Annotated[float, Field(gt=0, le=3600)] = 2  # doubles with every attempt
    max_backoff_seconds: Annotated[float, Field(gt=0, le=86_400)] = 900
    poll_seconds: Annotated[float, Field(gt=0, le=300)] = 5  # for retries that come due
    # A message not sent within this many hours of its kind is given up (failed), so that it
    # reaches no one too late and retention can purge its contact.
    max_age_hours: dict[OutboxKind, Annotated[float, Field(gt=0, le=8760)]] = dict(MAX_AGE_HOURS)

    @pydantic.field_validator("max_age_hours")
    @classmethod
    def _every_kind(cls, value: dict[OutboxKind, float]) -> dict[OutboxKind, float]:
        return {**MAX_AGE_HOURS, **value}  # a kind left out keeps its default


class StaffingConfig(StrictSection):
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


# Loopback and the private ranges: where Prometheus, a load balancer and a container's
# health check ask from; never the internet.
OPERATOR_NETWORKS = (
    "127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7",
)  # fmt: skip


class MetricsConfig(StrictSection):
    # How often the leader recomputes the queue figures that /metrics exports.
    statistics_seconds: Annotated[float, Field(ge=1, le=3600)] = 10
    # The addresses /health, /ready and /metrics answer (others get 403 address_not_allowed);
    # a request through one of daemon.trusted_proxies counts by its client's address.
    allow_from: list[IPv4Network | IPv6Network] = Field(
        default_factory=lambda: [ip_network(n) for n in OPERATOR_NETWORKS]
    )


class CsatConfig(StrictSection):
    # How long a satisfaction link may be answered.
    link_days: Annotated[int, Field(ge=1, le=90)] = 14
    # How long after a contact is finished the question is sent.
    delay_minutes: Annotated[int, Field(ge=0, le=10_080)] = 5
    # The mean score (1-5) the agency aims for: the improvement report and the alert on
    # falling satisfaction measure against it.
    goal: Annotated[float, Field(ge=1, le=5)] = 4.0


_ADDRESS = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]


class ImprovementConfig(StrictSection):
    # A contact followed by another of the same client within this many days is failure
    # demand (and, answered, not a first-contact resolution).
    follow_up_days: Annotated[int, Field(ge=1, le=90)] = 7
    # When the leader mails the report: the short one each day for the day before, the
    # whole one each Monday for the week before (local time, daemon.timezone).
    send_at: time = time(7, 0)
    daily_to: list[_ADDRESS] = Field(default_factory=list, max_length=50)
    weekly_to: list[_ADDRESS] = Field(default_factory=list, max_length=50)


class RetentionConfig(StrictSection):
    # On unless switched off in so many words: a missing table keeps the default period.
    enabled: bool = True
    # Contacts closed more than this many days ago lose their personal data. At least 1, so
    # that no value purges the contacts being worked on.
    days: Annotated[int, Field(ge=1, le=36_500)] = 365
    # Contacts purged in one transaction: short ones, so the job never holds locks for long.
    batch_size: Annotated[int, Field(ge=1, le=10_000)] = 1000
    poll_seconds: Annotated[float, Field(ge=1, le=86_400)] = 3600
    # Audit log entries (who did what, who read whose data) are kept this long, then deleted.
    audit_days: Annotated[int, Field(ge=1, le=36_500)] = 730
