"""Reading a mailbox over IMAP (aioimaplib): every unseen message becomes one contact.

A message is flagged \\Seen on the server only after its contact is committed, so a crash
in between reads it again, and its Message-ID (the contact's external id) makes that second
read find the same contact instead of making another. A message without a Message-ID is
known by the mailbox, its UIDVALIDITY and UID.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
from collections.abc import Callable, Sequence

import aioimaplib
import structlog

from channels.email.loops import no_acknowledgement
from channels.email.message import ParsedMail, parse
from channels.ports import IntakePort, OutboxItem
from routing.contact import Channel, Contact, NewContact

log = structlog.get_logger(__name__)

_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")
# The acknowledgement of a new contact from its mail (written with the contact).
Acknowledge = Callable[[Contact, ParsedMail], Sequence[OutboxItem]]


@dataclasses.dataclass(frozen=True, kw_only=True)
class MailboxSettings:
    name: str  # for logs and the channel's status, never an address
    host: str
    port: int
    user: str
    password: str
    folder: str = "INBOX"
    ssl: bool = True
    timeout_seconds: float = 30
    own_addresses: frozenset[str] = frozenset()  # never acknowledged: no loop with ourselves


class MailboxError(Exception):
    """The mailbox cannot be read: the message says which step failed (login, folder, ...)."""


async def read_new(
    settings: MailboxSettings, intake: IntakePort, acknowledge: Acknowledge | None = None
) -> int:
    """One pass over the mailbox: each unseen message to a contact, then flagged \\Seen.
    Returns how many messages were read (a message that could not be fetched is not counted,
    so a failing message does not keep the reader busy)."""
    cls = aioimaplib.IMAP4_SSL if settings.ssl else aioimaplib.IMAP4
    imap = cls(host=settings.host, port=settings.port, timeout=settings.timeout_seconds)
    await imap.wait_hello_from_server()
    try:
        if (await imap.login(settings.user, settings.password)).result != "OK":
            raise MailboxError(f"mailbox {settings.name}: login refused")
        selected = await imap.select(settings.folder)
        if selected.result != "OK":
            raise MailboxError(f"mailbox {settings.name}: no folder {settings.folder!r}")
        validity = next(
            (m.group(1).decode() for line in selected.lines if (m := _UIDVALIDITY.search(line))),
            "0",
        )
        found = await imap.uid_search("UNSEEN")
        uids = found.lines[0].split() if found.result == "OK" and found.lines else []
        read = 0
        for uid in uids:
            read += await _read_one(imap, settings, intake, acknowledge, uid.decode(), validity)
        return read
    finally:
        # The server may have gone away: then there is nothing to log out of.
        with contextlib.suppress(aioimaplib.Abort, OSError, TimeoutError):
            await imap.logout()


async def _read_one(
    imap: aioimaplib.IMAP4,
    settings: MailboxSettings,
    intake: IntakePort,
    acknowledge: Acknowledge | None,
    uid: str,
    validity: str,
) -> bool:
    """Whether the message became (or was already) a contact and is now flagged."""
    fetched = await imap.uid("fetch", uid, "(BODY.PEEK[])")
    raw = next((bytes(line) for line in fetched.lines if isinstance(line, bytearray)), None)
    if fetched.result != "OK" or raw is None:
        log.warning("imap.fetch_failed", mailbox=settings.name, uid=uid)
        return False
    mail = parse(raw)
    why_not = no_acknowledgement(mail, settings.own_addresses)
    if why_not is not None:
        log.info("imap.no_acknowledgement", mailbox=settings.name, why=why_not)
    answer = acknowledge if acknowledge is not None and why_not is None else None
    contact, created = await intake.submit(
        NewContact(
            channel=Channel.EMAIL,
            external_id=mail.message_id or f"imap:{settings.name}:{validity}:{uid}",
            client_address=mail.sender,
            subject=mail.subject or None,
            text=mail.text or None,
        ),
        actor=f"imap:{settings.name}",
        outbox=(lambda c: answer(c, mail)) if answer is not None else None,
    )
    # Only now, with the contact committed, is the message done on the server.
    await imap.uid("store", uid, "+FLAGS", "(\\Seen)")
    log.info("imap.read", mailbox=settings.name, reference=contact.reference, new=created)
    return True


async def watch(
    settings: MailboxSettings,
    intake: IntakePort,
    acknowledge: Acknowledge | None = None,
    *,
    poll_seconds: float,
) -> None:
    """Read the mailbox every `poll_seconds`, for as long as this daemon leads. A mailbox that
    refuses us (login, folder) is tried again slowly and said so in the log; a server that
    went away is tried again with backoff. Nothing is lost meanwhile: unread mail waits."""
    delay = poll_seconds
    while True:
        try:
            read = await read_new(settings, intake, acknowledge)
        except MailboxError as exc:
            log.error("imap.refused", mailbox=settings.name, error=str(exc))
            delay = max(poll_seconds, 300)
        except (aioimaplib.Abort, aioimaplib.CommandTimeout, OSError, TimeoutError) as exc:
            delay = min(max(delay * 2, poll_seconds), 300)
            log.warning(
                "imap.unavailable",
                mailbox=settings.name,
                error=type(exc).__name__,
                retry_in_seconds=delay,
            )
        else:
            delay = poll_seconds
            if read:
                continue  # more may have come while we read
        await asyncio.sleep(delay)
