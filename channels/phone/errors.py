"""The phone channel's refusals. Raised by the webhooks' signature check
(channels/phone/voice.py) and the booking form (channels/phone/booking.py); the daemon's
error middleware answers each with its kind's status and the one error shape, as it does
for every route."""

from __future__ import annotations

from routing.errors import DomainError, Kind


class NotConfigured(DomainError):
    """No Twilio auth token is set, so no webhook can be trusted."""

    kind = Kind.UNAVAILABLE
    code = "phone_not_configured"


class BadSignature(DomainError):
    """The request is not signed by Twilio with our token, for this URL and form."""

    kind = Kind.FORBIDDEN
    code = "bad_signature"


class UnreadableBooking(DomainError):
    """The booking form's body is not JSON."""

    kind = Kind.MALFORMED
    code = "invalid_json"


class BookingRefused(DomainError):
    """A booking that was read but cannot be made as given; `code` names the field at fault
    (invalid_body, bad_number, unknown_case_type, window_not_offered), not_accepted if the
    intake refused it."""

    kind = Kind.INVALID
    code = "not_accepted"


class TooManyBookings(DomainError):
    """Too many bookings from one address in the last hour, or for one number today."""

    kind = Kind.TOO_MANY
    code = "too_many_bookings"
