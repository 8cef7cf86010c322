"""Phone numbers as contactd reads them: E.164, refused when they cannot or must not be called."""

from __future__ import annotations

import pytest

from channels.phone.numbers import BadNumber, normalise


def test_a_danish_number_written_without_its_code_is_read_as_danish() -> None:
    assert normalise("20 12 34 56", "DK", countries=["DK"]) == "+4520123456"


@pytest.mark.parametrize("number", ["+44 7911 123456", "+1 202 555 0142", "+880 1812 345678"])
def test_a_number_outside_the_allowed_countries_is_refused(number: str) -> None:
    with pytest.raises(BadNumber) as refused:
        normalise(number, "DK", countries=["DK"])
    assert refused.value.reason == "country_not_allowed"
    assert str(refused.value) == "we only call numbers in DK"


def test_an_allowed_foreign_country_is_called() -> None:
    assert normalise("+46 70 123 45 67", "DK", countries=["DK", "SE"]) == "+46701234567"


def test_without_an_allow_list_any_valid_country_is_read() -> None:
    assert normalise("+46 70 123 45 67", "DK") == "+46701234567"
