"""Callbacks dialled when a caseworker accepts one: the agent's phone first, then the client
(or the other way round, by configuration), tracked by Twilio's status callbacks.

Accepting writes one "dial" message to the outbox in the accept's own transaction; the
outbox places the call once (after a crash mid-request it asks Twilio whether the call was
placed before it places it: a call must not ring twice). The call's TwiML dials the second
party; the outcome comes back to /twilio/dial-result (the second leg) or /twilio/dial-status
(the first leg). Every URL Twilio is given names the acceptance (`channels.ports.acceptance`):
a webhook of an earlier acceptance, late or replayed, changes nothing. A client not reached is
tried again after `retry_minutes` while the window lasts, `attempts` times in all; then the
contact is closed as not reached and the client gets an SMS. An agent who does not answer sends the
callback back to the queue without counting an attempt against the client.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Literal

import structlog
from aiohttp import web
from twilio.twiml.voice_response import VoiceResponse

from channels.phone import forms
from channels.phone.config import PhoneSetup
from channels.phone.prompts import spelled
from channels.phone.voice import say, twiml
from channels.ports import CallsPort, OutboxItem, acceptance
from routing.contact import Channel, Contact, State

log = structlog.get_logger(__name__)

DialOrder = Literal["agent_first", "client_first"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class DialRules:
    order: DialOrder
    attempts: int  # calls to the client in all
    retry_minutes: int  # between attempts
    ring_seconds: int  # how long the second party's phone rings


def dial_item(contact: Contact, agent_number: str, order: DialOrder) -> OutboxItem:
    """The outbox message that places this acceptance's call (one key per acceptance). The
    second party's number is looked up when the first answers, so no number travels in a
    URL."""
    if contact.client_address is None:
        raise ValueError("a callback needs the client's number")
    accepted = acceptance(contact)
    return OutboxItem(
        kind="dial",
        key=f"dial:{contact.reference}:{accepted}",
        payload={
            "reference": contact.reference,
            "acceptance": accepted,
            "to": agent_number if order == "agent_first" else contact.client_address,
            "order": order,
        },
    )


class Dialing:
    def __init__(
        self,
        setup: PhoneSetup,
        rules: DialRules,
        calls: CallsPort,
        *,
        caller_id: str | None,
        clock: Callable[[], datetime],
    ) -> None:
        self._setup = setup
        self._rules = rules
        self._calls = calls
        self._caller_id = caller_id
        self._clock = clock

    def add_to(self, app: web.Application) -> None:
        """The webhooks of dialled calls, on the /twilio sub-application (signed alike)."""
        app.router.add_post("/dial", self.dial)
        app.router.add_post("/dial-result", self.dial_result)
        app.router.add_post("/dial-status", self.dial_status)

    async def _current(self, request: web.Request, channel: Channel) -> Contact | None:
        """The contact this webhook is about, if it is still in that acceptance: a replayed
        or late webhook of an earlier one changes nothing."""
        contact = await self._calls.by_reference(request.query.get("ref", ""))
        if (
            contact is None
            or contact.channel is not channel
            or contact.state is not State.ACTIVE
            or acceptance(contact) != request.query.get("acceptance")
        ):
            return None
        return contact

    async def dial(self, request: web.Request) -> web.Response:
        """TwiML for the first party once it answers: who is calling, then the second."""
        contact = await self._attempt(request)
        response = VoiceResponse()
        if contact is None:
            response.hangup()
            return twiml(response)
        first_is_agent = request.query.get("order") != "client_first"
        # Said to whoever answers first: the caseworker in the contact's language, the
        # client in the one they read, if the line speaks it.
        lang = contact.language if first_is_agent else self._setup.spoken(contact)
        second = (
            contact.client_address if first_is_agent else await self._calls.agent_number(contact)
        )
        if second is None:  # the agent's phone was removed meanwhile
            await self._calls.requeue_callback(contact, why="no agent phone", not_before=None)
            response.hangup()
            return twiml(response)
        words = self._setup.prompts.text(
            lang,
            "callback.agent" if first_is_agent else "callback.client",
            reference=spelled(contact.reference),
        )
        say(response, self._setup, lang, words)
        dial = response.dial(
            caller_id=self._caller_id,
            timeout=self._rules.ring_seconds,
            action=f"/twilio/dial-result?{_query(contact)}"
            f"&order={'agent_first' if first_is_agent else 'client_first'}",
            method="POST",
        )
        dial.number(second)
        return twiml(response)

    async def dial_result(self, request: web.Request) -> web.Response:
        """The second leg ended or never answered."""
        form = await forms.DialResult.read(request)
        contact = await self._attempt(request)
        status = form.dial_call_status
        response = VoiceResponse()
        if contact is not None and form.not_answered:
            agent_first = request.query.get("order") != "client_first"
            if agent_first:  # the agent hears it; the client was not reached
                lang = contact.language
                retried = await self._not_reached(contact, status)
                say(
                    response,
                    self._setup,
                    lang,
                    self._setup.prompts.text(
                        lang, "callback.no_answer" if retried else "callback.no_answer_last"
                    ),
                )
            else:  # the client waited for an agent who did not answer
                await self._calls.requeue_callback(contact, why=f"agent {status}", not_before=None)
        response.hangup()
        return twiml(response)

    async def dial_status(self, request: web.Request) -> web.Response:
        """Status callbacks of the first leg: it may not have answered at all."""
        form = await forms.CallStatus.read(request)
        contact = await self._attempt(request)
        status = form.call_status
        if contact is not None and form.not_answered:
            if request.query.get("order") == "client_first":
                await self._not_reached(contact, status)
            else:  # the agent's phone: back to the queue, no attempt against the client
                await self._calls.requeue_callback(contact, why=f"agent {status}", not_before=None)
        return twiml(VoiceResponse())

    async def _attempt(self, request: web.Request) -> Contact | None:
        return await self._current(request, Channel.CALLBACK)

    async def _not_reached(self, contact: Contact, status: str) -> bool:
        """Try again later (True), or close the callback as not reached (False)."""
        now = self._clock()
        calendar = self._setup.calendar
        retry_at = calendar.next_open(now + timedelta(minutes=self._rules.retry_minutes))
        # The window, or at least the rest of today's opening hours: a caller who kept
        # their place in the queue was promised a call, whatever the call's own goal.
        closes_today = max(
            (end for start, end in calendar.intervals_on(now.astimezone(calendar.timezone).date())
             if start <= now < end),
            default=now,
        )  # fmt: skip
        deadline = max(contact.due_at, closes_today)
        if contact.attempts < self._rules.attempts and retry_at is not None and retry_at < deadline:
            await self._calls.requeue_callback(contact, why=f"client {status}", not_before=retry_at)
            log.info("callback.retry", reference=contact.reference, attempt=contact.attempts)
            return True
        text = self._setup.prompts.plural(
            self._setup.wording.served(*contact.reads),
            "callback.sms_not_reached",
            contact.attempts,
            reference=contact.reference,
        )
        sms = OutboxItem(
            kind="sms",
            key=f"sms:not-reached:{contact.reference}",
            payload={"to": contact.client_address, "body": text, "reference": contact.reference},
        )
        await self._calls.not_reached(contact, sms)
        log.info("callback.not_reached", reference=contact.reference, attempts=contact.attempts)
        return False


def _query(contact: Contact) -> str:
    return f"ref={contact.reference}&acceptance={acceptance(contact)}"


def call_urls(public_url: str, payload: Mapping[str, Any]) -> tuple[str, str]:
    """The TwiML URL and the status callback URL of a dial message's call."""
    base = public_url.rstrip("/")
    query = (
        f"ref={payload['reference']}&acceptance={payload['acceptance']}&order={payload['order']}"
    )
    return f"{base}/twilio/dial?{query}", f"{base}/twilio/dial-status?{query}"
