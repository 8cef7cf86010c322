"""The e-mail channel as configured: the mailboxes to read and the acknowledgement to send."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from zoneinfo import ZoneInfo

from channels.email.acknowledge import AckSettings, acknowledgement
from channels.email.imap import MailboxSettings
from channels.email.message import ParsedMail
from channels.ports import OutboxItem
from channels.wording import Wording
from contactd.settings import EmailConfig
from routing.contact import Contact
from routing.queues import CaseType

Acknowledge = Callable[[Contact, ParsedMail], OutboxItem]


def mailboxes(email: EmailConfig, passwords: Mapping[str, str]) -> list[MailboxSettings]:
    """Each mailbox to read, with its password: only the IMAP watcher is given them."""
    return [
        MailboxSettings(
            name=name,
            host=box.host,
            port=box.port,
            user=box.user,
            password=passwords[name],
            folder=box.folder,
            processed_folder=box.processed_folder,
            quarantine_folder=box.quarantine_folder,
            ssl=box.ssl,
            timeout_seconds=email.timeout_seconds,
            max_message_bytes=email.max_message_bytes,
            authserv_ids=tuple(box.authserv_ids),
        )
        for name, box in email.mailboxes.items()
    ]


def own_addresses(email: EmailConfig) -> frozenset[str]:
    """The agency's own addresses: mail from them is never acknowledged (no loops)."""
    own = {a.lower() for a in email.own_addresses}
    if email.address:
        own.add(email.address.lower())
    own |= {box.user.lower() for box in email.mailboxes.values() if "@" in box.user}
    return frozenset(own)


def acknowledger(
    email: EmailConfig,
    timezone: ZoneInfo,
    case_types: Mapping[str, CaseType],
    wording: Wording,
) -> Acknowledge | None:
    """How a new mail is acknowledged; None when no address to send from is configured."""
    address = email.address
    if address is None:
        return None
    ack = AckSettings(address=address, timezone=timezone, wording=wording)

    def acknowledge(contact: Contact, mail: ParsedMail) -> OutboxItem:
        return acknowledgement(contact, mail, case_types[contact.case_type], ack)

    return acknowledge
