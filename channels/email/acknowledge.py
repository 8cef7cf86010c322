"""The acknowledgement of an incoming e-mail: its reference, its case type and the date by
which it will be answered, in the language of the mail, threaded onto it."""

from __future__ import annotations

import dataclasses
from zoneinfo import ZoneInfo

from channels.email.answer import new_message_id
from channels.email.message import ParsedMail
from channels.ports import OutboxItem
from routing.contact import Contact
from routing.queues import CaseType

TEXT = {
    "da": {
        "subject": "Vi har modtaget din henvendelse [{reference}]",
        "body": (
            "Tak for din henvendelse. Vi har modtaget den og svarer dig senest {date}.\n\n"
            "Din reference: {reference}\n"
            "Sagstype: {name}\n"
            "Sagsbehandlingstid for {name}: {goal}\n"
            "Tjekliste over det, du skal sende: {url}\n\n"
            "Skriv din reference i emnefeltet, hvis du skriver til os igen om det samme.\n\n"
            "Med venlig hilsen\nUdlændingestyrelsen\n"
        ),
    },
    "en": {
        "subject": "We have received your inquiry [{reference}]",
        "body": (
            "Thank you for your inquiry. We have received it and will answer you by {date}.\n\n"
            "Your reference: {reference}\n"
            "Case type: {name}\n"
            "Processing time for {name}: {goal}\n"
            "Checklist of what to send: {url}\n\n"
            "Please put your reference in the subject if you write to us again about this.\n\n"
            "Kind regards\nThe Danish Immigration Service\n"
        ),
    },
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class AckSettings:
    address: str  # the agency's address the acknowledgement comes from
    timezone: ZoneInfo


def acknowledgement(
    contact: Contact, mail: ParsedMail, case_type: CaseType, settings: AckSettings
) -> OutboxItem:
    lang = contact.language
    texts = TEXT[lang]
    date = contact.due_at.astimezone(settings.timezone).strftime("%d.%m.%Y")
    values = {
        "reference": contact.reference,
        "date": date,
        "name": case_type.name_da if lang == "da" else case_type.name_en,
        "goal": case_type.processing_goal,
        "url": case_type.checklist_url,
    }
    references = " ".join([*mail.references, *([mail.message_id] if mail.message_id else [])])
    return OutboxItem(
        kind="email",
        key=f"email:ack:{contact.reference}",
        payload={
            "from": settings.address,
            "to": mail.sender,
            "subject": texts["subject"].format(**values),
            "text": texts["body"].format(**values),
            "message_id": new_message_id(contact.reference, settings.address),
            "in_reply_to": mail.message_id,
            "references": references or None,
            # RFC 3834: an automatic answer, which mail systems must not answer in turn.
            "headers": {"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"},
            "reference": contact.reference,
        },
    )
