"""The agency's wording (issue 20): the shipped catalogs, an agency's own catalog laid over
them, and `contactd check-config` refusing what would fail at a caller's ear."""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping
from pathlib import Path

import pytest

from channels import wording
from contactd import settings
from contactd.cli.main import run_cli
from tests.conftest import ROOT
from tests.unit.test_settings import no_contactd_environ

__all__ = ["no_contactd_environ"]  # the fixture, used by name

WORDS = {
    "da": {"agency": "Borgerservice", "Agency": "Borgerservice", "website": "kommune.dk"},
    "en": {"agency": "the Citizen Service", "Agency": "The Citizen Service",
           "website": "kommune.dk"},
}  # fmt: skip


def _po(
    folder: Path, lang: str, messages: Mapping[str, str | list[str]], plurals: str = ""
) -> None:
    lines = ['msgid ""', 'msgstr ""', f'"Language: {lang}\\n"']
    if plurals:
        lines.append(f'"Plural-Forms: {plurals}\\n"')
    for key, said in messages.items():
        lines += ["", f'msgid "{key}"']
        if isinstance(said, list):
            lines.append(f'msgid_plural "{key}"')
            lines += [f'msgstr[{i}] "{s}"' for i, s in enumerate(said)]
        else:
            lines.append(f'msgstr "{said}"')
    (folder / lang).mkdir(parents=True, exist_ok=True)
    (folder / lang / "phone.po").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _problems(*args: object, **kwargs: object) -> list[str]:
    with pytest.raises(wording.WordingError) as refused:
        wording.load(*args, **kwargs)  # type: ignore[arg-type]
    return list(refused.value.problems)


def test_the_shipped_wording_says_the_agencys_name_in_each_language() -> None:
    said = wording.load(["da", "en"], WORDS)

    assert said.text("phone", "da", "ivr.welcome") == "Velkommen til Borgerservice."
    assert said.text("phone", "en", "ivr.welcome") == "Welcome to the Citizen Service."
    assert said.text("phone", "en", "ivr.place", position=3) == "You are number 3 in the queue."


def test_an_agency_words_a_message_its_own_way_and_keeps_the_others(tmp_path: Path) -> None:
    _po(tmp_path, "da", {"ivr.welcome": "Goddag, du har ringet til {agency} på {website}."})

    said = wording.load(["da", "en"], WORDS, overrides=tmp_path)

    assert said.text("phone", "da", "ivr.welcome") == (
        "Goddag, du har ringet til Borgerservice på kommune.dk."
    )
    assert said.text("phone", "da", "ivr.goodbye") == "Tak for opkaldet. Farvel."


def test_plurals_follow_each_languages_rules(tmp_path: Path) -> None:
    english = {"n.calls": ["Called {n} time.", "Called {n} times."]}
    _po(tmp_path, "en", english, "nplurals=2; plural=(n != 1);")
    _po(tmp_path, "ar", {"n.calls": [f"form {i} {{n}}" for i in range(6)]},
        "nplurals=6; plural=(n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? 3 "
        ": n%100>=11 ? 4 : 5);")  # fmt: skip

    said = wording.load(["en", "ar"], {}, shipped=tmp_path, domains=("phone",))

    assert [said.plural("phone", "en", "n.calls", n) for n in (1, 3)] == [
        "Called 1 time.", "Called 3 times."
    ]  # fmt: skip
    assert [said.plural("phone", "ar", "n.calls", n) for n in (0, 1, 2, 5, 11, 100)] == [
        "form 0 0", "form 1 1", "form 2 2", "form 3 5", "form 4 11", "form 5 100"
    ]  # fmt: skip


def test_a_plural_form_left_out_is_named_as_such(tmp_path: Path) -> None:
    # Babel pads a message's missing forms with empty strings: the operator is told how many
    # forms the language needs, not that the message is untranslated.
    _po(tmp_path, "en", {"n.calls": ["Called {n} time.", "Called {n} times."]},
        "nplurals=2; plural=(n != 1);")  # fmt: skip
    _po(tmp_path, "ar", {"n.calls": [f"form {i} {{n}}" for i in range(5)]},
        "nplurals=6; plural=(n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? 3 "
        ": n%100>=11 ? 4 : 5);")  # fmt: skip

    problems = _problems(["en", "ar"], {}, shipped=tmp_path, domains=("phone",))

    assert problems == ["ar/phone.po: 'n.calls' needs 6 plural forms, has 5"]


def test_a_language_whose_catalog_lacks_a_message_is_refused(tmp_path: Path) -> None:
    _po(tmp_path, "sv", {"ivr.welcome": "Välkommen till {agency}."})
    words = {**WORDS, "sv": WORDS["en"]}

    problems = _problems(["da", "en", "sv"], words, overrides=tmp_path)

    assert "sv/phone.po: 'ivr.goodbye' is not translated" in problems
    assert not any(p.startswith(("da/", "en/")) for p in problems)


def test_an_unknown_placeholder_is_refused_with_the_message_that_has_it(tmp_path: Path) -> None:
    _po(tmp_path, "en", {"ivr.place": "You are number {postion} in the queue."})

    problems = _problems(["da", "en"], WORDS, overrides=tmp_path)

    assert problems == ["en/phone.po: 'ivr.place' has the unknown placeholder {postion}"]


def test_an_unknown_language_and_a_language_without_catalogs_are_refused() -> None:
    problems = _problems(["da", "en", "xx", "sv"], {**WORDS, "xx": {}, "sv": {}})

    assert "'xx' is not a language Babel knows (use a code such as 'da')" in problems
    assert "no catalog for the language 'sv': sv/phone.po is missing" in problems
    assert "[agency] has no 'agency' in 'sv'" in problems


def test_a_broken_catalog_is_refused_with_its_file(tmp_path: Path) -> None:
    (tmp_path / "da").mkdir()
    (tmp_path / "da" / "phone.po").write_text('msgid "ivr.welcome"\nmsgstr "no end\n')

    problems = _problems(["da", "en"], WORDS, overrides=tmp_path)

    assert problems == [
        f"{tmp_path / 'da' / 'phone.po'}: cannot be read: "
        "line 2 has a string without its closing quote"
    ]


@pytest.mark.usefixtures("no_contactd_environ")
def test_check_config_names_a_missing_translation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = Path(shutil.copytree(ROOT / "config", tmp_path / "config"))
    text = (config / "contactd.toml").read_text()
    (config / "contactd.toml").write_text(
        re.sub(r"^languages = \[", 'languages = ["sv", ', text, count=1, flags=re.M)
        + '\n[agency.words.sv]\nagency = "Verket"\nAgency = "Verket"\nwebsite = "x.se"\n'
    )
    _po(config / "locale", "sv", {"ivr.welcome": "Välkommen till {agency}."})

    code = run_cli(["--config", str(config / "contactd.toml"), "check-config"])

    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert "agency: sv/phone.po: 'ivr.goodbye' is not translated\n" in err


def test_the_promise_is_told_in_the_clients_language_with_their_checklist() -> None:
    """Every channel tells a client their case type's name, processing goal and checklist
    (Wording.promise): the goal in their language's words, the checklist in their language
    where the agency has one, else the one every language shares."""
    loaded = settings.load(ROOT / "config" / "contactd.toml", environ={})
    family, general = loaded.case_types["family"], loaded.case_types["general"]
    told = {lang: loaded.wording.promise("sms", lang, family) for lang in loaded.agency.languages}

    assert {lang: said["goal"] for lang, said in told.items()} == {
        "da": "10 måneder",
        "en": "10 months",
        "ar": "10 أشهر",
        "uk": "10 місяців",
        "tr": "10 ay",
    }
    assert told["uk"]["name"] == "Возз’єднання сім’ї"
    assert told["da"]["url"] == "https://www.nyidanmark.dk/da/Du-vil-ansoege/Familie"
    assert told["ar"]["url"] == told["en"]["url"] == family.checklist_url
    # A case type with no processing-time goal says so, in the client's language.
    assert loaded.wording.promise("email", "tr", general)["goal"] == "belirli bir işlem süresi yok"
