"""Mail out through a real SMTP server (aiosmtpd, in this process) that requires STARTTLS
with a certificate from a test CA (trustme) and a login: what arrives, what a wrong
password, an untrusted certificate or a missing STARTTLS do, and the outbox sending once
the server is back after being down."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import email
import email.policy
import socket
import ssl
from collections.abc import Callable, Iterator, Mapping
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from channels.email import smtp
from channels.email.smtp import SmtpSettings
from channels.ports import Failure, OutboxItem, SendError
from contactd.clock import Clock
from contactd.leader import outbox
from contactd.metrics import NOT_RECORDED
from contactd.services.intake import Intake
from contactd.settings import Settings
from contactd.store.listener import Wakeup
from routing.contact import Channel, Contact, NewContact

USER = "contactd"
PASSWORD = "smtp-secret"

PAYLOAD: dict[str, Any] = {
    "from": "kontakt@nyidanmark.example",
    "to": "anna@example.dk",
    "subject": "Vi har modtaget din henvendelse [E-1001]",
    "message_id": "<E-1001.ack@nyidanmark.example>",
    "in_reply_to": "<visa-1@example.dk>",
    "references": "<visa-0@example.dk> <visa-1@example.dk>",
    "headers": {"Auto-Submitted": "auto-replied"},
    "text": "Din reference: E-1001\nVi svarer senest 14. marts.",
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class Delivery:
    message: EmailMessage
    mail_from: str
    rcpt_tos: list[str]
    tls: bool  # the session had done STARTTLS
    login: bytes | None  # who the session logged in as


@dataclasses.dataclass(frozen=True, kw_only=True)
class Login:
    user: bytes
    tls: bool  # the credentials came over TLS


class Received:
    """An aiosmtpd handler and authenticator that keeps every message and every login
    tried, with whether the session was encrypted."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self.logins: list[Login] = []

    async def handle_DATA(self, server: object, session: Any, envelope: Any) -> str:
        self.deliveries.append(
            Delivery(
                message=email.message_from_bytes(envelope.content, policy=email.policy.default),
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                tls=session.ssl is not None,
                login=session.auth_data if session.authenticated else None,
            )
        )
        return "250 OK"

    def authenticate(
        self, server: object, session: Any, envelope: object, mechanism: str, auth_data: Any
    ) -> AuthResult:
        self.logins.append(Login(user=auth_data.login, tls=session.ssl is not None))
        ok = (auth_data.login, auth_data.password) == (USER.encode(), PASSWORD.encode())
        # handled=False: aiosmtpd itself answers a refusal (535).
        return AuthResult(success=ok, handled=False, auth_data=auth_data.login if ok else None)


def _server_tls(ca: trustme.CA) -> ssl.SSLContext:
    """The server's side of TLS: a certificate for 127.0.0.1 and localhost signed by `ca`."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


def _free_port() -> socket.socket:
    """A socket bound to a free loopback port and not listening: connections to the port
    are refused until the socket is closed and a server binds it."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    return s


@contextlib.contextmanager
def _serving(port: int, tls: ssl.SSLContext, **options: Any) -> Iterator[Received]:
    """aiosmtpd on 127.0.0.1:`port` offering STARTTLS with `tls`; by default it requires
    STARTTLS and a login (the login only over TLS)."""
    received = Received()
    options = {"require_starttls": True, "auth_required": True, **options}
    controller = Controller(
        received, hostname="127.0.0.1", port=port, tls_context=tls,
        authenticator=received.authenticate, **options,
    )  # fmt: skip
    controller.start()
    try:
        yield received
    finally:
        controller.stop()


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "smtp-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def server(ca: trustme.CA) -> Iterator[tuple[Received, int]]:
    """A server as an agency runs it: STARTTLS required, a login required."""
    with _free_port() as s:
        port = s.getsockname()[1]
    with _serving(port, _server_tls(ca)) as received:
        yield received, port


def _settings(port: int, ca_file: str | None, **changes: Any) -> SmtpSettings:
    base = SmtpSettings(
        host="127.0.0.1", port=port, starttls=True, user=USER, password=PASSWORD,
        timeout_seconds=5, ca_file=ca_file,
    )  # fmt: skip
    return dataclasses.replace(base, **changes)


async def test_a_message_arrives_over_starttls_after_login(
    server: tuple[Received, int], ca_file: str
) -> None:
    received, port = server
    assert await smtp.send(_settings(port, ca_file), PAYLOAD) == PAYLOAD["message_id"]

    [delivery] = received.deliveries
    assert delivery.tls
    assert delivery.login == USER.encode()
    assert received.logins == [Login(user=USER.encode(), tls=True)]
    assert (delivery.mail_from, delivery.rcpt_tos) == (PAYLOAD["from"], [PAYLOAD["to"]])
    mail = delivery.message
    assert mail["From"] == "kontakt@nyidanmark.example"
    assert mail["To"] == "anna@example.dk"
    assert mail["Subject"] == "Vi har modtaget din henvendelse [E-1001]"
    assert mail["Message-ID"].strip() == "<E-1001.ack@nyidanmark.example>"
    assert mail["In-Reply-To"].strip() == "<visa-1@example.dk>"
    assert mail["References"].split() == ["<visa-0@example.dk>", "<visa-1@example.dk>"]
    assert mail["Auto-Submitted"] == "auto-replied"
    assert mail.get_content().splitlines() == PAYLOAD["text"].splitlines()


async def test_a_wrong_password_is_an_auth_failure_and_nothing_is_sent(
    server: tuple[Received, int], ca_file: str
) -> None:
    received, port = server
    with pytest.raises(SendError) as refused:
        await smtp.send(_settings(port, ca_file, password="wrong"), PAYLOAD)
    assert refused.value.failure is Failure.AUTH
    assert "refused our login" in str(refused.value)
    # It did try (each mechanism the server offers), and only over TLS.
    assert set(received.logins) == {Login(user=USER.encode(), tls=True)}
    assert received.deliveries == []


async def test_a_certificate_from_another_ca_is_refused_before_the_password_goes_out(
    ca: trustme.CA, tmp_path: Path
) -> None:
    stranger = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(stranger))
    with _free_port() as s:
        port = s.getsockname()[1]
    # A server that would take a login and a message even without TLS, so that a client
    # falling back to plain text after the failed handshake would be seen here.
    plain_too = {"require_starttls": False, "auth_required": False, "auth_require_tls": False}
    with (
        _serving(port, _server_tls(ca), **plain_too) as received,
        pytest.raises(SendError) as refused,
    ):
        await smtp.send(_settings(port, str(stranger)), PAYLOAD)
    assert refused.value.failure is Failure.AUTH  # waits for an operator, uncounted
    assert "certificate is not trusted" in str(refused.value)
    assert received.logins == []  # the password never went out, in clear or otherwise
    assert received.deliveries == []


async def test_without_starttls_a_server_that_requires_it_is_a_clear_error(
    server: tuple[Received, int],
) -> None:
    received, port = server
    with pytest.raises(SendError) as refused:
        await smtp.send(_settings(port, None, starttls=False), PAYLOAD)
    # Our settings, not this message: kept until an operator fixes them.
    assert refused.value.failure is Failure.AUTH
    assert "STARTTLS is off in our settings" in str(refused.value)
    assert received.deliveries == []


async def test_a_ca_file_that_cannot_be_read_is_a_settings_error(
    server: tuple[Received, int], tmp_path: Path
) -> None:
    received, port = server
    with pytest.raises(SendError) as refused:
        await smtp.send(_settings(port, str(tmp_path / "missing.pem")), PAYLOAD)
    # Kept until an operator fixes it, rather than sent without the CA.
    assert refused.value.failure is Failure.AUTH
    assert "CA file cannot be used" in str(refused.value)
    assert received.logins == []
    assert received.deliveries == []


# Short backoff, and enough attempts that the message is not given up while SMTP is down.
OUTBOX: dict[str, Any] = {
    "batch": 10, "lease_seconds": 30, "max_attempts": 1000, "backoff_seconds": 0.02,
    "max_backoff_seconds": 0.1, "concurrency": 1,
}  # fmt: skip


async def _outbox_row_when(
    pool: asyncpg.Pool, done: Callable[[asyncpg.Record], bool]
) -> asyncpg.Record:
    """The outbox's one row once `done(row)`; polled, and given up after 20 s or as soon as
    the outbox gives the message up."""
    deadline = asyncio.get_running_loop().time() + 20
    while True:
        row = await pool.fetchrow("SELECT * FROM outbox")
        if row is not None and done(row):
            return row
        if row is not None and row["failed_at"] is not None:
            raise AssertionError(f"the outbox gave the message up: {row['last_error']}")
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"the outbox never got there: {row and dict(row)}")
        await asyncio.sleep(0.05)


async def test_the_outbox_retries_while_smtp_is_down_and_sends_once_it_is_back(
    pool: asyncpg.Pool, config: Settings, ca: trustme.CA, ca_file: str, clock: Clock
) -> None:
    def ack(contact: Contact) -> list[OutboxItem]:
        return [OutboxItem(kind="email", key=f"email:ack:{contact.reference}", payload=PAYLOAD)]

    await Intake(pool, config, clock=clock, recorder=NOT_RECORDED).submit(
        NewContact(
            channel=Channel.EMAIL, case_type="visa", external_id="<visa-1@example.dk>",
            client_address="anna@example.dk", subject="Visum", text="Jeg søger visum.",
        ),
        actor="test",
        outbox=ack,
    )  # fmt: skip
    reserved = _free_port()  # bound, not listening: the SMTP server is down
    port = reserved.getsockname()[1]
    settings = _settings(port, ca_file)

    async def send_email(payload: Mapping[str, Any], key: str) -> str:
        return await smtp.send(settings, payload)

    senders = {"email": send_email}
    sending = asyncio.create_task(
        outbox.run(
            pool, senders, Wakeup(), clock=clock, recorder=NOT_RECORDED, poll_seconds=0.05, **OUTBOX
        ),
        name="test-outbox",
    )
    try:
        down = await _outbox_row_when(pool, lambda r: r["attempts"] >= 2)
        assert down["last_error"].startswith("SMTP not reached")
        assert (down["sent_at"], down["failed_at"]) == (None, None)

        reserved.close()
        with _serving(port, _server_tls(ca)) as received:
            sent = await _outbox_row_when(pool, lambda r: r["sent_at"] is not None)
            sending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sending
            # Sent is sent: another round of the outbox sends nothing again.
            assert (
                await outbox.send_due(pool, senders, clock=clock, recorder=NOT_RECORDED, **OUTBOX)
                == 0
            )
    finally:
        reserved.close()
        sending.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sending

    [delivery] = received.deliveries
    assert delivery.tls
    assert delivery.login == USER.encode()
    assert delivery.message["Message-ID"].strip() == PAYLOAD["message_id"]
    assert (sent["failed_at"], sent["last_error"]) == (None, None)
