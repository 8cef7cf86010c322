"""Mail out through SMTP (aiosmtplib), one message per outbox entry.

The Message-ID is ours, set when the message is written to the outbox, so a message sent
again after a crash carries the same id and the client's mail program shows it once.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

import aiosmtplib

from channels.email.forms import Forms
from channels.ports import Failure, SendError


@dataclasses.dataclass(frozen=True, kw_only=True)
class SmtpSettings:
    host: str
    port: int
    starttls: bool
    user: str | None
    password: str | None
    timeout_seconds: float = 30
    # The CA that signed the server's certificate (a PEM file), for a server whose
    # certificate comes from an internal CA: then only this CA is trusted. None: the
    # system's trust store. Either way the certificate and the host name are checked.
    ca_file: str | None = None
    # The agency's forms (channels/email/forms.py), read when an answer attaches one.
    forms: Forms | None = None


def message_of(payload: Mapping[str, Any], forms: Forms | None = None) -> EmailMessage:
    """The e-mail an outbox payload describes (from, to, subject, text, threading headers,
    files carried in the payload as base64, and the agency's forms attached by name, read
    from `forms` now)."""
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
    for file in payload.get("files", ()):  # made with the message (a report's chart): inline
        maintype, _, subtype = file["content_type"].partition("/")
        message.add_attachment(
            base64.b64decode(file["base64"]), maintype=maintype, subtype=subtype,
            filename=file["name"],
        )  # fmt: skip
    if payload.get("attachments"):
        if forms is None:
            raise SendError(Failure.PERMANENT, "attachments need email.forms_dir")
        forms.attach(message, payload["attachments"])
    return message


async def send(settings: SmtpSettings, payload: Mapping[str, Any]) -> str:
    """Send one message; its Message-ID. Raises SendError."""
    message = message_of(payload, settings.forms)
    tls_context: ssl.SSLContext | None = None
    if settings.starttls and settings.ca_file is not None:
        try:
            tls_context = await asyncio.to_thread(_trusting, settings.ca_file)
        except (OSError, ValueError) as exc:  # missing, unreadable, or not a PEM certificate
            # Nothing is sent until the configuration is fixed, and nothing is lost meanwhile.
            raise SendError(
                Failure.AUTH, f"the SMTP CA file cannot be used ({type(exc).__name__})"
            ) from exc
    try:
        await aiosmtplib.send(
            message,
            hostname=settings.host,
            port=settings.port,
            start_tls=settings.starttls,
            validate_certs=True,
            tls_context=tls_context,  # None: the system's trust store
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
        if exc.code == 530:  # our settings, not this message: no STARTTLS or no login
            raise SendError(
                Failure.AUTH, "the SMTP server requires STARTTLS or a login first (530)"
            ) from exc
        failure = Failure.PERMANENT if exc.code >= 500 else Failure.TRANSIENT
        raise SendError(failure, f"the SMTP server answered {exc.code}") from exc
    except ssl.SSLCertVerificationError as exc:
        # Before any login or message: the password and the mail never went out.
        # A settings matter (the CA, or the server's certificate): wait for an operator.
        raise SendError(
            Failure.AUTH,
            f"the SMTP server's certificate is not trusted ({exc.verify_message})",
        ) from exc
    except (OSError, TimeoutError) as exc:  # aiosmtplib's connection errors are among these
        raise SendError(Failure.TRANSIENT, f"SMTP not reached: {type(exc).__name__}") from exc
    except aiosmtplib.SMTPNotSupported as exc:  # SMTPUTF8 for a non-ASCII address
        raise SendError(Failure.PERMANENT, f"the SMTP server cannot take it: {exc}") from exc
    except aiosmtplib.SMTPException as exc:
        # Reached, but it will not do what our settings ask (a login without TLS, STARTTLS
        # where it offers none): nothing is sent until the configuration is fixed.
        hint = "" if settings.starttls else "; STARTTLS is off in our settings"
        raise SendError(
            Failure.AUTH, f"the SMTP server does not accept our settings ({exc}){hint}"
        ) from exc
    return str(payload["message_id"])


def _trusting(ca_file: str) -> ssl.SSLContext:
    """A client TLS context that trusts only the CA in `ca_file`, checking certificates and
    host names. Reads the file: call it off the event loop."""
    return ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_file)
