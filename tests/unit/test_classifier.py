"""The case-type model on the corpus's fixed test split, and on bad input."""

from __future__ import annotations

import pytest
from sklearn.metrics import f1_score

from classifier import corpus, language, model, text


@pytest.fixture(scope="module")
def examples() -> list[corpus.Example]:
    return corpus.load()


def _test_split(examples: list[corpus.Example]) -> list[corpus.Example]:
    return [e for e in examples if e.split == "test"]


def test_the_test_split_reaches_macro_f1_of_0_90(
    trained: model.Model, examples: list[corpus.Example]
) -> None:
    test = _test_split(examples)
    guesses = [p.guess for p in trained.predict([e.text for e in test])]
    assert f1_score([e.case_type for e in test], guesses, average="macro") >= 0.90


def test_every_case_type_can_be_predicted(
    trained: model.Model, examples: list[corpus.Example]
) -> None:
    test = _test_split(examples)
    predicted = {p.case_type for p in trained.predict([e.text for e in test])}
    assert predicted == {e.case_type for e in examples}


@pytest.mark.timeout(120)
def test_training_is_deterministic(trained: model.Model, examples: list[corpus.Example]) -> None:
    again = model.train(examples)
    texts = [e.text for e in _test_split(examples)]
    assert again.thresholds == trained.thresholds
    assert again.predict(texts) == trained.predict(texts)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   \n\t ",
        "-- \nMed venlig hilsen\nAnna Jensen",
        "> Den 3. marts skrev Udlændingestyrelsen:\n> Vi har modtaget din ansøgning",
        "\x00\x01\x02\x7f" * 100,
    ],
)
def test_nothing_to_read_goes_to_triage_with_no_confidence(trained: model.Model, raw: str) -> None:
    [p] = trained.predict([raw])
    assert (p.case_type, p.confidence, p.unsure, p.language) == ("general", 0.0, True, "other")


def test_huge_html_and_foreign_text_get_a_defined_answer(trained: model.Model) -> None:
    huge = "Jeg har brug for et visum til at besøge min søster. " * 100_000  # about 5 MB
    html = "<html><body><p>Hvordan forl&aelig;nger jeg min opholdstilladelse?</p></body></html>"
    foreign = "Hola, quisiera saber el estado de mi solicitud."
    big, page, other = trained.predict([huge, html, foreign])
    assert big.guess == "visa"
    assert page.guess == "extension"
    assert other.language == "other"
    assert other.case_type in {e for e in trained.classes}
    assert len(text.clean(huge)) == text.MAX_CHARS


def test_clean_keeps_the_clients_words_and_drops_the_thread() -> None:
    mail = (
        "Hej\nHvornår får jeg svar på min sag?\n\n-- \nAnna Jensen\n+45 12 34 56 78\n"
        "\nDen 2. maj 2026 skrev Udlændingestyrelsen:\n> Vi har modtaget din ansøgning"
    )
    assert text.clean(mail) == "Hej\nHvornår får jeg svar på min sag?"
    quoted = "Thanks, see below\n> old text\nOn Mon, 4 May 2026, SIRI wrote:\nolder"
    assert text.clean(quoted) == "Thanks, see below"


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        ("Hej, jeg har et spørgsmål om min ansøgning", "da"),
        ("Hello, I have a question about my application", "en"),
        ("Guten Tag, ich habe eine Frage", "other"),
        ("", "other"),
    ],
)
def test_language_is_told_apart(sample: str, expected: str) -> None:
    assert language.detect(sample) == expected
