"""A real Dovecot IMAP server for tests (Debian's dovecot-imapd), on a free loopback port,
with a configuration and a passwd file written here. scripts/bootstrap --dev installs it."""

from __future__ import annotations

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
from pathlib import Path

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USER, PASSWORD = "kontakt", "test-password"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def dovecot() -> Iterator[int]:
    """Dovecot serving one mailbox (USER/PASSWORD) over plain IMAP; yields its port. Its
    files live in a folder of their own that Dovecot's unprivileged processes can reach
    (pytest's temporary folders are private to the user running the tests)."""
    folder = Path(tempfile.mkdtemp(prefix="contactd-dovecot-"))
    folder.chmod(0o755)
    try:
        with _serve(folder) as port:
            yield port
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def _serve(folder: Path) -> Iterator[int]:
    port = _free_port()
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
    process = subprocess.Popen(
        [DOVECOT, "-F", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log = folder / "dovecot.log"
                    raise RuntimeError(
                        "Dovecot did not start: "
                        + (log.read_text()[-2000:] if log.exists() else "no log")
                    ) from None
                time.sleep(0.05)
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
