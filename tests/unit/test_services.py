"""The services' decisions that need no database: promises, requeueing and refusals made
before anything is stored. Each service is given a pool that fails the test if touched, so a
refusal here is also proof that nothing was written."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from channels import wording
from contactd import settings
from contactd.clock import FixedClock
from contactd.metrics import NOT_RECORDED
from contactd.services import surveys
from contactd.services.intake import Intake, IntakeError
from contactd.services.ticket_sms import near_turn_sms
from contactd.services.tickets import BadPhone, Tickets
from routing.contact import CaseTypeSource, Channel, Contact, Language, NewContact, State

ROOT = Path(__file__).resolve().parents[2]
CPH = ZoneInfo("Europe/Copenhagen")
FRIDAY_1300 = datetime(2027, 3, 5, 13, 0, tzinfo=CPH)
CONFIG = settings.load(ROOT / "config" / "contactd.toml", environ={})


class Untouchable:
    """A pool that must not be used: the decision is made before the database."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the database was used ({name})")


NO_DATABASE = cast(asyncpg.Pool, Untouchable())


def _intake() -> Intake:
    return Intake(NO_DATABASE, CONFIG, clock=FixedClock(FRIDAY_1300), recorder=NOT_RECORDED)


def test_a_call_is_promised_an_answer_within_its_queue_s_minutes_of_wall_time() -> None:
    assert _intake().promise("asylum", Channel.CALL, FRIDAY_1300) == datetime(
        2027, 3, 5, 13, 3, tzinfo=CPH
    )


def test_a_callback_booked_an_hour_before_friday_s_closing_is_due_on_monday_morning() -> None:
    # 4 working hours on the phone line's calendar: 13-14 on Friday, 09-12 on Monday.
    due = _intake().promise("family", Channel.CALLBACK, FRIDAY_1300)
    assert due == datetime(2027, 3, 8, 12, 0, tzinfo=CPH)


def _contact(queue: str, case_type: str, channel: Channel = Channel.EMAIL) -> Contact:
    return Contact(
        id=1,
        reference="K-TEST",
        channel=channel,
        case_type=case_type,
        case_type_source=CaseTypeSource.STAFF,
        confidence=None,
        language=Language.DA,
        queue=queue,
        priority=0,
        state=State.QUEUED,
        created_at=FRIDAY_1300,
        state_changed_at=FRIDAY_1300,
        due_at=FRIDAY_1300,
        external_id=None,
        client_address=None,
        subject=None,
        text=None,
        agent_id=None,
        attempts=0,
        outcome=None,
    )


def test_a_contact_re_enters_its_own_queue_while_the_configuration_has_it() -> None:
    assert _intake().requeue_to(_contact("family", "family")).code == "family"


def test_a_contact_whose_queue_was_removed_re_enters_the_queue_of_its_case_type() -> None:
    assert _intake().requeue_to(_contact("no-longer-configured", "asylum")).code == "asylum"


async def test_an_unknown_case_type_is_refused_before_anything_is_stored() -> None:
    new = NewContact(channel=Channel.EMAIL, case_type="astrology", text="Mit horoskop")
    with pytest.raises(IntakeError, match="unknown case type 'astrology'; known: asylum, family"):
        await _intake().submit(new, actor="test")


def _tickets() -> Tickets:
    return Tickets(
        NO_DATABASE,
        _intake(),
        CONFIG,
        CONFIG.tickets,
        region="DK",
        countries=["DK"],
        wording=CONFIG.wording,
        phone_calendar=CONFIG.calendars[CONFIG.phone.calendar],
        clock=FixedClock(FRIDAY_1300),
        recorder=NOT_RECORDED,
    )


@pytest.mark.parametrize("phone", ["12", "+44 20 7946 0000 1234", "not a number"])
async def test_a_ticket_for_a_number_that_cannot_be_texted_is_refused_first(phone: str) -> None:
    with pytest.raises(BadPhone):
        await _tickets().issue(
            case_type="family",
            language=Language.DA,
            priority="normal",
            phone=phone,
            request_id=None,
            staff_id=1,
            actor="frida",
        )


async def test_a_ticket_for_an_unknown_case_type_is_refused_first() -> None:
    with pytest.raises(IntakeError, match="unknown case type"):
        await _tickets().issue(
            case_type="astrology",
            language=Language.DA,
            priority="normal",
            phone=None,
            request_id=None,
            staff_id=1,
            actor="frida",
        )


def _reach(**changes: Any) -> surveys.Reach:
    values: dict[str, Any] = {
        "public_url": "https://contact.example.dk",
        "sms": True,
        "email_address": "kontakt@example.dk",
        **changes,
    }
    return surveys.Reach(**values)


def _surveys(reach: surveys.Reach) -> surveys.Surveys:
    return surveys.Surveys(
        NO_DATABASE,
        CONFIG,
        CONFIG.csat,
        reach,
        wording=CONFIG.wording,
        clock=FixedClock(FRIDAY_1300),
        recorder=NOT_RECORDED,
    )


def test_a_survey_link_is_the_public_address_with_the_token() -> None:
    reach = _reach(public_url="https://contact.example.dk/")
    assert _surveys(reach).url("abc") == "https://contact.example.dk/s/abc"


async def test_without_a_public_url_no_survey_is_asked_and_the_database_is_not_read() -> None:
    assert await _surveys(_reach(public_url=None)).ask_due() == 0


async def test_with_no_sender_at_all_no_survey_is_asked() -> None:
    assert await _surveys(_reach(sms=False, email_address=None)).ask_due() == 0


WORDS = {"da": {"agency": "Borgerservice", "Agency": "Borgerservice", "website": "kommune.dk"}}


def test_a_ticket_sms_counts_the_tickets_ahead_in_the_plural_forms_the_agency_gives(
    tmp_path: Path,
) -> None:
    (tmp_path / "da").mkdir()
    (tmp_path / "da" / "sms.po").write_text(
        'msgid ""\nmsgstr ""\n"Language: da\\n"\n'
        '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n\n'
        'msgid "ticket.near"\nmsgid_plural "ticket.near"\n'
        'msgstr[0] "{Agency}: {number} kaldes snart. {n} person foran dig."\n'
        'msgstr[1] "{Agency}: {number} kaldes snart. {n} personer foran dig."\n',
        encoding="utf-8",
    )
    words = wording.load(["da"], WORDS, overrides=tmp_path)

    assert [near_turn_sms(words, "A004", n, "da") for n in (0, 1, 3)] == [
        "Borgerservice: Dit nummer A004 kaldes op som det næste.",
        "Borgerservice: A004 kaldes snart. 1 person foran dig.",
        "Borgerservice: A004 kaldes snart. 3 personer foran dig.",
    ]


def test_a_ticket_in_a_language_the_agency_does_not_serve_is_texted_in_its_first() -> None:
    words = wording.load(["da"], WORDS)

    assert near_turn_sms(words, "A001", 0, "en") == (
        "Borgerservice: Dit nummer A001 kaldes op som det næste."
    )
