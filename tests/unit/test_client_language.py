"""What a client reads, told by the script of their message (classifier/language.py
script_language) and chosen among the languages the agency serves (Wording.served)."""

from __future__ import annotations

import pytest

from channels import wording
from classifier.language import script_language
from tests.unit.test_wording import WORDS


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("مرحبا، أريد أن أسأل عن طلب لم الشمل الخاص بي", "ar"),
        ("Добрий день, я хочу дізнатися про свою заяву на возз'єднання сім'ї", "uk"),
        ("Здравствуйте, я хочу узнать о своём заявлении", "ru"),
        ("Merhaba, aile birleşimi başvurum hakkında bilgi almak istiyorum, teşekkürler", "tr"),
        ("Hej, jeg vil gerne høre om min ansøgning om familiesammenføring", None),
        ("Hello, I would like to ask about my application", None),
        ("CPR 123456-7890 ref AB12-CD34", None),
        ("", None),
        # Mostly Danish, with a name in Arabic script: Danish (None), not Arabic.
        ("Min ægtefælle hedder محمد og bor i Aarhus sammen med mig og vores børn", None),
    ],
)
def test_the_script_tells_the_language_when_it_is_neither_danish_nor_english(
    text: str, found: str | None
) -> None:
    assert script_language(text) == found


def test_a_client_reads_the_first_language_the_agency_serves() -> None:
    served = wording.load(["da", "en"], WORDS)

    assert served.served("ar", "en") == "en"  # Arabic is not served here: the contact's own
    assert served.served(None, "da") == "da"
    assert served.served("sv") == "da"  # none served: the agency's first
    both = wording.load(["da", "en", "ar"], {**WORDS, "ar": WORDS["en"]})
    assert both.served("ar", "en") == "ar"
