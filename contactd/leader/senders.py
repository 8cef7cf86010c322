"""The outbox's senders, one per kind of message, for the channels that are configured."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

import structlog

from channels.email.smtp import SmtpSettings
from channels.email.smtp import send as smtp_send
from channels.phone.dialing import call_urls, connect_url
from channels.phone.rest import TwilioRest
from contactd.leader.outbox import Sender
from contactd.settings import Settings

log = structlog.get_logger(__name__)


@contextlib.asynccontextmanager
async def senders(settings: Settings) -> AsyncIterator[dict[str, Sender]]:
    """The senders, open for as long as the context lasts. A kind with no sender (Twilio
    not configured) waits in the outbox until one is."""
    found: dict[str, Sender] = {}
    smtp = settings.email.smtp
    if smtp is not None:
        server = SmtpSettings(
            host=smtp.host,
            port=smtp.port,
            starttls=smtp.starttls,
            user=smtp.user,
            password=settings.smtp_password,
            timeout_seconds=settings.email.timeout_seconds,
            ca_file=smtp.ca_file,
        )

        async def send_email(payload: Mapping[str, Any], key: str) -> str:
            return await smtp_send(server, payload)

        found["email"] = send_email
    phone = settings.phone
    if not (phone.account_sid and phone.number and settings.twilio_auth_token):
        log.info("outbox.no_sms", why="phone.account_sid, phone.number or the token is not set")
        yield found
        return
    rest = TwilioRest(
        account_sid=phone.account_sid,
        auth_token=settings.twilio_auth_token,
        api_url=phone.api_url,
        timeout=phone.api_timeout_seconds,
    )
    number = phone.number

    async def sms(payload: Mapping[str, Any], key: str) -> str:
        return await rest.send_sms(
            to=payload["to"], from_=number, body=payload["body"], status_callback=None
        )

    found["sms"] = sms
    public_url = settings.public_url
    if public_url is None:
        log.info("outbox.no_dial", why="CONTACTD_PUBLIC_URL is not set: Twilio needs it to call")
    else:

        async def dial(payload: Mapping[str, Any], key: str) -> str:
            twiml_url, status_url = call_urls(public_url, payload)
            return await rest.place_call(
                to=payload["to"],
                from_=number,
                url=twiml_url,
                status_callback=status_url,
                ring_seconds=phone.ring_seconds,
            )

        async def connect(payload: Mapping[str, Any], key: str) -> str:
            return await rest.redirect_call(
                sid=payload["call_sid"], url=connect_url(public_url, payload)
            )

        found["dial"] = dial
        found["connect"] = connect
    try:
        yield found
    finally:
        await rest.close()
