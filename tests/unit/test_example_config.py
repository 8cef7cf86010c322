"""The second agency in the box (issue 20): config/examples/citizen-service/, the citizen
service of Egeby Kommune, a fictional municipality, loads and passes check-config as shipped,
speaks in its own words and names no other agency; and the simulator, which the demo plays
it with, brings its case types and asks about them in neutral words."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from contactd import settings
from contactd.cli import demo
from contactd.cli.main import run_cli
from contactd.settings import answers
from simulator import mix, texts
from tests.conftest import ROOT

EXAMPLE = ROOT / "config" / "examples" / "citizen-service" / "contactd.toml"
SHIPPED = ROOT / "config" / "contactd.toml"
# The shipped agency's names and web addresses, as a copied file might still carry them.
OTHER_AGENCY = re.compile(
    r"Udlændingestyrelse|Udlaendingestyrelse|Immigration Service|nyidanmark|\buim\.dk",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def example() -> settings.Settings:
    return settings.load(EXAMPLE, environ={})


def test_the_example_loads_with_its_own_case_types_queues_and_calendars(
    example: settings.Settings,
) -> None:
    assert set(example.case_types) == {
        "passport", "driving_licence", "health_card", "moving", "pension",
        "housing_benefit", "digital_id", "general",
    }  # fmt: skip
    assert [q.code for q in example.queues] == [
        "id_documents", "health_moving", "benefits", "digital", "triage",
    ]  # fmt: skip
    assert set(example.calendars) == {"telefon", "borgerservice", "kontor"}
    assert [q.ticket_letter for q in example.queues] == ["P", "S", "Y", "M", "A"]
    # Trained on the immigration corpus, the classifier is off: e-mails go to triage.
    assert example.classifier.enabled is False
    triage = next(q for q in example.queues if "general" in q.case_types)
    assert triage.code == "triage"
    # Every case type on the phone menu, read out in order, "other questions" on 0.
    assert set(example.phone.menu.values()) == set(example.case_types)
    assert example.phone.menu["0"] == "general"
    assert example.phone.voices == {"da": "Polly.Mads", "en": "Polly.Brian"}
    for case_type in example.case_types.values():
        assert case_type.checklist_url.startswith("https://egeby.example.dk/")
        assert case_type.processing_goal or case_type.code == "general"


def test_the_example_passes_check_config(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["--config", str(EXAMPLE), "check-config"]) == 0
    said = capsys.readouterr().out
    assert said.endswith(": ok (8 case types; queues id_documents, health_moving, benefits, "
                         "digital, triage)\n")  # fmt: skip


def test_the_example_gives_the_words_the_shipped_configuration_gives(
    example: settings.Settings,
) -> None:
    shipped = settings.load(SHIPPED, environ={})
    # Its own choice of client languages (Danish and English), each with the shipped words.
    assert example.agency.languages == ["da", "en"]
    for lang in example.agency.languages:
        assert set(example.agency.words[lang]) == set(shipped.agency.words[lang]), lang
    assert example.agency.words["da"]["agency"] == "Egeby Kommune"
    assert example.agency.words["da"]["website"] == "egeby.example.dk"


def test_the_example_speaks_as_the_municipality(example: settings.Settings) -> None:
    wording = example.wording
    assert wording.text("phone", "da", "ivr.welcome") == (
        "Velkommen til Borgerservice i Egeby Kommune."
    )
    assert wording.text("phone", "en", "ivr.welcome") == (
        "Welcome to Citizen Service at Egeby Municipality."
    )
    pages = wording.messages("pages", "da")
    assert pages["status.page_title"] == "Borgerservice lige nu · Egeby Kommune"
    assert pages["kiosk.all_closed"] == "Borgerservice er lukket."
    # A message it did not word otherwise keeps the shipped text, with its name in it.
    assert pages["callback.page_title"] == "Bestil et opkald · Egeby Kommune"


def test_the_example_has_its_standard_answers_in_both_languages(
    example: settings.Settings,
) -> None:
    by_language: dict[str, set[str]] = {}
    for template in example.answer_templates:
        by_language.setdefault(template.language, set()).add(template.name)
    assert by_language["da"] == by_language["en"] == {"flytning", "mitid", "status",
                                                      "tidsbestilling"}  # fmt: skip
    passport = [t for t in example.answer_templates if t.fits("passport", "da")]
    assert {t.name for t in passport} == {"tidsbestilling", "status"}
    text = next(t for t in passport if t.name == "tidsbestilling").render(
        {**answers.PLACEHOLDERS, "case_type": "Pas"}
    )
    assert "Borgerservice, Egeby Kommune" in text


def test_no_file_of_the_example_names_another_agency() -> None:
    files = [p for p in sorted(EXAMPLE.parent.rglob("*")) if p.is_file()]
    assert {p.suffix for p in files} == {".toml", ".j2", ".po"}
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in files
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if OTHER_AGENCY.search(line)
    ]
    assert found == []


def test_the_demo_plays_the_example_in_its_own_data_directory() -> None:
    assert demo.default_data_dir(SHIPPED).name == "contactd-demo"
    assert demo.default_data_dir(EXAMPLE).name == "contactd-demo-citizen-service"
    assert demo.default_data_dir(Path("/etc/contactd/contactd.toml")).name == (
        "contactd-demo-contactd"
    )


def test_the_simulator_brings_every_case_type_of_the_example(
    example: settings.Settings,
) -> None:
    codes = list(example.case_types)
    weights = mix.case_type_weights(codes)
    assert set(weights) == set(codes)
    # The mix does not know the municipality's case types: each comes as often as the
    # average of those it knows; "general" keeps its own share.
    others = {weights[c] for c in codes if c != "general"}
    assert len(others) == 1
    assert weights["general"] == mix.CASE_TYPES["general"]
    draws = mix.Draws(1)
    drawn = {draws.arrival("email", codes).case_type for _ in range(400)}
    assert drawn == set(codes)


def test_the_shipped_mix_is_unchanged_by_other_agencies() -> None:
    shipped = list(settings.load(SHIPPED, environ={}).case_types)
    assert mix.case_type_weights(shipped) == {c: float(w) for c, w in mix.CASE_TYPES.items()}


def test_a_simulated_mail_about_an_unknown_case_type_is_a_neutral_question_naming_it(
    example: settings.Settings,
) -> None:
    rng = random.Random(2)  # noqa: S311 - simulated mails, not security
    for code, case_type in example.case_types.items():
        if code == "general":
            continue
        for language, name in (("da", case_type.name_da), ("en", case_type.name_en)):
            for _ in range(6):
                subject, text = texts.mail(rng, code, language, name)
                assert name in subject
                assert name in text
                assert not OTHER_AGENCY.search(subject + text)
    # Nor does any greeting, sign-off or answer name an agency.
    for language in ("da", "en"):
        for _ in range(30):
            subject, text = texts.mail(rng, "general", language)
            assert not OTHER_AGENCY.search(subject + text)
        assert not OTHER_AGENCY.search(texts.answer(language))
