"""What the phone channel is told by the daemon's configuration (built by contactd)."""

from __future__ import annotations

import dataclasses
from zoneinfo import ZoneInfo

from channels.phone.prompts import Prompts
from channels.wording import Wording
from routing.calendar import BusinessCalendar
from routing.queues import CaseType


@dataclasses.dataclass(frozen=True, kw_only=True)
class PhoneSetup:
    auth_token: str | None  # Twilio's auth token; None: every webhook is refused
    public_url: str | None  # the base URL Twilio calls (and signs); None: the request's own
    calendar: BusinessCalendar  # the line's opening hours
    timezone: ZoneInfo
    region: str  # numbers without a country code are read as this country's
    countries: tuple[str, ...]  # the only countries whose numbers are called and texted
    menu: tuple[tuple[str, CaseType], ...]  # (digit, case type), in the order read out
    queue_names: dict[str, dict[str, str]]  # queue code -> language -> name
    english_digit: str
    callback_offer_after_seconds: int  # estimated wait above which a caller may leave a callback
    voices: dict[str, str]  # language -> Twilio voice
    prompts: Prompts  # what the line says and texts, in the agency's words
    wording: Wording  # every catalog: the SMS that confirms a callback is in "sms"
