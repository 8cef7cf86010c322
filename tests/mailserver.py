"""A real Dovecot IMAP server for tests (Debian's dovecot-imapd), on a free loopback port,
with a configuration and a passwd file written here. scripts/bootstrap --dev installs it."""

from __future__ import annotations

import email
import email.policy
import imaplib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from channels.email.imap import MailboxSettings
from contactd import settings
from contactd.settings import Settings

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USER, PASSWORD = "kontakt", "test-password"
ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Dovecot:
    """A running Dovecot; `stopped()` takes it down for a while (a server restart)."""

    def __init__(self, folder: Path, capability: str | None = None) -> None:
        self.folder = folder
        self.port = _free_port()
        self.config = _configure(folder, self.port, capability)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log = self.folder / "dovecot.log"
                    raise RuntimeError(
                        "Dovecot did not start: "
                        + (log.read_text()[-2000:] if log.exists() else "no log")
                    ) from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    @contextmanager
    def stopped(self) -> Iterator[None]:
        self.stop()
        try:
            yield
        finally:
            self.start()


@contextmanager
def dovecot(capability: str | None = None) -> Iterator[Dovecot]:
    """Dovecot serving one mailbox (USER/PASSWORD) over plain IMAP on a free port. Its
    files live in a folder of their own that Dovecot's unprivileged processes can reach
    (pytest's temporary folders are private to the user running the tests). `capability`
    replaces the capabilities Dovecot announces (to play a server without IDLE)."""
    if not os.path.exists(DOVECOT):
        if os.environ.get("CI") == "true":
            pytest.fail("Dovecot is missing; scripts/bootstrap --dev installs it")
        pytest.skip("Dovecot is not installed (apt-get install dovecot-imapd)")
    folder = Path(tempfile.mkdtemp(prefix="contactd-dovecot-"))
    folder.chmod(0o755)
    server = Dovecot(folder, capability)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _configure(folder: Path, port: int, capability: str | None) -> Path:
    mail = folder / "mail"
    mail.mkdir(parents=True)
    if os.geteuid() == 0:  # Dovecot will not keep mail as root: the dovecot user owns it
        owner = pwd.getpwnam("dovecot")
        os.chown(mail, owner.pw_uid, owner.pw_gid)
        uid, gid, users = owner.pw_uid, owner.pw_gid, "default_login_user = dovenull\n"
    else:  # as an ordinary user, every Dovecot process is that user
        me = pwd.getpwuid(os.getuid()).pw_name
        uid, gid = os.getuid(), os.getgid()
        users = f"default_login_user = {me}\ndefault_internal_user = {me}\n"
    (folder / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    config = folder / "dovecot.conf"
    config.write_text(
        f"""protocols = imap
listen = 127.0.0.1
base_dir = {folder}/run
state_dir = {folder}/state
log_path = {folder}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{mail}/%u
first_valid_uid = 0
{f"imap_capability = {capability}" if capability else ""}
{users}service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {folder}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={mail}/%u
}}
"""
    )
    return config


def append(port: int, raw: bytes, folder: str = "INBOX") -> None:
    client = imaplib.IMAP4("127.0.0.1", port)
    try:
        client.login(USER, PASSWORD)
        client.append(folder, "", None, raw)
    finally:
        client.logout()


def count(port: int, which: str = "UNSEEN", folder: str = "INBOX") -> int:
    """How many messages of the folder match an IMAP search (UNSEEN, ALL, ...)."""
    client = imaplib.IMAP4("127.0.0.1", port)
    try:
        client.login(USER, PASSWORD)
        client.select(folder)
        _, data = client.uid("search", which)
        return len(data[0].split())
    finally:
        client.logout()


def mailbox(port: int, **changes: Any) -> MailboxSettings:
    return MailboxSettings(
        name="kontakt", host="127.0.0.1", port=port, user=USER,
        password=PASSWORD, ssl=False, timeout_seconds=5, **changes,
    )  # fmt: skip


def daemon_config(db_url: str, imap_port: int, **env: str) -> Settings:
    """The shipped configuration with the test's Dovecot mailbox, read every 0.1 s."""
    return settings.load(
        ROOT / "config" / "contactd.toml",
        environ={
            "CONTACTD_DATABASE_URL": db_url,
            "CONTACTD_CLASSIFIER__ENABLED": "false",
            "CONTACTD_EMAIL__POLL_SECONDS": "0.1",
            "CONTACTD_EMAIL__MAILBOXES": (
                f'{{ kontakt = {{ host = "127.0.0.1", port = {imap_port}, '
                f'user = "{USER}", ssl = false }} }}'
            ),
            "CONTACTD_MAILBOX_KONTAKT_PASSWORD": PASSWORD,
            **env,
        },
    )


def answering_config(db_url: str, imap_port: int, smtp_port: int, **env: str) -> Settings:
    """`daemon_config` that also acknowledges and answers, through the test's SMTP server
    (plain, with the login the `smtp` fixture accepts); the outbox polls every 0.1 s."""
    return daemon_config(
        db_url,
        imap_port,
        CONTACTD_EMAIL__ADDRESS="kontakt@nyidanmark.example",
        CONTACTD_EMAIL__SMTP=(
            f'{{ host = "127.0.0.1", port = {smtp_port}, starttls = false, user = "contactd" }}'
        ),
        CONTACTD_SMTP_PASSWORD="smtp-secret",
        CONTACTD_OUTBOX__POLL_SECONDS="0.1",
        **env,
    )


class Smtp:
    """An aiosmtpd handler that keeps what it is sent (a real SMTP server, in this process)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 OK"


def big_message(attachment_bytes: int) -> bytes:
    """A client's mail with a scanned passport of about `attachment_bytes` (base64 on the
    wire, so the message is a third bigger)."""
    message = EmailMessage()
    message["From"] = "anna@example.dk"
    message["To"] = "kontakt@nyidanmark.example"
    message["Subject"] = "Pas og papirer"
    message["Message-ID"] = f"<big-{attachment_bytes}@example.dk>"
    message.set_content("Her er mine papirer.")
    scan = b"%PDF-1.4\n" + os.urandom(1024) * (attachment_bytes // 1024 + 1)
    message.add_attachment(scan, maintype="application", subtype="pdf", filename="pas.pdf")
    return message.as_bytes()
