"""Loading and validating the configuration, and `contactd check-config`."""

from __future__ import annotations

import os
import shutil
import tomllib
from datetime import date
from pathlib import Path

import pytest

from contactd import settings
from contactd.cli.main import run_cli
from routing.contact import Channel
from routing.queues import NoQueue, choose_queue

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "config" / "contactd.toml"


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    """A private copy of the shipped config directory; returns its contactd.toml."""
    copy = shutil.copytree(ROOT / "config", tmp_path / "config")
    return Path(copy) / "contactd.toml"


@pytest.fixture
def no_contactd_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI reads os.environ: keep the developer's CONTACTD_* variables out of it."""
    for name in list(os.environ):
        if name.startswith("CONTACTD_"):
            monkeypatch.delenv(name)


def edit(path: Path, old: str, new: str, *, section: str | None = None) -> None:
    """Replace the one occurrence of `old` (within `[section]` if given) in a TOML file."""
    text = path.read_text(encoding="utf-8")
    start, end = 0, len(text)
    if section is not None:
        start = text.index(f"[{section}]\n")
        following = text.find("\n[", start + 1)
        end = len(text) if following == -1 else following
    part = text[start:end]
    assert part.count(old) == 1, f"{old!r} is not once in [{section}] of {path}"
    path.write_text(text[:start] + part.replace(old, new) + text[end:], encoding="utf-8")


def config_error(path: Path, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(settings.ConfigError) as refused:
        settings.load(path, environ=environ or {})
    return str(refused.value)


# The shipped configuration


def test_shipped_config_loads() -> None:
    loaded = settings.load(SHIPPED, environ={})

    assert loaded.path == SHIPPED
    assert [q.code for q in loaded.queues] == [
        "family",
        "work_study",
        "asylum",
        "residence",
        "visa",
        "appeals",
        "general",
    ]


def test_shipped_case_types_are_those_of_config_case_types_toml_in_its_order() -> None:
    # config/case_types.toml is the one list of case types: the classifier, the IVR, the
    # kiosk and the queues all use its codes.
    listed = tomllib.loads((ROOT / "config" / "case_types.toml").read_text(encoding="utf-8"))

    loaded = settings.load(SHIPPED, environ={})

    assert list(loaded.case_types) == list(listed)
    assert {c: (t.name_da, t.name_en) for c, t in loaded.case_types.items()} == {
        c: (t["da"], t["en"]) for c, t in listed.items()
    }


def test_every_shipped_case_type_tells_its_processing_goal_and_https_checklist() -> None:
    loaded = settings.load(SHIPPED, environ={})

    lacking = [
        code
        for code, t in loaded.case_types.items()
        if not (t.processing_goal or code == "general")
        or not t.checklist_url.startswith("https://")
    ]
    assert lacking == []
    # In every language the agency serves, under its name in that language.
    assert all(t.name(lang) for t in loaded.case_types.values() for lang in loaded.agency.languages)
    assert loaded.case_types["family"].name("tr") == "Aile birleşimi"
    assert str(loaded.case_types["family"].processing_goal) == "10 months"


def test_every_shipped_case_type_is_reachable_on_every_channel() -> None:
    loaded = settings.load(SHIPPED, environ={})

    unreachable = []
    for code in loaded.case_types:
        for channel in Channel:
            try:
                choose_queue(loaded.queues, case_type=code, channel=channel)
            except NoQueue:
                unreachable.append((code, str(channel)))
    assert unreachable == []


def test_database_url_comes_from_the_environment() -> None:
    url = "postgresql://contactd@db.example/contactd"

    loaded = settings.load(SHIPPED, environ={"CONTACTD_DATABASE_URL": url})

    assert loaded.database_url == url


# Bad values: the message names the file, the key, the value and what is allowed


def test_port_out_of_range_is_refused(config_path: Path) -> None:
    edit(config_path, "port = 8080", "port = 70000", section="daemon")

    assert config_error(config_path) == (
        f"{config_path}: daemon.port = 70000: Input should be less than or equal to 65535"
    )


def test_goal_target_above_one_is_refused(config_path: Path) -> None:
    edit(
        config_path,
        "target = 0.8, sl_variant = 1",
        "target = 1.5, sl_variant = 1",
        section="queues.family",
    )

    assert config_error(config_path) == (
        f"{config_path}: queues.family.goals.call.target = 1.5: "
        "Input should be less than or equal to 1"
    )


def test_goal_threshold_in_another_form_is_refused(config_path: Path) -> None:
    edit(config_path, 'threshold = "5 minutes"', 'threshold = "5 mins"', section="queues.family")

    message = config_error(config_path)

    assert message.startswith(
        f"{config_path}: queues.family.goals.call.threshold = '5 mins': "
        "'5 mins' is not a threshold; use "
    )
    assert "'<n> minutes'" in message
    assert "'<n> working days'" in message


def test_unknown_case_type_in_a_queue_is_refused(config_path: Path) -> None:
    edit(config_path, 'case_types = ["family"]', 'case_types = ["family", "famliy"]')

    message = config_error(config_path)

    assert message.startswith(
        f"{config_path}: queues.family.case_types = 'famliy': unknown case type; known: asylum, "
    )
    assert ", family, " in message


def test_unknown_calendar_is_refused(config_path: Path) -> None:
    edit(config_path, 'calendar = "phone"', 'calendar = "phones"', section="queues.family")

    assert config_error(config_path) == (
        f"{config_path}: queues.family.calendar = 'phones': unknown calendar; "
        "known: phone, service_centre, office"
    )


def test_misspelt_key_is_refused_as_unknown(config_path: Path) -> None:
    edit(config_path, "port = 8080", "prot = 8080", section="daemon")

    assert config_error(config_path) == f"{config_path}: daemon.prot: unknown key"


def test_missing_required_key_is_refused(config_path: Path) -> None:
    edit(config_path, 'name_en = "Family reunification"\n', "", section="queues.family")

    assert config_error(config_path) == (
        f"{config_path}: queues.family.name_en: missing; this key is required"
    )


def test_broken_toml_is_refused_with_its_line(config_path: Path) -> None:
    edit(config_path, "port = 8080", "port = ", section="daemon")

    message = config_error(config_path)

    line = config_path.read_text().splitlines().index("port = ") + 1
    assert message.startswith(f"{config_path}: not valid TOML: ")
    assert f"line {line}" in message


def test_missing_config_file_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "contactd.toml"

    assert config_error(missing) == f"{missing}: no such configuration file"


def test_missing_case_types_file_is_refused_naming_it(config_path: Path) -> None:
    case_types = config_path.parent / "case_types.toml"
    case_types.unlink()

    assert config_error(config_path) == f"{case_types}: no such configuration file"


def test_plain_http_checklist_url_is_refused_in_the_case_types_file(config_path: Path) -> None:
    case_types = config_path.parent / "case_types.toml"
    edit(
        case_types,
        '"https://www.nyidanmark.dk/en',
        '"http://www.nyidanmark.dk/en',
        section="family",
    )

    assert config_error(config_path) == (
        f"{case_types}: family.checklist_url = "
        "'http://www.nyidanmark.dk/en-GB/You-want-to-apply/Family': "
        "String should match pattern '^https://\\S+$'"
    )


def test_a_processing_goal_that_is_not_a_duration_is_refused(config_path: Path) -> None:
    case_types = config_path.parent / "case_types.toml"
    edit(case_types, '"10 months"', '"ten months"', section="family")

    assert config_error(config_path) == (
        f"{case_types}: family.processing_goal = 'ten months': "
        "'ten months' is not a number of days, weeks, months or years"
    )


def test_a_case_type_or_queue_without_a_name_in_a_served_language_is_refused(
    config_path: Path,
) -> None:
    """A client who reads Turkish must not meet the menu, the tiles or the SMS in English
    because one name was forgotten: check-config names each one missing."""
    case_types = config_path.parent / "case_types.toml"
    edit(case_types, ', tr = "Aile birleşimi"', "", section="family")
    edit(config_path, ', tr = "Vize"', "", section="queues.visa")

    assert config_error(config_path) == (
        f"{case_types}: family.names: no name in 'tr', a language [agency] serves\n"
        "queues.visa.names: no name in 'tr', a language [agency] serves"
    )


def test_names_in_a_language_the_agency_does_not_serve_are_refused(config_path: Path) -> None:
    case_types = config_path.parent / "case_types.toml"
    edit(
        case_types,
        'tr = "Aile birleşimi"',
        'tr = "Aile birleşimi", so = "Mideynta qoyska"',
        section="family",
    )

    assert config_error(config_path) == (
        "names in 'so': [agency] languages does not serve it; add it there or remove them"
    )


def test_database_url_in_the_file_is_refused_as_a_secret(config_path: Path) -> None:
    edit(
        config_path,
        "pool_min_size = 2",
        'url = "postgresql://contactd:s3cr3t-pass@db/contactd"\npool_min_size = 2',
    )

    message = config_error(config_path)

    assert message.startswith(f"{config_path}: database url: secrets are not read from files")
    assert "CONTACTD_DATABASE_URL" in message
    assert "s3cr3t-pass" not in message


def test_opening_hours_ending_before_they_start_are_refused(config_path: Path) -> None:
    edit(config_path, 'mon = ["09:00-15:00"]', 'mon = ["15:00-09:00"]', section="calendars.phone")

    assert config_error(config_path) == (
        f"{config_path}: calendars.phone.mon = ['15:00-09:00']: must end after it starts"
    )


def test_closed_day_written_without_dashes_closes_the_day_or_is_refused(
    config_path: Path,
) -> None:
    edit(
        config_path,
        'closed_days = ["06-05", "12-24", "12-31"]',
        'closed_days = ["06-05", "12-24", "12-31", "20260311"]',
        section="calendars.phone",
    )

    try:
        loaded = settings.load(config_path, environ={})
    except settings.ConfigError:
        return  # refusing the form is fine too
    assert not loaded.queues[0].calendar.is_working_day(date(2026, 3, 11))


# Environment overrides


def test_environment_overrides_the_port() -> None:
    loaded = settings.load(SHIPPED, environ={"CONTACTD_DAEMON__PORT": "9000"})

    assert loaded.daemon.port == 9000


def test_environment_overrides_a_queue_key() -> None:
    loaded = settings.load(SHIPPED, environ={"CONTACTD_QUEUES__VISA__PRIORITY": "15"})

    assert {q.code: q.priority for q in loaded.queues}["visa"] == 15


def test_bad_value_from_the_environment_names_the_variable() -> None:
    message = config_error(SHIPPED, {"CONTACTD_DAEMON__PORT": "abc"})

    assert message == (
        "environment CONTACTD_DAEMON__PORT: daemon.port = 'abc': "
        "Input should be a valid integer, unable to parse string as an integer"
    )


def test_environment_variable_without_a_section_is_refused() -> None:
    assert config_error(SHIPPED, {"CONTACTD_FOO": "1"}) == (
        "environment CONTACTD_FOO: not a configuration key; "
        "use CONTACTD_<SECTION>__<KEY>, e.g. CONTACTD_DAEMON__PORT=8080"
    )


# contactd check-config


@pytest.mark.usefixtures("no_contactd_environ")
def test_check_config_accepts_the_shipped_config(
    config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_cli(["--config", str(config_path), "check-config"])

    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    assert out.startswith(f"{config_path}: ok (13 case types; queues family, ")


@pytest.mark.usefixtures("no_contactd_environ")
def test_check_config_exits_2_with_the_problem_on_stderr(
    config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(config_path, "port = 8080", "port = 70000", section="daemon")

    code = run_cli(["--config", str(config_path), "check-config"])

    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err == (
        "contactd: bad configuration:\n"
        f"{config_path}: daemon.port = 70000: Input should be less than or equal to 65535\n"
    )


@pytest.mark.usefixtures("no_contactd_environ")
def test_check_config_exits_2_for_a_bad_environment_override(
    config_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTACTD_DAEMON__PORT", "abc")

    code = run_cli(["--config", str(config_path), "check-config"])

    assert code == 2
    assert "environment CONTACTD_DAEMON__PORT: daemon.port = 'abc'" in capsys.readouterr().err


def test_bullseye_that_asks_for_more_skill_later_is_refused(config_path: Path) -> None:
    edit(
        config_path,
        "bullseye = [[0, 3], [120, 2], [300, 1]]",
        "bullseye = [[0, 2], [120, 3]]",
        section="queues.family",
    )

    assert config_error(config_path) == (
        f"{config_path}: queues.family.bullseye = [[0, 2], [120, 3]]: "
        "steps must come later and never ask for a higher level"
    )


def test_offer_expiry_needs_every_channel(config_path: Path) -> None:
    edit(
        config_path,
        "offer_expiry_seconds = { call = 20, callback = 60, email = 120, ticket = 30 }",
        "offer_expiry_seconds = { call = 20 }",
        section="routing",
    )

    assert config_error(config_path) == (
        f"{config_path}: routing.offer_expiry_seconds: "
        "needs a time for every channel; missing: callback, email, ticket"
    )


def test_shipped_queues_carry_their_bullseye_into_the_engine_rules() -> None:
    family = next(q for q in settings.load().queues if q.code == "family")
    rules = family.rules()
    assert [(s.after_seconds, s.level) for s in rules.bullseye] == [(0, 3), (120, 2), (300, 1)]
    assert (rules.overflow_to, rules.overflow_after_seconds) == (("general",), 600)


def test_phone_menu_with_an_unknown_case_type_or_the_language_key_is_refused(
    config_path: Path,
) -> None:
    edit(config_path, '"4" = "visa"', '"4" = "visum", "9" = "visa"', section="phone")
    message = config_error(config_path)
    assert "phone.menu.4 = 'visum': unknown case type" in message
    assert f"{config_path}: phone.language_key = '9': the menu uses that key" in message


def test_the_public_url_must_be_an_http_base_url(config_path: Path) -> None:
    message = config_error(config_path, {"CONTACTD_PUBLIC_URL": "contact.example.dk"})
    assert "CONTACTD_PUBLIC_URL = 'contact.example.dk': must be the http(s) origin" in message
    loaded = settings.load(
        config_path,
        environ={
            "CONTACTD_PUBLIC_URL": "https://contact.example.dk",
            "CONTACTD_TWILIO_AUTH_TOKEN": "secret",
        },
    )
    assert (loaded.public_url, loaded.twilio_auth_token) == ("https://contact.example.dk", "secret")


# The languages of the phone line (issue 20)


def test_the_shipped_menu_keeps_every_case_type_and_offers_the_languages_on_one_key() -> None:
    loaded = settings.load(SHIPPED, environ={})
    assert loaded.phone.menu == {
        "1": "family", "2": "work", "3": "study", "4": "visa", "5": "asylum",
        "6": "extension", "7": "permanent", "8": "appeal", "0": "general",
    }  # fmt: skip
    assert loaded.phone.language_key == "9"
    # The language menu's keys: a menu of its own, so they may be the case-type menu's.
    assert loaded.phone.language_digits == {"en": "1", "ar": "2", "uk": "3", "tr": "4"}
    assert loaded.phone.voices["ar"] == "Polly.Zeina"


def test_the_old_english_key_is_refused_with_what_to_write_instead(config_path: Path) -> None:
    edit(config_path, 'language_key = "9"', 'english_digit = "9"\nlanguage_key = "9"')
    message = config_error(config_path)
    assert (
        f"{config_path}: phone.english_digit = '9': renamed; write phone.language_key = \"9\""
    ) in message
    from_env = config_error(SHIPPED, {"CONTACTD_PHONE__ENGLISH_DIGIT": "8"})
    assert (
        "environment CONTACTD_PHONE__ENGLISH_DIGIT: phone.english_digit = 8: renamed; "
        'write phone.language_key = "8"'
    ) in from_env


def test_the_language_key_on_the_closed_lines_offer_is_refused(config_path: Path) -> None:
    edit(config_path, 'language_key = "9"', 'language_key = "1"', section="phone")
    edit(config_path, '"1" = "family", ', "", section="phone")
    message = config_error(config_path)
    assert (
        f"{config_path}: phone.language_key = '1': the closed line's offer uses that key"
    ) in message


def test_the_language_digits_default_to_the_agencys_order_on_1_2_3(config_path: Path) -> None:
    edit(config_path, 'language_digits = { en = "1", ar = "2", uk = "3", tr = "4" }\n', "")
    loaded = settings.load(config_path, environ={})
    assert loaded.phone.language_digits is None
    assert loaded.phone.offered(loaded.wording.languages) == {
        "en": "1", "ar": "2", "uk": "3", "tr": "4",
    }  # fmt: skip


def test_more_languages_than_keys_must_be_given_their_keys(config_path: Path) -> None:
    edit(config_path, 'language_digits = { en = "1", ar = "2", uk = "3", tr = "4" }\n', "")
    twelve = '["da", "en", "ar", "uk", "tr", "de", "es", "fr", "it", "nb", "nl", "pl"]'
    edit(config_path, 'languages = ["da", "en", "ar", "uk", "tr"]', f"languages = {twelve}")
    message = config_error(config_path)
    assert (
        f"{config_path}: phone.language_digits: 11 other languages in [agency] languages and "
        "ten keys: set which the line offers"
    ) in message


def test_two_languages_on_one_key_are_refused(config_path: Path) -> None:
    edit(config_path, 'uk = "3"', 'uk = "2"', section="phone")
    message = config_error(config_path)
    assert f"{config_path}: phone.language_digits.uk = '2': 'ar' is on that key already" in message


def test_a_language_the_agency_does_not_serve_is_refused(config_path: Path) -> None:
    edit(config_path, 'tr = "4"', 'de = "4"', section="phone")
    message = config_error(config_path)
    assert f"{config_path}: phone.language_digits.de = '4': 'de' is not in [agency] languages" in (
        message
    )


def test_a_language_without_a_voice_of_twilios_is_refused_unless_one_is_set(
    config_path: Path,
) -> None:
    # Somali: served by the agency, but Twilio has no voice for it that contactd knows.
    edit(config_path, 'languages = ["da", "en", "ar", "uk", "tr"]',
         'languages = ["da", "en", "ar", "uk", "tr", "so"]')  # fmt: skip
    edit(config_path, 'tr = "4"', 'tr = "4", so = "5"', section="phone")
    message = config_error(config_path)
    assert (
        f"{config_path}: phone.voices.so: missing; the line offers it, and contactd knows no "
        "voice of Twilio's for 'so': set one"
    ) in message
    # With a voice set, the phone check passes (and the wording check, next, names Somali's
    # missing catalogs).
    edit(config_path, 'tr = "Polly.Filiz"', 'tr = "Polly.Filiz", so = "Google.so-SO-X"',
         section="phone")  # fmt: skip
    message = config_error(config_path)
    assert "phone.voices" not in message
    assert "agency: no catalog for the language 'so': so/phone.po is missing" in message


def test_the_language_key_and_digits_must_be_one_digit(config_path: Path) -> None:
    edit(config_path, 'ar = "2"', 'ar = "22"', section="phone")
    edit(config_path, 'language_key = "9"', 'language_key = "#"', section="phone")
    message = config_error(config_path)
    assert "phone.language_digits.ar = '22': String should match pattern '^[0-9]$'" in message
    assert "phone.language_key = '#': String should match pattern '^[0-9]$'" in message
