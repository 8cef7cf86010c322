"""The outbox's senders, one per kind of message, for the channels that are configured."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

import structlog

from channels.email.forms import Forms
from channels.email.smtp import SmtpSettings
from channels.email.smtp import send as smtp_send
from channels.phone.dialing import call_urls
from channels.phone.rest import TwilioRest
from contactd.leader.call_senders import EndConsult, PlaceLeg, Redirect
from contactd.leader.outbox import Sender
from contactd.settings import EmailConfig, PhoneConfig

log = structlog.get_logger(__name__)


@contextlib.asynccontextmanager
async def senders(
    phone: PhoneConfig,
    email: EmailConfig,
    *,
    twilio_auth_token: str | None,
    smtp_password: str | None,
    public_url: str | None,
    forms: Forms | None = None,
) -> AsyncIterator[dict[str, Sender]]:
    """The senders, open for as long as the context lasts. A kind with no sender (Twilio
    not configured) waits in the outbox until one is. The secrets go no further than the
    clients made here."""
    found: dict[str, Sender] = _email_sender(email, smtp_password, forms)
    if not (phone.account_sid and phone.number and twilio_auth_token):
        log.info("outbox.no_sms", why="phone.account_sid, phone.number or the token is not set")
        yield found
        return
    rest = TwilioRest(
        account_sid=phone.account_sid,
        auth_token=twilio_auth_token,
        api_url=phone.api_url,
        timeout=phone.api_timeout_seconds,
    )
    number = phone.number

    async def sms(payload: Mapping[str, Any], key: str) -> str:
        return await rest.send_sms(
            to=payload["to"], from_=number, body=payload["body"], status_callback=None
        )

    found["sms"] = sms
    if public_url is None:
        log.info("outbox.no_dial", why="CONTACTD_PUBLIC_URL is not set: Twilio needs it to call")
    else:
        found |= _call_senders(rest, public_url, number, phone.ring_seconds)
    try:
        yield found
    finally:
        await rest.close()


def _email_sender(
    email: EmailConfig, password: str | None, forms: Forms | None = None
) -> dict[str, Sender]:
    """The SMTP sender, if a server is set; its password stays with it."""
    smtp = email.smtp
    if smtp is None:
        return {}
    server = SmtpSettings(
        host=smtp.host,
        port=smtp.port,
        starttls=smtp.starttls,
        user=smtp.user,
        password=password,
        timeout_seconds=email.timeout_seconds,
        ca_file=smtp.ca_file,
        forms=forms,
    )

    async def send_email(payload: Mapping[str, Any], key: str) -> str:
        return await smtp_send(server, payload)

    return {"email": send_email}


def _call_senders(
    rest: TwilioRest, public_url: str, number: str, ring_seconds: int
) -> dict[str, Sender]:
    """Placing a callback's call, and the steps of a live call's conference (Twilio needs
    our public URL to fetch the calls' instructions from)."""
    leg = PlaceLeg(rest, public_url, number, ring_seconds)
    return {
        "dial": _Dial(rest, public_url, number, ring_seconds),
        "connect": leg,
        "redirect": Redirect(rest, public_url),
        "consult": leg,
        "consult_end": EndConsult(rest),
    }


class _Dial:
    """Places a callback's call."""

    def __init__(self, rest: TwilioRest, public_url: str, number: str, ring_seconds: int) -> None:
        self._rest = rest
        self._public_url = public_url
        self._number = number
        self._ring_seconds = ring_seconds

    async def __call__(self, payload: Mapping[str, Any], key: str) -> str:
        twiml_url, status_url = call_urls(self._public_url, payload)
        return await self._rest.place_call(
            to=payload["to"],
            from_=self._number,
            url=twiml_url,
            status_callback=status_url,
            ring_seconds=self._ring_seconds,
        )

    async def traces(self, payload: Mapping[str, Any]) -> list[str]:
        """Our latest calls placed through the API (not the legs our TwiML dialled) to the
        number the message calls, whatever came of them: one that no sent message accounts
        for is the interrupted try's."""
        calls = await self._rest.calls(to=payload["to"], from_=self._number)
        return [c.sid for c in calls if c.parent is None]
