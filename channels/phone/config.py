"""What the phone channel is told by the daemon's configuration (built by contactd)."""

from __future__ import annotations

import dataclasses
from zoneinfo import ZoneInfo

from channels.phone.prompts import Prompts
from channels.wording import Wording
from routing.calendar import BusinessCalendar
from routing.contact import Contact
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
    # The one key on which the other languages the line offers are announced after the menu
    # and the closed line's offer.
    language_key: str
    # The languages the line offers, each on its key of the language menu (language -> digit),
    # in the order they are said.
    language_digits: dict[str, str]
    callback_offer_after_seconds: int  # estimated wait above which a caller may leave a callback
    voices: dict[str, str]  # language -> the configured Twilio voice (else voices.py's)
    prompts: Prompts  # what the line says and texts, in the agency's words
    wording: Wording  # every catalog: the SMS that confirms a callback is in "sms"

    @property
    def line_language(self) -> str:
        """The language the line speaks first: the agency's first client language."""
        return self.wording.languages[0]

    @property
    def languages(self) -> tuple[str, ...]:
        """Every language the line speaks: its own, then those it offers."""
        return tuple(dict.fromkeys([self.line_language, *self.language_digits]))

    def spoken(self, contact: Contact) -> str:
        """The language to speak to a contact's client: the one they read if the line
        speaks it (a caller who chose Arabic), else the contact's own."""
        return next((lang for lang in contact.reads if lang in self.languages), contact.language)

    def others(self, lang: str) -> tuple[str, ...]:
        """The languages offered to a caller who hears `lang`: every offered one but theirs."""
        return tuple(other for other in self.language_digits if other != lang)

    def language_of(self, digit: str) -> str | None:
        """The language a key of the language menu switches to, if any."""
        return next((lang for lang, key in self.language_digits.items() if key == digit), None)
