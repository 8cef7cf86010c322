"""The SMS that confirms a callback and the acknowledgement of an e-mail, in every language
the shipped agency serves (issue 20): each in the client's language, with their case type's
name, processing goal and checklist in it, the reference, and no placeholder left unfilled."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from channels.email.acknowledge import AckSettings, acknowledgement
from channels.email.message import ParsedMail
from channels.phone.booking import Window, confirmation
from contactd import settings
from contactd.http.phone import phone_setup
from routing.contact import CaseTypeSource, Channel, Contact, Language, State
from tests.conftest import ROOT

CONFIG = settings.load(ROOT / "config" / "contactd.toml", environ={})
LANGUAGES = CONFIG.agency.languages
FAMILY = CONFIG.case_types["family"]
AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
# What each language says of family reunification: its name and its goal (10 months).
SAID = {
    "da": ("Familiesammenføring", "10 måneder"),
    "en": ("Family reunification", "10 months"),
    "ar": ("لمّ شمل الأسرة", "10 أشهر"),
    "uk": ("Возз’єднання сім’ї", "10 місяців"),
    "tr": ("Aile birleşimi", "10 ay"),
}


def _contact(lang: str, channel: Channel) -> Contact:
    language = Language(lang) if lang in ("da", "en") else Language.EN
    return Contact(
        id=1, reference="NUD9-E449", channel=channel, case_type="family",
        case_type_source=CaseTypeSource.FORM, confidence=None, language=language,
        queue="family", priority=20, state=State.QUEUED, created_at=AT, state_changed_at=AT,
        due_at=AT.replace(hour=12), external_id=None, client_address=None, subject=None,
        text=None, agent_id=None, attempts=0, outcome=None,
        client_language=None if lang in ("da", "en") else lang,
    )  # fmt: skip


def _in_their_language(text: str, lang: str) -> None:
    name, goal = SAID[lang]
    assert name in text
    assert goal in text
    assert FAMILY.checklist(lang) in text
    assert "NUD9-E449" in text
    assert "{" not in text  # every placeholder filled


def test_every_served_language_is_checked() -> None:
    assert set(SAID) == set(LANGUAGES)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_callback_sms_is_in_the_clients_language(lang: str) -> None:
    window = Window(AT, AT.replace(hour=11))
    sms = confirmation(
        _contact(lang, Channel.CALLBACK), "+4520123456", FAMILY, phone_setup(CONFIG),
        window=window,
    )  # fmt: skip

    _in_their_language(sms.payload["body"], lang)
    others = [other for other in LANGUAGES if other != lang]
    assert not any(SAID[other][1] in sms.payload["body"] for other in others if other != "en")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_acknowledgement_is_in_the_clients_language(lang: str) -> None:
    mail = ParsedMail(
        message_id="<m1@example.dk>", in_reply_to=(), references=(), subject="Familie",
        sender="client@example.dk", reply_to=None, authentication_results=(),
        return_path=None, headers={}, text="...", html=None, attachments=(), defects=0,
    )  # fmt: skip
    ack = acknowledgement(
        _contact(lang, Channel.EMAIL),
        mail,
        FAMILY,
        AckSettings(address="kontakt@nyidanmark.example", timezone=CONFIG.timezone,
                    wording=CONFIG.wording),
    )  # fmt: skip

    _in_their_language(ack.payload["text"], lang)
    assert "NUD9-E449" in ack.payload["subject"]
    assert ack.kind == "email"
