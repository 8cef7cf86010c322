"""The agency's name and wording (`[agency]`), and the catalogs every client-facing text comes
from (channels/wording.py), read and checked when the configuration loads: a missing message,
an unknown placeholder or an unknown language stops `check-config` and the start, named."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Protocol

from pydantic import Field, field_validator

from channels import wording
from contactd.settings.sections import ConfigError, LanguageCode, StrictSection

if TYPE_CHECKING:
    from contactd.settings.agency import CaseTypeConfig, QueueConfig

_WORD = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,30}$")]


class AgencyConfig(StrictSection):
    # The languages clients are served in: every catalog must have each of them.
    languages: list[LanguageCode] = Field(default_factory=lambda: ["da", "en"], min_length=1)
    # Where the agency's own catalogs are, beside contactd.toml: <locale_dir>/<lang>/<domain>.po
    # holds the messages it words otherwise (a missing folder: the shipped wording).
    locale_dir: str = "locale"
    # Language -> placeholder -> the agency's word: its name ({agency}, and {Agency} to begin
    # a sentence), its website, anything its messages name. Every language gives the same.
    words: dict[LanguageCode, dict[_WORD, Annotated[str, Field(min_length=1, max_length=200)]]] = (
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


class FileConfigNames(Protocol):
    """What check_names reads of the configuration file."""

    @property
    def agency(self) -> AgencyConfig: ...

    @property
    def queues(self) -> Mapping[str, QueueConfig]: ...


def check_names(
    config: FileConfigNames, types: Mapping[str, CaseTypeConfig], case_types_file: Path
) -> None:
    """Every case type and queue named in every language clients are served in: a client
    who reads Arabic sees the kiosk's tiles, hears the menu and reads the SMS in Arabic, not
    in English because a name was forgotten. Danish and English are always given."""
    further = [lang for lang in config.agency.languages if lang not in ("da", "en")]
    problems = [
        f"{case_types_file}: {code}.names: no name in {lang!r}, a language [agency] serves"
        for code, case_type in types.items()
        for lang in further
        if lang not in case_type.names
    ]
    problems += [
        f"queues.{code}.names: no name in {lang!r}, a language [agency] serves"
        for code, queue in config.queues.items()
        for lang in further
        if lang not in queue.names
    ]
    named = [*(t.names for t in types.values()), *(q.names for q in config.queues.values())]
    unserved = {lang for names in named for lang in names if lang not in config.agency.languages}
    problems += [
        f"names in {lang!r}: [agency] languages does not serve it; add it there or remove them"
        for lang in sorted(unserved)
    ]
    if problems:
        raise ConfigError("\n".join(problems))
