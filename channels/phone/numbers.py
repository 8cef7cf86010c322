"""Phone numbers from callers and booking forms: parsed, checked and written as E.164."""

from __future__ import annotations

from collections.abc import Collection

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

# Numbers the agency never dials back: they cost the agency (or the client) a premium, or
# they are shared lines no one person answers.
_NOT_CALLED = {
    PhoneNumberType.PREMIUM_RATE: ("a premium-rate number", "premium_rate"),
    PhoneNumberType.SHARED_COST: ("a shared-cost number", "shared_cost"),
}
# What Twilio sends as From when the caller hides the number.
_HIDDEN = {"", "anonymous", "restricted", "unknown", "unavailable", "private", "+266696687"}


class BadNumber(ValueError):
    """The number cannot be called back; the message says why, for the client to read, and
    `reason` names the case (hidden, not_a_number, invalid, premium_rate, shared_cost,
    country_not_allowed)."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def normalise(text: str, region: str = "DK", countries: Collection[str] | None = None) -> str:
    """The number in E.164 (+4520123456); numbers without a country code are read as
    `region`'s. Raises BadNumber for hidden, malformed, invalid or premium-rate numbers, and
    for numbers of a country not in `countries` (ISO 3166 codes; None: any country)."""
    if text.strip().lower() in _HIDDEN or text.startswith("client:"):
        raise BadNumber("the number is hidden", "hidden")
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        raise BadNumber("that is not a phone number", "not_a_number") from None
    if not phonenumbers.is_valid_number(number):
        raise BadNumber("that is not a valid phone number", "invalid")
    refused = _NOT_CALLED.get(phonenumbers.number_type(number))
    if refused:
        raise BadNumber(f"we do not call {refused[0]}", refused[1])
    if countries is not None and phonenumbers.region_code_for_number(number) not in countries:
        # Calls and SMS abroad are where toll fraud and SMS pumping make their money.
        raise BadNumber("we only call numbers in " + ", ".join(countries), "country_not_allowed")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def spoken(e164: str) -> str:
    """The number as it is read out: digits in pairs after the country code."""
    number = phonenumbers.parse(e164)
    national = str(number.national_number)
    pairs = " ".join(national[i : i + 2] for i in range(0, len(national), 2))
    return f"+{number.country_code} {pairs}"
