"""The phone channel's routes, and where the phone is put together.

The phone channel is entered from three sides, each handled in channels/phone/:
- Twilio's webhooks of an incoming call, under /twilio (voice.py, the IVR and the queue),
- Twilio's webhooks of calls the daemon placed, under /twilio too (conference.py: a waiting
  caller put through to a caseworker, consulted on and passed on; dialing.py: a callback
  dialled),
- the public booking form's API, /api/callbacks (booking.py).
All three read and change contacts through one port, the calls service
(contactd/services/calls.py), and the live calls' legs through contactd/services/call_legs.py.
The calls the daemon places start elsewhere: accepting a call or a callback
(contactd/services/desk.py) writes an outbox item (conference.py's agent_leg_item,
dialing.py's dial_item), which the leader's outbox sends to Twilio's REST API
(contactd/leader/senders.py, channels/phone/rest.py); Twilio then calls the webhooks back.
"""

from __future__ import annotations

from aiohttp import web

from channels.phone.booking import Booking, BookingRules
from channels.phone.conference import LiveCalls
from channels.phone.config import PhoneSetup
from channels.phone.dialing import Dialing, DialRules
from channels.phone.prompts import Prompts
from channels.phone.voice import Voice
from channels.public import Gate
from contactd.clock import Clock
from contactd.http.appkeys import LEGS
from contactd.metrics import Recorder
from contactd.services.call_legs import CallLegs
from contactd.services.calls import Calls
from contactd.settings import Settings


def add_to(app: web.Application, settings: Settings, *, clock: Clock, recorder: Recorder) -> Calls:
    """Adds the routes; the calls service they use is returned, to be started with the
    daemon's pool and intake (`Calls.start`) once they exist, and the live calls' legs are
    kept as app[LEGS] (`CallLegs.start`)."""
    setup, calls = phone_setup(settings), Calls(settings.queues, clock=clock, recorder=recorder)
    legs = app[LEGS] = CallLegs(clock=clock, recorder=recorder)
    twilio = Voice(setup, calls, clock=clock).app()  # its middleware checks every signature
    dialing = Dialing(
        setup, dial_rules(settings), calls, caller_id=settings.phone.number, clock=clock
    )
    dialing.add_to(twilio)
    LiveCalls(setup, calls, legs).add_to(twilio)
    # A sub-application: the daemon's error middleware answers its refusals too (aiohttp runs
    # the parent's middlewares around a sub-application's).
    app.add_subapp("/twilio", twilio)
    booking = Booking(
        setup,
        booking_rules(settings),
        calls,
        dict(settings.case_types),
        gate=public_gate(settings),
        clock=clock,
        sms_capped=recorder.booking_sms_capped,
    )
    app.add_routes(booking.routes())
    return calls


def phone_setup(settings: Settings) -> PhoneSetup:
    """What the channel is told of the configuration; the Twilio token goes only to the
    signature check (Voice)."""
    phone = settings.phone
    return PhoneSetup(
        auth_token=settings.twilio_auth_token,
        public_url=settings.public_url,
        calendar=settings.calendars[phone.calendar],
        timezone=settings.timezone,
        region=phone.region,
        countries=tuple(phone.countries),
        menu=tuple((digit, settings.case_types[code]) for digit, code in phone.menu.items()),
        queue_names={
            q.code: {"da": q.name_da, "en": q.name_en, **q.names} for q in settings.queues
        },
        language_key=phone.language_key,
        language_digits=phone.offered(settings.wording.languages),
        callback_offer_after_seconds=phone.callback_offer_after_seconds,
        voices={str(lang): voice for lang, voice in phone.voices.items()},
        prompts=Prompts(settings.wording),
        wording=settings.wording,
    )


def dial_rules(settings: Settings) -> DialRules:
    phone = settings.phone
    return DialRules(
        order=phone.dial_order,
        attempts=phone.callback_attempts,
        retry_minutes=phone.callback_retry_minutes,
        ring_seconds=phone.ring_seconds,
    )


def booking_rules(settings: Settings) -> BookingRules:
    phone = settings.phone
    return BookingRules(
        window_minutes=phone.callback_window_minutes,
        days=phone.callback_booking_days,
        lead_minutes=phone.callback_lead_minutes,
        per_number_per_day=phone.bookings_per_number_per_day,
        per_address_per_hour=phone.bookings_per_address_per_hour,
        sms_per_hour=phone.booking_sms_per_hour,
    )


def public_gate(settings: Settings) -> Gate:
    """The checks of the public endpoints (booking, surveys): our origin, our proxies."""
    return Gate(public_url=settings.public_url, trusted_proxies=settings.daemon.trusted_proxies)
