"""The acknowledgement of an incoming e-mail: its reference, its case type and the date by
which it will be answered, in the language of the mail, threaded onto it. Its words are the
`ack.*` messages of the email catalogs (channels/locale/<lang>/email.po)."""

from __future__ import annotations

import dataclasses
from zoneinfo import ZoneInfo

from channels.email.answer import new_message_id
from channels.email.message import ParsedMail
from channels.ports import OutboxItem
from channels.wording import Wording
from routing.contact import Contact
from routing.queues import CaseType


@dataclasses.dataclass(frozen=True, kw_only=True)
class AckSettings:
    address: str  # the agency's address the acknowledgement comes from
    timezone: ZoneInfo
    wording: Wording


def acknowledgement(
    contact: Contact, mail: ParsedMail, case_type: CaseType, settings: AckSettings
) -> OutboxItem:
    wording = settings.wording
    lang = wording.served(*contact.reads)  # the language of the mail, if the agency serves it
    date = contact.due_at.astimezone(settings.timezone).strftime("%d.%m.%Y")
    values = {
        "reference": contact.reference,
        "date": date,
        **wording.promise("email", lang, case_type),
    }
    references = " ".join([*mail.references, *([mail.message_id] if mail.message_id else [])])
    return OutboxItem(
        kind="email",
        key=f"email:ack:{contact.reference}",
        payload={
            "from": settings.address,
            "to": mail.sender,
            "subject": wording.text("email", lang, "ack.subject", **values),
            "text": wording.text("email", lang, "ack.body", **values),
            "message_id": new_message_id(contact.reference, settings.address),
            "in_reply_to": mail.message_id,
            "references": references or None,
            # RFC 3834: an automatic answer, which mail systems must not answer in turn.
            "headers": {"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"},
            "reference": contact.reference,
        },
    )
