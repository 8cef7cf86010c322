"""The e-mail channel as configured: the mailboxes to read and the acknowledgement to send."""

from __future__ import annotations

from channels.email.acknowledge import AckSettings, acknowledgement
from channels.email.imap import Acknowledge, MailboxSettings
from channels.email.message import ParsedMail
from channels.ports import OutboxItem
from contactd.settings import Settings
from routing.contact import Contact


def mailboxes(settings: Settings) -> list[MailboxSettings]:
    email = settings.email
    own = {a.lower() for a in email.own_addresses}
    if email.address:
        own.add(email.address.lower())
    own |= {box.user.lower() for box in email.mailboxes.values() if "@" in box.user}
    return [
        MailboxSettings(
            name=name,
            host=box.host,
            port=box.port,
            user=box.user,
            password=settings.mailbox_passwords[name],
            folder=box.folder,
            ssl=box.ssl,
            timeout_seconds=email.timeout_seconds,
            own_addresses=frozenset(own),
        )
        for name, box in email.mailboxes.items()
    ]


def acknowledger(settings: Settings) -> Acknowledge | None:
    """How a new mail is acknowledged; None when no address to send from is configured."""
    address = settings.email.address
    if address is None:
        return None
    ack = AckSettings(address=address, timezone=settings.timezone)

    def acknowledge(contact: Contact, mail: ParsedMail) -> list[OutboxItem]:
        return [acknowledgement(contact, mail, settings.case_types[contact.case_type], ack)]

    return acknowledge
