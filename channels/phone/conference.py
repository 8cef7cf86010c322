"""A waiting caller put through to a caseworker in a Twilio conference, so that the call can
be held, handed to a colleague after a word with them (a consult transfer) or sent back to a
queue, without the caller being dropped. This is the topology Twilio recommends for a contact
centre (its TaskRouter "call control concepts"): the caseworker's phone is dialled into a
conference named for the acceptance first, and the caller is moved in only once they answer,
so a caseworker who does not answer costs the caller nothing: they never left the queue.

The steps, each an outbox message written in the transaction of the change it follows
(contactd/leader/senders.py sends them through Twilio's REST API, channels/phone/rest.py):
- accept: "connect" places the caseworker's leg as a conference participant (/twilio/leg
  reports it); when it is answered, "redirect" moves the caller in (/twilio/connect);
- consult: "consult" holds the caller and dials the colleague into the same conference; the
  caseworker's leaving no longer ends it;
- complete or cancel: "consult_end" takes the hold off and removes the caseworker (complete)
  or the colleague (cancel);
- a transfer back to a queue: "redirect" moves the caller out, which ends the conference.
Every URL Twilio is given names the leg (or the transfer), so a late or replayed webhook of
an earlier one changes nothing. Participants are named by labels ("caller", "leg-<id>"),
which Twilio accepts in place of their call sids.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web
from twilio.twiml.voice_response import VoiceResponse

from channels.phone import forms
from channels.phone.config import PhoneSetup
from channels.phone.voice import ENDED, enqueue, say, twiml
from channels.ports import CallsPort, Leg, LegsPort, OutboxItem, acceptance
from routing.contact import Channel, Contact, State

CALLER = "caller"  # the caller's participant label in every conference


def room(contact: Contact) -> str:
    """The conference of an acceptance: a new one each time the call is put through."""
    return f"contactd-{contact.reference}-{acceptance(contact)}"


def label(leg: Leg) -> str:
    return f"leg-{leg.id}"


def agent_leg_item(contact: Contact, leg: Leg, agent_number: str) -> OutboxItem:
    """Dial the caseworker who accepted the call into the acceptance's conference."""
    return OutboxItem(
        kind="connect",
        key=f"leg:{contact.reference}:{leg.id}",
        payload={
            "reference": contact.reference,
            "acceptance": leg.acceptance,
            "leg": leg.id,
            "room": leg.room,
            "label": label(leg),
            "to": agent_number,
        },
    )


def join_item(contact: Contact, leg: Leg) -> OutboxItem:
    """Move the caller out of the queue into the conference whose caseworker answered."""
    return OutboxItem(
        kind="redirect",
        key=f"join:{contact.reference}:{leg.id}",
        payload={
            "reference": contact.reference,
            "acceptance": leg.acceptance,
            "call_sid": contact.external_id,
            "query": f"ref={contact.reference}&leg={leg.id}",
            "room": leg.room,
        },
    )


def transfer_item(contact: Contact) -> OutboxItem:
    """Move a live caller, whose caseworker passed the call on, out of the conference (which
    ends it, and the caseworker's leg) to wherever the call is then: back in the wait of a
    queue, told of the transfer, or waiting for the colleague named. It names the transfer,
    not an acceptance, so it is sent whatever happens to the contact meanwhile."""
    moved = acceptance(contact)
    return OutboxItem(
        kind="redirect",
        key=f"transfer:{contact.reference}:{moved}",
        payload={
            "reference": contact.reference,
            "transfer": moved,
            "call_sid": contact.external_id,
            "query": f"ref={contact.reference}&transfer={moved}&to=queue",
        },
    )


def consult_item(contact: Contact, agent: Leg, consult: Leg, number: str) -> OutboxItem:
    """Hold the caller and dial the colleague into the caseworker's conference."""
    return OutboxItem(
        kind="consult",
        key=f"consult:{contact.reference}:{consult.id}",
        payload={
            "reference": contact.reference,
            "acceptance": consult.acceptance,
            "leg": consult.id,
            "room": consult.room,
            "agent": label(agent),
            "label": label(consult),
            "to": number,
        },
    )


def consult_end_item(contact: Contact, agent: Leg, consult: Leg, *, completed: bool) -> OutboxItem:
    """Take the hold off the caller, and remove the caseworker (the colleague goes on with
    the caller) or the colleague (the caseworker is back with the caller)."""
    return OutboxItem(
        kind="consult_end",
        key=f"consult-end:{contact.reference}:{consult.id}",
        payload={
            "reference": contact.reference,
            "room": consult.room,
            "agent": label(agent),
            "consulted": label(consult),
            "outcome": "completed" if completed else "cancelled",
        },
    )


def redirect_url(public_url: str, payload: Mapping[str, Any]) -> str:
    return f"{public_url.rstrip('/')}/twilio/connect?{payload['query']}"


def leg_callback(public_url: str, payload: Mapping[str, Any]) -> str:
    """Where Twilio reports a placed leg's progress (answered, ended)."""
    base = public_url.rstrip("/")
    return f"{base}/twilio/leg?ref={payload['reference']}&leg={payload['leg']}"


class LiveCalls:
    """The webhooks of live calls put through in a conference, on the /twilio sub-app."""

    def __init__(self, setup: PhoneSetup, calls: CallsPort, legs: LegsPort) -> None:
        self._setup = setup
        self._calls = calls
        self._legs = legs

    def add_to(self, app: web.Application) -> None:
        app.router.add_post("/connect", self.connect)
        app.router.add_post("/connect-result", self.connect_result)
        app.router.add_post("/leg", self.leg)

    async def connect(self, request: web.Request) -> web.Response:
        """TwiML for the caller moved by the outbox: into the conference of the caseworker
        who answered; or, for a transfer (`to=queue`) or a leg that is over, where the call
        is now."""
        contact, leg = await self._talking(request)
        if contact is None or leg is None:
            transferred = request.query.get("to") == "queue"
            return await self._where_the_call_is(request, say_transferred=transferred)
        response = VoiceResponse()
        lang = self._setup.spoken(contact)  # the caller hears it
        say(response, self._setup, lang, self._setup.prompts.say(lang, "connecting"))
        dial = response.dial(
            action=f"/twilio/connect-result?ref={contact.reference}&leg={leg.id}", method="POST"
        )
        dial.conference(
            leg.room,
            start_conference_on_enter=True,
            end_conference_on_exit=True,  # the caller gone, the caseworker's leg ends too
            beep=False,
            participant_label=CALLER,
        )
        return twiml(response)

    async def connect_result(self, request: web.Request) -> web.Response:
        """The caller's conference is over. If the call is still talked in that conference
        (its caseworker, or the colleague it was handed to, hung up), the talk is over;
        else the caller goes where the call is now."""
        await forms.DialResult.read(request)
        contact = await self._calls.by_reference(request.query.get("ref", ""))
        left = await self._legs.leg(_int(request.query.get("leg")))
        if contact is not None and left is not None and contact.state is State.ACTIVE:
            current = await self._legs.current(contact)
            if current is not None and current.room == left.room:
                await self._calls.merge_callbacks(contact)  # they talked: one is enough
                response = VoiceResponse()
                response.hangup()
                return twiml(response)
        return await self._where_the_call_is(request)

    async def leg(self, request: web.Request) -> web.Response:
        """A placed leg's progress: answered, or ended (answered before or not)."""
        form = await forms.CallStatus.read(request)
        leg = await self._legs.leg(_int(request.query.get("leg")))
        if leg is not None:
            if form.ended:
                await self._legs.ended(leg.id, form.call_sid)
            elif form.call_status == "in-progress":
                await self._legs.answered(leg.id, form.call_sid)
        return twiml(VoiceResponse())

    async def _talking(self, request: web.Request) -> tuple[Contact | None, Leg | None]:
        """The contact and the caseworker's leg the URL names, if the caller may join it:
        the contact still in that leg's acceptance and the leg answered and not over."""
        contact = await self._calls.by_reference(request.query.get("ref", ""))
        leg = await self._legs.leg(_int(request.query.get("leg")))
        if (
            contact is None
            or leg is None
            or leg.contact_id != contact.id
            or leg.role != "agent"
            or not leg.live
            or contact.state is not State.ACTIVE
            or acceptance(contact) != leg.acceptance
        ):
            return None, None
        return contact, leg

    async def _where_the_call_is(
        self, request: web.Request, *, say_transferred: bool = False
    ) -> web.Response:
        """The caller's leg, put where their call's contact is now, read fresh: waiting (in
        its queue), with a caseworker whose phone rings (waiting too: the answer moves the
        caller in), with one who answered (into their conference), or over (hung up). It
        changes nothing, so a late or replayed webhook can do no harm."""
        known = await self._calls.by_reference(request.query.get("ref", ""))
        response = VoiceResponse()
        if known is None or known.channel is not Channel.CALL or known.state in ENDED:
            response.hangup()
            return twiml(response)
        current = await self._legs.current(known) if known.state is State.ACTIVE else None
        if current is not None and current.live:
            query = f"ref={known.reference}&leg={current.id}"
            response.redirect(f"/twilio/connect?{query}", method="POST")
        elif current is not None and current.ended:
            response.hangup()  # the talk is over
        else:
            lang = self._setup.spoken(known)  # the caller waits again, in their language
            if say_transferred:
                name = self._setup.queue_names.get(known.queue, {}).get(lang)
                text = self._setup.prompts.say(lang, "transferred", queue=name or known.queue)
                say(response, self._setup, lang, text)
            enqueue(response, known.queue, lang)
        return twiml(response)


def _int(value: str | None) -> int:
    try:
        return int(value or "0")
    except ValueError:
        return 0
