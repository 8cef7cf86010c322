"""Any agency can run contactd in its own words (issue 20): the shipped agency's name and web
addresses are configuration (config/) and wording (channels/locale/), never code. A text
that names them in Python, JavaScript or HTML would speak for the Danish Immigration Service
at every other agency."""

from __future__ import annotations

import re

from tests.conftest import ROOT

# The shipped agency's names and web addresses, as the code might have written them.
AGENCY = re.compile(
    r"Udlændingestyrelsen|Udlaendingestyrelsen|Immigration Service|nyidanmark|\buim\.dk|\bus\.dk\b",
    re.IGNORECASE,
)
CODE = ("contactd", "channels", "routing", "classifier", "simulator", "bench")
SUFFIXES = {".py", ".js", ".html", ".j2"}


def test_no_code_names_the_shipped_agency() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for package in CODE
        for path in sorted((ROOT / package).rglob("*"))
        if path.suffix in SUFFIXES and path.is_file()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if AGENCY.search(line)
    ]
    assert found == []


def test_the_search_finds_what_it_looks_for() -> None:
    """The pattern is not blind: it finds the names as the old code wrote them."""
    for text in ("Velkommen til Udlændingestyrelsen.", "the Danish Immigration Service",
                 "https://www.nyidanmark.dk/da", "www.us.dk"):  # fmt: skip
        assert AGENCY.search(text), text
    assert not AGENCY.search("status.dk, focus.dk")
