"""Twilio's text-to-speech voices: for each language the IVR may speak, the `language` tag of
<Say> and a voice Twilio has for it (used unless `[phone] voices` names another).

Twilio refuses a <Say> whose voice does not speak its language tag, so the two are kept
together here. The voices are Amazon Polly's standard voices, which Twilio offers as
"Polly.<name>": Danish (Naja, Mads), British English (Amy, Emma, Brian), Arabic (Zeina, whose
language code is "arb": Modern Standard Arabic), Turkish (Filiz) and the other European
languages below. Polly has none for Ukrainian, for which Twilio offers Google's voices
("Google.uk-UA-Standard-A", uk-UA). Sources: Twilio, "TwiML Voice: <Say>" and
"Text-to-Speech" (twilio.com/docs/voice/twiml/say, .../say/text-speech); Amazon Polly,
"Standard voices" (docs.aws.amazon.com/polly/latest/dg/standard-voices.html).
docs/reference/phone.md shows the table.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping


@dataclasses.dataclass(frozen=True)
class TwilioVoice:
    tag: str  # <Say language="...">
    voice: str  # <Say voice="...">, the default for the language


TWILIO: Mapping[str, TwilioVoice] = {
    "da": TwilioVoice("da-DK", "Polly.Naja"),
    "en": TwilioVoice("en-GB", "Polly.Amy"),
    "ar": TwilioVoice("arb", "Polly.Zeina"),
    "uk": TwilioVoice("uk-UA", "Google.uk-UA-Standard-A"),
    "tr": TwilioVoice("tr-TR", "Polly.Filiz"),
    "de": TwilioVoice("de-DE", "Polly.Vicki"),
    "es": TwilioVoice("es-ES", "Polly.Lucia"),
    "fr": TwilioVoice("fr-FR", "Polly.Celine"),
    "it": TwilioVoice("it-IT", "Polly.Carla"),
    "nb": TwilioVoice("nb-NO", "Polly.Liv"),
    "nl": TwilioVoice("nl-NL", "Polly.Lotte"),
    "pl": TwilioVoice("pl-PL", "Polly.Ewa"),
    "pt": TwilioVoice("pt-PT", "Polly.Ines"),
    "ro": TwilioVoice("ro-RO", "Polly.Carmen"),
    "ru": TwilioVoice("ru-RU", "Polly.Tatyana"),
    "sv": TwilioVoice("sv-SE", "Polly.Astrid"),
}


def has(lang: str) -> bool:
    """Whether the table knows a voice of Twilio's for the language."""
    return lang in TWILIO


def tag(lang: str) -> str:
    """The <Say> language tag: the table's, else the language's own code as a BCP 47 tag
    ("pt_BR" -> "pt-BR"), for a language whose voice the agency configured itself."""
    known = TWILIO.get(lang)
    return known.tag if known else lang.replace("_", "-")


def default(lang: str) -> str | None:
    """Twilio's voice for the language in the table; None for one the table lacks."""
    known = TWILIO.get(lang)
    return known.voice if known else None
