"""What a visitor with a ticket is told by SMS when their turn is near."""

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


def near_turn_sms(number: str, ahead: int, language: str) -> str:
    texts = SMS_NEXT if ahead == 0 else SMS_NEAR
    return texts.get(language, texts["da"]).format(number=number, ahead=ahead)
