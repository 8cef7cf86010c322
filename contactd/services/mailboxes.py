"""The e-mail channel as configured: the mailboxes to read and the acknowledgement to send."""

from __future__ import annotations

from collections.abc import Callable

from channels.email.acknowledge import AckSettings, acknowledgement
from channels.email.imap import MailboxSettings
from channels.email.message import ParsedMail
from channels.ports import OutboxItem
from contactd.settings import Settings
from routing.contact import Contact

Acknowledge = Callable[[Contact, ParsedMail], OutboxItem]


def mailboxes(settings: Settings) -> list[MailboxSettings]:
    email = settings.email
    return [
        MailboxSettings(
            name=name,
            host=box.host,
            port=box.port,
            user=box.user,
            password=settings.mailbox_passwords[name],
            folder=box.folder,
            processed_folder=box.processed_folder,
            ssl=box.ssl,
            timeout_seconds=email.timeout_seconds,
            max_message_bytes=email.max_message_bytes,
        )
        for name, box in email.mailboxes.items()
    ]


def own_addresses(settings: Settings) -> frozenset[str]:
    """The agency's own addresses: mail from them is never acknowledged (no loops)."""
    email = settings.email
    own = {a.lower() for a in email.own_addresses}
    if email.address:
        own.add(email.address.lower())
    own |= {box.user.lower() for box in email.mailboxes.values() if "@" in box.user}
    return frozenset(own)


def acknowledger(settings: Settings) -> Acknowledge | None:
    """How a new mail is acknowledged; None when no address to send from is configured."""
    address = settings.email.address
    if address is None:
        return None
    ack = AckSettings(address=address, timezone=settings.timezone)

    def acknowledge(contact: Contact, mail: ParsedMail) -> OutboxItem:
        return acknowledgement(contact, mail, settings.case_types[contact.case_type], ack)

    return acknowledge
