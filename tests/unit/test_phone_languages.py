"""The voices the phone line speaks with (issue 20): each language's <Say> tag and a voice
Twilio has for it, the agency's own voice where it set one, and the line's languages, its
language key and the keys of its language menu as the phone channel is told them."""

from __future__ import annotations

from twilio.twiml.voice_response import VoiceResponse

from channels.phone import voices
from channels.phone.voice import say
from contactd import settings
from contactd.http.phone import phone_setup
from tests.conftest import ROOT

SHIPPED = ROOT / "config" / "contactd.toml"
EXAMPLE = ROOT / "config" / "examples" / "citizen-service" / "contactd.toml"


def _said(lang: str, config: str = "shipped") -> str:
    setup = phone_setup(settings.load(SHIPPED if config == "shipped" else EXAMPLE, environ={}))
    response = VoiceResponse()
    say(response, setup, lang, "…")
    return str(response)


def test_each_served_language_has_a_tag_and_a_voice_of_twilios() -> None:
    served = ("da", "en", "ar", "uk", "tr")
    assert {lang: (voices.tag(lang), voices.default(lang)) for lang in served} == {
        "da": ("da-DK", "Polly.Naja"),
        "en": ("en-GB", "Polly.Amy"),
        "ar": ("arb", "Polly.Zeina"),  # Polly's code for Modern Standard Arabic
        "uk": ("uk-UA", "Google.uk-UA-Standard-A"),  # Polly has no Ukrainian voice
        "tr": ("tr-TR", "Polly.Filiz"),
    }


def test_a_language_the_table_lacks_is_tagged_by_its_code_and_has_no_default() -> None:
    assert (voices.has("so"), voices.tag("so"), voices.default("so")) == (False, "so", None)
    assert voices.tag("pt_BR") == "pt-BR"


def test_say_uses_the_languages_tag_and_the_configured_or_twilios_voice() -> None:
    assert '<Say language="arb" voice="Polly.Zeina">' in _said("ar")
    assert '<Say language="uk-UA" voice="Google.uk-UA-Standard-A">' in _said("uk")
    # The municipality configured its own Danish voice; Arabic it does not serve, but the
    # table still knows one.
    assert '<Say language="da-DK" voice="Polly.Mads">' in _said("da", "example")
    assert '<Say language="arb" voice="Polly.Zeina">' in _said("ar", "example")


def test_the_line_speaks_the_agencys_first_language_and_offers_the_others_on_one_key() -> None:
    setup = phone_setup(settings.load(SHIPPED, environ={}))
    assert (setup.line_language, setup.language_key) == ("da", "9")
    assert setup.languages == ("da", "en", "ar", "uk", "tr")
    # Offered after a Danish menu; after an Arabic one, the others and not Arabic.
    assert setup.others("da") == ("en", "ar", "uk", "tr")
    assert setup.others("ar") == ("en", "uk", "tr")
    # The keys of the language menu that 9 opens.
    assert [setup.language_of(key) for key in "1234590"] == [
        "en", "ar", "uk", "tr", None, None, None,
    ]  # fmt: skip


def test_the_example_agency_offers_english_alone_on_its_key() -> None:
    example = phone_setup(settings.load(EXAMPLE, environ={}))
    assert (example.languages, example.language_key) == (("da", "en"), "9")
    # language_digits left out: the agency's languages after Danish, on 1, 2, 3, ...
    assert example.language_digits == {"en": "1"}
    assert (example.others("da"), example.others("en")) == (("en",), ())
