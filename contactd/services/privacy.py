"""Who may read a contact's personal data (the client's address, subject and words).

By need: supervisors and administrators always; a caseworker while the contact is offered to
or held by them, and no longer once it is finished or passed on; nobody else. Front-desk staff
and other caseworkers see the contact without those fields. (Issue 18's console will grant
more by role; the rule stays here, in one place.)
"""

from __future__ import annotations

from contactd.store.staff import Role, Staff
from routing.contact import Contact, State

PERSONAL_FIELDS = ("client_address", "subject", "text")
_HELD = frozenset({State.OFFERED, State.ACTIVE})
_ALWAYS = frozenset({Role.SUPERVISOR, Role.ADMIN})


def may_read_personal(contact: Contact, reader: Staff) -> bool:
    if reader.role in _ALWAYS:
        return True
    return contact.agent_id == reader.id and contact.state in _HELD
