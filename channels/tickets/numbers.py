"""Ticket numbers as visitors read them, and what a visitor is told by SMS."""

from __future__ import annotations

SMS_NEAR = {
    "da": "Udlændingestyrelsen: Dit nummer {number} kaldes snart op. Der er {ahead} foran dig.",
    "en": "The Danish Immigration Service: your number {number} will be called soon. "
    "{ahead} ahead of you.",
}


def ticket_number(letter: str, count: int) -> str:
    """'A001' for the queue's first ticket of the day; four digits from the 1,000th."""
    return f"{letter}{count:03d}"


def near_turn_sms(number: str, ahead: int, language: str) -> str:
    return SMS_NEAR.get(language, SMS_NEAR["da"]).format(number=number, ahead=ahead)
