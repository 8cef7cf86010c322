"""The staff API for contacts: register one by hand, look one up with its history. The
client's personal data only to those who need it (contactd/services/privacy.py)."""

from __future__ import annotations

from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from contactd.http import auth
from contactd.http.appkeys import AUDIT, INTAKE
from contactd.http.errors import Text, read_body
from contactd.services.privacy import PERSONAL_FIELDS, may_read_personal
from contactd.store.staff import Role, Staff
from routing.contact import CaseTypeSource, Channel, Contact, Event, Language, NewContact

routes = web.RouteTableDef()


class NewContactBody(BaseModel):
    """A contact registered by staff: a letter, a walk-in question, a call taken directly."""

    model_config = ConfigDict(extra="forbid")

    channel: Channel
    language: Language | None = None  # None: detected from subject and text
    case_type: Annotated[Text, Field(max_length=40)] | None = None
    queue: Annotated[Text, Field(max_length=40)] | None = None
    priority: Annotated[int, Field(ge=0, le=10)] = 0
    external_id: Annotated[Text, Field(min_length=1, max_length=200)] | None = None
    client_address: Annotated[Text, Field(max_length=320)] | None = None
    subject: Annotated[Text, Field(max_length=998)] | None = None
    text: Annotated[Text, Field(max_length=100_000)] | None = None


@routes.post("/api/contacts")
@auth.require(Role.AGENT, Role.FRONTDESK, Role.SUPERVISOR)
async def create_contact(request: web.Request) -> web.Response:
    body = await read_body(request, NewContactBody)
    person, intake = auth.current(request), request.app[INTAKE]
    if body.client_address is not None:
        body.client_address = intake.staff_address(body.channel, body.client_address)
    new = NewContact(
        **body.model_dump(),
        case_type_source=CaseTypeSource.STAFF if body.case_type else None,
    )
    contact, created = await intake.submit(new, actor=person.actor)
    # A known external id answers with the contact that has it: whoever knows the id must not
    # learn its client's data that way (the new contact's are what this person just wrote).
    shown = contact_json(contact) if created else withheld(contact_json(contact))
    return web.json_response(
        shown,
        status=201 if created else 200,
        headers={"Location": f"/api/contacts/{contact.reference}"},
    )


@routes.get("/api/contacts/{reference}")
@auth.require(Role.AGENT, Role.FRONTDESK, Role.SUPERVISOR)
async def get_contact(request: web.Request) -> web.Response:
    contact, history = await request.app[INTAKE].history(request.match_info["reference"])
    person = auth.current(request)
    shown = shown_to(person, contact)
    await read_by(request, person, contact, shown, "contact.read")
    return web.json_response({**shown, "history": [event_json(e) for e in history]})


async def read_by(
    request: web.Request, person: Staff, contact: Contact, shown: dict[str, Any], action: str
) -> None:
    """Audit a read that showed the client's personal data (one that withheld it is none)."""
    if "withheld" not in shown:
        await request.app[AUDIT].record(person, action, reference=contact.reference)


def shown_to(person: Staff, contact: Contact) -> dict[str, Any]:
    """The contact as `person` may see it now: with the client's data only if they need it."""
    shown = contact_json(contact)
    return shown if may_read_personal(contact, person) else withheld(shown)


def withheld(shown: dict[str, Any]) -> dict[str, Any]:
    """The contact without the client's personal data; `withheld` names what was left out."""
    return {**shown, **dict.fromkeys(PERSONAL_FIELDS), "withheld": list(PERSONAL_FIELDS)}


def contact_json(c: Contact) -> dict[str, Any]:
    return {
        "reference": c.reference,
        "channel": c.channel,
        "state": c.state,
        "case_type": c.case_type,
        "case_type_source": c.case_type_source,
        "confidence": None if c.confidence is None else round(c.confidence, 4),  # stored as real
        "language": c.language,
        "queue": c.queue,
        "priority": c.priority,
        "created_at": c.created_at.isoformat(),
        "state_changed_at": c.state_changed_at.isoformat(),
        "due_at": c.due_at.isoformat(),
        "external_id": c.external_id,
        "client_address": c.client_address,
        "subject": c.subject,
        "text": c.text,
        "attempts": c.attempts,
        "outcome": c.outcome,
        "guesses": [{"case_type": g.case_type, "confidence": g.confidence} for g in c.guesses],
        "first_response_at": c.first_response_at.isoformat() if c.first_response_at else None,
    }


def event_json(e: Event) -> dict[str, Any]:
    return {
        "at": e.at.isoformat(),
        "action": e.action,
        "from_state": e.from_state,
        "to_state": e.to_state,
        "actor": e.actor,
        "reason": dict(e.reason),
    }
