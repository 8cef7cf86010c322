"""The agency's name and wording (`[agency]`), and the catalogs every client-facing text comes
from (channels/wording.py), read and checked when the configuration loads: a missing message,
an unknown placeholder or an unknown language stops `check-config` and the start, named."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator

from channels import wording
from contactd.settings.sections import ConfigError, StrictSection

_WORD = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,30}$")]
_LANGUAGE = Annotated[str, Field(pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")]


class AgencyConfig(StrictSection):
    # The languages clients are served in: every catalog must have each of them.
    languages: list[_LANGUAGE] = Field(default_factory=lambda: ["da", "en"], min_length=1)
    # Where the agency's own catalogs are, beside contactd.toml: <locale_dir>/<lang>/<domain>.po
    # holds the messages it words otherwise (a missing folder: the shipped wording).
    locale_dir: str = "locale"
    # Language -> placeholder -> the agency's word: its name ({agency}, and {Agency} to begin
    # a sentence), its website, anything its messages name. Every language gives the same.
    words: dict[_LANGUAGE, dict[_WORD, Annotated[str, Field(min_length=1, max_length=200)]]] = (
        Field(default_factory=dict)
    )

    @field_validator("languages")
    @classmethod
    def _once(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a language is named twice")
        return value


def read(config: AgencyConfig, folder: Path) -> wording.Wording:
    """The wording of every client language, the agency's catalogs over the shipped ones."""
    try:
        return wording.load(config.languages, config.words, overrides=folder / config.locale_dir)
    except wording.WordingError as exc:
        raise ConfigError("\n".join(f"agency: {p}" for p in exc.problems)) from None
