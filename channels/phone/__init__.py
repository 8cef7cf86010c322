"""The phone channel: Twilio voice webhooks, IVR, live queue and callbacks.

Which module handles what, and where a call goes next:

    a call comes in (voice.py)
      /twilio/voice           the menu; the line closed: its offer, answered at /closed
      /twilio/closed          1: the menu, for a callback when the line opens
      /twilio/menu            the case type: into the queue (<Enqueue>), or the callback
      /twilio/wait            the place and the wait, played in a loop; may offer a callback
      /twilio/keep-place      the offer taken: a callback keeps the place, the caller leaves
      /twilio/left            the queue left: put through, left, hung up, or Twilio failed
      /twilio/status          a call that ends while waiting is abandoned
    a caseworker accepts a waiting call (conference.py; the outbox's "connect" item)
      /twilio/leg             a phone dialled into the call's conference answered or ended
      /twilio/connect         the caller joins the conference (or waits where the call is)
      /twilio/connect-result  the conference is over: done, or where the call is now
    a caseworker accepts a callback (dialing.py; the outbox's "dial" item)
      /twilio/dial            the first party answered: the second is dialled
      /twilio/dial-result     the second leg: done, tried again later, or not reached
      /twilio/dial-status     the first leg did not answer: the same
    a callback is booked on the web (booking.py)
      /api/callbacks          the windows on offer (GET), a booking (POST)

voice.py checks Twilio's signature on every /twilio request. forms.py reads each webhook's
form into a typed value; errors.py holds the channel's refusals; prompts.py what the IVR
says; numbers.py reads phone numbers; rest.py is Twilio's REST API, used by the daemon's
outbox to place the calls dialing.py and conference.py then answer. Every handler reaches the
daemon only through channels/ports.py's CallsPort (contactd/services/calls.py) and LegsPort
(contactd/services/call_legs.py); contactd/http/phone.py puts the channel together.
"""
