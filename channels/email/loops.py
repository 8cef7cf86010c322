"""Which incoming mails get an acknowledgement: never an automatic one, a bounce, a list, or
our own (RFC 3834 and the headers mail systems use), so that no mail loop can start."""

from __future__ import annotations

from collections.abc import Collection

from channels.email.message import ParsedMail

_BULK_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
# Addresses of systems, not people: nobody reads what is sent to them.
_SYSTEM_LOCAL_PARTS = {"mailer-daemon", "postmaster", "noreply", "no-reply", "donotreply",
                       "do-not-reply", "bounce", "bounces"}  # fmt: skip


def no_acknowledgement(mail: ParsedMail, own_addresses: Collection[str]) -> str | None:
    """Why this mail must get no acknowledgement, or None when it may get one."""
    headers = mail.headers
    auto = headers.get("auto-submitted", "").lower()
    if auto and auto != "no":
        return "auto-submitted"
    if headers.get("precedence", "").lower() in _BULK_PRECEDENCE:
        return "precedence"
    if headers.get("x-auto-response-suppress"):
        return "x-auto-response-suppress"
    if "list-id" in headers or "list-unsubscribe" in headers:
        return "mailing list"
    if "x-autoreply" in headers or "x-autorespond" in headers:
        return "auto reply"
    if mail.return_path == "":
        return "bounce (empty return path)"
    if mail.sender is None:
        return "no sender address"
    local = mail.sender.split("@", 1)[0]
    if local in _SYSTEM_LOCAL_PARTS or local.startswith("mailer-daemon"):
        return "system address"
    if mail.sender in {a.lower() for a in own_addresses}:
        return "own address"
    return None
