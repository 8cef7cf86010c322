"""What a visitor with a ticket is told by SMS when their turn is near: the `ticket.*`
messages of the sms catalogs (channels/locale/<lang>/sms.po)."""

from __future__ import annotations

from channels.wording import Wording


def near_turn_sms(wording: Wording, number: str, ahead: int, language: str) -> str:
    """`ahead`: the tickets before it, 0 when it is next. A language the agency does not
    serve (any more) is told in its first."""
    lang = wording.served(language)
    if ahead == 0:
        return wording.text("sms", lang, "ticket.next", number=number)
    return wording.plural("sms", lang, "ticket.near", ahead, number=number)
