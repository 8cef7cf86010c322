"""A caseworker's answer to an e-mail contact, threaded onto the client's last message so
that the client's mail program shows one conversation, with the reference in the subject
so that a reply finds the contact even when the threading headers are lost. Its words (the
reference under the text, the subject of a mail that had none) are the `answer.*` messages of
the email catalogs (channels/locale/<lang>/email.po)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from email.utils import make_msgid

from channels.ports import OutboxItem
from channels.wording import Wording

MAX_REFERENCES = 20  # the newest ids of the thread; mail programs need no more


@dataclasses.dataclass(frozen=True, kw_only=True)
class Thread:
    reference: str  # the contact's
    language: str  # 'da' or 'en'
    to: str  # the client's address
    subject: str | None  # of the client's last message
    last_message_id: str | None  # the client's last message
    message_ids: tuple[str, ...]  # every message of the contact, oldest first


def subject_of(thread: Thread, wording: Wording) -> str:
    subject = " ".join((thread.subject or "").split())
    subject = subject or wording.text("email", _served(thread, wording), "answer.no_subject")
    if not subject.lower().startswith(("re:", "sv:", "aw:")):
        subject = f"Re: {subject}"
    if thread.reference not in subject:
        subject = f"{subject} [{thread.reference}]"
    return subject


def new_message_id(reference: str, address: str) -> str:
    """A Message-ID of ours: unique, in the agency's domain, naming the contact."""
    return make_msgid(idstring=reference, domain=address.rsplit("@", 1)[-1])


def answer(
    thread: Thread,
    text: str,
    *,
    address: str,
    message_id: str,
    wording: Wording,
    attachments: Sequence[Mapping[str, object]] = (),
) -> OutboxItem:
    """The outbox entry that sends `text` from the agency's `address` as `message_id`, with
    the agency's forms named in `attachments` (read from the forms folder when sent)."""
    references = thread.message_ids[-MAX_REFERENCES:]
    lang = _served(thread, wording)
    footer = wording.text("email", lang, "answer.footer", reference=thread.reference)
    return OutboxItem(
        kind="email",
        key=f"email:answer:{message_id}",
        payload={
            "from": address,
            "to": thread.to,
            "subject": subject_of(thread, wording),
            "text": f"{text.rstrip()}\n\n{footer}\n",
            "message_id": message_id,
            "in_reply_to": thread.last_message_id,
            "references": " ".join(references) or None,
            "headers": {},
            "reference": thread.reference,
            "attachments": [dict(a) for a in attachments],
        },
    )


def _served(thread: Thread, wording: Wording) -> str:
    """The contact's language; one the agency does not serve (any more): its first."""
    return wording.served(thread.language)
