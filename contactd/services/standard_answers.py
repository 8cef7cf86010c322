"""Standard e-mail answers for the desk: the agency's templates (contactd/settings/answers.py)
that fit a contact's case type and language, filled in with its reference, the promise made to
the client and the caseworker's name, for the caseworker to edit before sending."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from zoneinfo import ZoneInfo

from channels.wording import goal_in
from contactd.services.privacy import may_read_personal
from contactd.settings.answers import AnswerTemplate
from contactd.store.contacts import NotHolder
from contactd.store.staff import Staff
from routing.contact import Contact
from routing.queues import CaseType, ProcessingGoal


@dataclasses.dataclass(frozen=True, kw_only=True)
class Filled:
    name: str
    title: str
    text: str


class StandardAnswers:
    def __init__(
        self,
        templates: Sequence[AnswerTemplate],
        case_types: Mapping[str, CaseType],
        *,
        timezone: ZoneInfo,
    ) -> None:
        self._templates = tuple(templates)
        self._case_types = case_types
        self._timezone = timezone

    def for_contact(self, contact: Contact, person: Staff) -> list[Filled]:
        """The templates for the contact's case type and language, filled in."""
        if not may_read_personal(contact, person):
            raise NotHolder(f"contact {contact.reference} is not offered to or held by you")
        lang = contact.language
        case_type = self._case_types.get(contact.case_type)
        values = {
            "reference": contact.reference,
            "case_type": case_type.name(lang) if case_type else contact.case_type,
            "processing_goal": goal_in(lang, goal) if (goal := _goal(case_type)) else "",
            "checklist_url": case_type.checklist(lang) if case_type else "",
            # As the acknowledgement wrote the promise: 04.12.2026.
            "answer_by": contact.due_at.astimezone(self._timezone).strftime("%d.%m.%Y"),
            "caseworker": person.name,
        }
        return [
            Filled(name=t.name, title=t.title, text=t.render(values))
            for t in self._templates
            if t.fits(contact.case_type, lang)
        ]


def _goal(case_type: CaseType | None) -> ProcessingGoal | None:
    return case_type.processing_goal if case_type else None
