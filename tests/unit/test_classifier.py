"""The case-type model on the corpus's fixed test split, and on bad input."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import skops.io as sio
from sklearn.metrics import f1_score

from classifier import corpus, evaluation, language, model, persistence, text
from contactd import settings
from contactd.services import classification

ROOT = Path(__file__).resolve().parents[2]


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
    assert (other.case_type, other.confidence, other.unsure, other.language) == (
        "general",
        0.0,
        True,
        "other",
    )
    assert len(other.top) == 3  # the model's guesses, for staff who read Spanish
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
        ("residence card not received", "en"),  # a one-liner: one known word is enough
        ("PR requirements 2026", "en"),
        ("ingen besked, nr skjult", "da"),
        ("asdfghjkl", "other"),
    ],
)
def test_language_is_told_apart(sample: str, expected: str) -> None:
    assert language.detect(sample) == expected


def test_the_model_emits_exactly_the_configured_case_types(trained: model.Model) -> None:
    # The one list of case types is the configuration's (config/case_types.toml).
    configured = settings.load(ROOT / "config" / "contactd.toml", environ={}).case_types
    assert set(trained.classes) == set(configured)


def test_the_card_says_what_the_model_was_built_from_and_how_well_it_does(
    trained: model.Model, examples: list[corpus.Example]
) -> None:
    card = trained.card
    test = _test_split(examples)
    scores = evaluation.evaluate(trained, [e.text for e in test], [e.case_type for e in test])
    assert card.corpus == corpus.fingerprint(examples)
    assert (card.feedback, card.train_examples) == (0, len(examples) - len(test))
    assert card.test == scores
    assert card.thresholds == trained.thresholds
    assert len(card.version) == 12


def test_a_saved_model_loads_and_predicts_the_same(
    trained: model.Model, examples: list[corpus.Example], tmp_path: Path
) -> None:
    path = tmp_path / "m.skops"
    persistence.save(trained, path)
    loaded = persistence.load(path)
    texts = [e.text for e in _test_split(examples)]
    assert loaded.predict(texts) == trained.predict(texts)
    assert loaded.card == trained.card == persistence.read_card(path)


def test_a_file_that_is_not_a_model_is_refused_and_kept(tmp_path: Path) -> None:
    garbage = tmp_path / "case-types.skops"
    garbage.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(persistence.ModelFileError, match="not a contactd model file"):
        classification.load_or_train(garbage)
    assert garbage.read_bytes() == b"PK\x03\x04 not really a zip"


@pytest.mark.parametrize(
    "reply",
    [
        "Tak\n\n-----Original Message-----\nFrom: UDI\nSent: 3 May\nVi har modtaget",
        "Tak\n---------- Forwarded message ---------\nFrom: X <x@example.dk>\nVi har",
        "Tak\nDen 3. maj 2026 kl. 10.00 skrev Anna Jensen <anna@example.dk>:\nVi har",
        "Tak\nOn Mon, 3 May 2026 at 10:00, Anna <anna@example.dk> wrote:\nVi har",
        "Tak\nFra: Udlændingestyrelsen\nSendt: 3. maj 2026\nTil: mig\nVi har",
    ],
)
def test_the_usual_reply_and_forward_headers_end_the_clients_words(reply: str) -> None:
    assert text.clean(reply) == "Tak"


@pytest.mark.parametrize(
    "closing",
    [
        "Kind regards\nAnna Berg\nSenior Engineer\nExample A/S",
        "Med venlig hilsen\nAnna Jensen",
        "Mvh.\nAnna",
        "Sent from my iPhone\nBegin forwarded message:",
        "Begin forwarded message:\nFrom: Visa office",
        "CONFIDENTIALITY NOTICE: This e-mail and any attachments are intended solely for ...",
        "This message has been scanned for viruses.",
    ],
)
def test_sign_offs_phone_footers_and_disclaimers_end_the_clients_words(closing: str) -> None:
    assert text.clean(f"Can I renew my permit now?\n{closing}") == "Can I renew my permit now?"


def test_a_sign_off_inside_a_line_is_kept() -> None:
    note = "Thanks for the letter. Is my visa approved?\nMvh Rasmus"
    assert text.clean(note) == note


def test_folding_spells_out_danish_letters_and_drops_accents() -> None:
    assert text.fold("Ægtefælle, Søren på Ærø, André") == "aegtefaelle, soeren paa aeroe, andre"


def test_thresholds_meet_the_target_precision_on_held_out_predictions() -> None:
    def held(
        case_type: str, guess: str, confidence: float
    ) -> tuple[corpus.Example, model.Prediction]:
        example = corpus.Example(
            id="x", case_type=case_type, channel="email", language="en", text="x", split="train"
        )
        prediction = model.Prediction(
            case_type=guess,
            guess=guess,
            confidence=confidence,
            runner_up=guess,
            runner_up_confidence=0.0,
            language="en",
            unsure=False,
        )
        return example, prediction

    # visa: 20 right guesses from 0.60 up, 4 wrong ones at 0.30-0.45. rare: 3 guesses only.
    visa = [held("visa", "visa", 0.60 + i / 100) for i in range(20)]
    visa += [held("family", "visa", 0.30 + i / 20) for i in range(4)]
    rare = [held("rare", "rare", 0.9) for _ in range(3)]
    thresholds = model.choose_thresholds(visa + rare, ["visa", "rare"])
    assert thresholds["visa"] == 0.6  # the wrong guesses are all below it
    assert thresholds["rare"] == 0.6  # too few of its own: the threshold of all together


def test_a_line_of_the_clients_own_that_starts_with_fra_is_kept() -> None:
    own = "Fra: min arbejdsgiver fik jeg et brev\nDet handler om visum"
    assert text.clean(own) == own


def test_a_skops_file_that_is_not_a_contactd_model_is_refused_and_kept(tmp_path: Path) -> None:
    other = tmp_path / "case-types.skops"
    sio.dump([1, 2, 3], other)
    before = other.read_bytes()
    with pytest.raises(persistence.ModelFileError, match="no model format in it"):
        classification.load_or_train(other)
    assert other.read_bytes() == before


def test_a_file_with_code_in_it_is_refused(tmp_path: Path) -> None:
    """skops loads only trusted types: a file that would construct anything else (here a
    function call) is refused instead of run."""
    path = tmp_path / "evil.skops"
    sio.dump({"format": model.FORMAT, "pipeline": os.system}, path)
    with pytest.raises(persistence.ModelFileError, match="not a contactd model file"):
        persistence.load(path)


def test_a_missing_or_older_model_is_trained_and_written(
    trained: model.Model, tmp_path: Path
) -> None:
    path = tmp_path / "classifier" / "case-types.skops"
    first = classification.load_or_train(path)  # missing: trained from the corpus
    assert first.card.version == trained.card.version
    assert persistence.card_path(path).exists()
    sio.dump({"format": model.FORMAT - 1}, path)  # a file an older contactd wrote
    assert classification.load_or_train(path).card.version == trained.card.version
    assert persistence.load(path).card.version == trained.card.version


@pytest.mark.timeout(120)
def test_staff_corrections_teach_the_model(examples: list[corpus.Example]) -> None:
    """A phrase the corpus never sorts as visa is learnt as visa from corrections."""
    phrase = "Spørgsmål om kvittering for gebyr, kundenummer {n}, sendt fra min telefon"
    corrections = [
        corpus.Example(
            id=f"correction-{n}",
            case_type="visa",
            channel="email",
            language="da",
            text=phrase.format(n=n),
            split="train",
        )
        for n in range(40)
    ]
    plain = model.train(examples)
    taught = model.train(examples, corrections)
    probe = phrase.format(n=99)
    [before], [after] = plain.predict([probe]), taught.predict([probe])
    assert before.guess != "visa"
    assert after.guess == "visa"
    assert taught.card.feedback == 40
    assert taught.card.version != plain.card.version
    assert taught.card.test.macro_f1 >= 0.90  # the corrections do not spoil the rest


def test_a_model_file_missing_its_parts_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "case-types.skops"
    sio.dump({"format": model.FORMAT}, path)  # the right format, nothing in it
    with pytest.raises(persistence.ModelFileError, match="not a contactd model file"):
        persistence.load(path)
