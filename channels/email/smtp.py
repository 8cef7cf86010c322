"""Mail out through SMTP (aiosmtplib), one message per outbox entry.

The Message-ID is ours, set when the message is written to the outbox, so a message sent
again after a crash carries the same id and the client's mail program shows it once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

import aiosmtplib

from channels.ports import Failure, SendError


@dataclasses.dataclass(frozen=True, kw_only=True)
class SmtpSettings:
    host: str
    port: int
    starttls: bool
    user: str | None
    password: str | None
    timeout_seconds: float = 30


def message_of(payload: Mapping[str, Any]) -> EmailMessage:
    """The e-mail an outbox payload describes (from, to, subject, text, threading headers)."""
    message = EmailMessage()
    message["From"] = payload["from"]
    message["To"] = payload["to"]
    message["Subject"] = payload["subject"]
    message["Message-ID"] = payload["message_id"]
    for name, key in (("In-Reply-To", "in_reply_to"), ("References", "references")):
        if payload.get(key):
            message[name] = payload[key]
    for name, value in payload.get("headers", {}).items():
        message[name] = value
    message.set_content(payload["text"])
    return message


async def send(settings: SmtpSettings, payload: Mapping[str, Any]) -> str:
    """Send one message; its Message-ID. Raises SendError."""
    message = message_of(payload)
    try:
        await aiosmtplib.send(
            message,
            hostname=settings.host,
            port=settings.port,
            start_tls=settings.starttls,
            username=settings.user,
            password=settings.password,
            timeout=settings.timeout_seconds,
        )
    except aiosmtplib.SMTPAuthenticationError as exc:
        raise SendError(Failure.AUTH, f"the SMTP server refused our login ({exc.code})") from exc
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = {r.code for r in exc.recipients}
        failure = Failure.PERMANENT if all(c >= 500 for c in codes) else Failure.TRANSIENT
        raise SendError(
            failure, f"the SMTP server refused the recipient ({sorted(codes)})"
        ) from exc
    except aiosmtplib.SMTPResponseException as exc:
        failure = Failure.PERMANENT if exc.code >= 500 else Failure.TRANSIENT
        raise SendError(failure, f"the SMTP server answered {exc.code}") from exc
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        raise SendError(Failure.TRANSIENT, f"SMTP not reached: {type(exc).__name__}") from exc
    return str(payload["message_id"])
