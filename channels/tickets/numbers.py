"""Ticket numbers as visitors read them, and what a visitor is told by SMS."""

from __future__ import annotations

SMS_NEXT = {
    "da": "Udlændingestyrelsen: Dit nummer {number} kaldes op som det næste.",
    "en": "The Danish Immigration Service: your number {number} is next.",
}
SMS_NEAR = {
    "da": "Udlændingestyrelsen: Dit nummer {number} kaldes snart op. Der er {ahead} foran dig.",
    "en": "The Danish Immigration Service: your number {number} will be called soon. "
    "{ahead} ahead of you.",
}


def ticket_number(letter: str, count: int) -> str:
    """'A001' for the queue's first ticket of the day; four digits from the 1,000th."""
    return f"{letter}{count:03d}"


def near_turn_sms(number: str, ahead: int, language: str) -> str:
    texts = SMS_NEXT if ahead == 0 else SMS_NEAR
    return texts.get(language, texts["da"]).format(number=number, ahead=ahead)
