"""The phone channel's routes: Twilio's webhooks under /twilio, and the public booking form's
API, over the calls service."""

from __future__ import annotations

from aiohttp import web

from channels.phone.booking import Booking
from channels.phone.dialing import Dialing
from channels.phone.voice import Voice
from contactd.clock import Clock
from contactd.metrics import Recorder
from contactd.services.calls import Calls, booking_rules, dial_rules, phone_setup
from contactd.settings import Settings


def add_to(app: web.Application, settings: Settings, *, clock: Clock, recorder: Recorder) -> Calls:
    """Adds the routes; the calls service they use is returned, to be started with the
    daemon's pool and intake."""
    setup, calls = phone_setup(settings), Calls(settings.queues, clock=clock, recorder=recorder)
    twilio = Voice(setup, calls, clock=clock).app()
    dialing = Dialing(
        setup, dial_rules(settings), calls, caller_id=settings.phone.number, clock=clock
    )
    dialing.add_to(twilio)
    app.add_subapp("/twilio", twilio)
    booking = Booking(setup, booking_rules(settings), calls, dict(settings.case_types), clock=clock)
    app.add_routes(booking.routes())
    return calls
