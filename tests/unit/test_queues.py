"""Choosing the queue of a new contact from the configured queues."""

from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo

import pytest

from routing.calendar import BusinessCalendar, Interval
from routing.contact import Channel
from routing.goals import ServiceGoal, Threshold
from routing.queues import NoQueue, Queue, choose_queue

CALENDAR = BusinessCalendar(
    timezone=ZoneInfo("Europe/Copenhagen"),
    hours=dict.fromkeys(range(5), (Interval(start=time(9, 0), end=time(15, 0)),)),
)


def queue(code: str, case_types: set[str], channels: set[Channel], priority: int = 0) -> Queue:
    return Queue(
        code=code,
        name_da=code,
        name_en=code,
        case_types=frozenset(case_types),
        channels=frozenset(channels),
        goals={
            ch: ServiceGoal(threshold=Threshold.parse("5 minutes"), target=0.8) for ch in channels
        },
        priority=priority,
        calendar=CALENDAR,
    )


ALL_CHANNELS = set(Channel)
VISA_PHONE = queue("visa_phone", {"visa"}, {Channel.CALL, Channel.CALLBACK})
VISA = queue("visa", {"visa"}, ALL_CHANNELS, priority=10)
FAMILY = queue("family", {"family"}, ALL_CHANNELS, priority=50)
GENERAL = queue("general", {"general", "visa", "family"}, ALL_CHANNELS)
QUEUES = (VISA_PHONE, VISA, FAMILY, GENERAL)


def test_first_configured_queue_taking_case_type_and_channel_is_chosen() -> None:
    chosen = choose_queue(QUEUES, case_type="visa", channel=Channel.CALL)

    assert chosen.code == "visa_phone"


def test_queue_not_taking_the_channel_is_passed_over() -> None:
    chosen = choose_queue(QUEUES, case_type="visa", channel=Channel.EMAIL)

    assert chosen.code == "visa"


def test_configuration_order_wins_over_queue_priority() -> None:
    chosen = choose_queue((GENERAL, FAMILY), case_type="family", channel=Channel.TICKET)

    assert chosen.code == "general"


def test_requested_queue_is_honoured_over_the_configured_order() -> None:
    chosen = choose_queue(QUEUES, case_type="visa", channel=Channel.CALL, requested="general")

    assert chosen.code == "general"


def test_unknown_requested_queue_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(NoQueue) as refused:
        choose_queue(QUEUES, case_type="visa", channel=Channel.CALL, requested="visas")

    assert str(refused.value) == ("unknown queue 'visas'; known: visa_phone, visa, family, general")


def test_requested_queue_not_taking_the_channel_is_refused() -> None:
    with pytest.raises(NoQueue) as refused:
        choose_queue(QUEUES, case_type="visa", channel=Channel.EMAIL, requested="visa_phone")

    assert str(refused.value) == "queue 'visa_phone' does not take email contacts"


def test_case_type_no_queue_takes_on_the_channel_is_refused() -> None:
    with pytest.raises(NoQueue) as refused:
        choose_queue((VISA_PHONE,), case_type="visa", channel=Channel.TICKET)

    assert str(refused.value) == "no queue takes case type 'visa' on channel ticket"
