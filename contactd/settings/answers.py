"""Standard e-mail answers, kept as files an agency edits: `<folder>/<language>/<name>.j2`, a
Jinja2 template (sandboxed, strict: an unknown placeholder is an error) whose first line is a
comment naming it and the case types it is for:

    {# title: Dokumenter til familiesammenføring | case_types: family #}
    Kære klient

    Tak for din henvendelse (reference {{ reference }}). ...

`case_types` left out: for every case type. Every template is read and tried with sample values
when the configuration loads, so a broken one stops `check-config` and the start, never an
answer at the caseworker's desk."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

LANGUAGES = ("da", "en")
# What a template may use; the desk fills them from the contact and the caseworker.
PLACEHOLDERS = {
    "reference": "AAAA-AAAA",
    "case_type": "Familiesammenføring",
    "processing_goal": "10 months",
    "checklist_url": "https://example.dk/checklist",
    "answer_by": "04.12.2026",
    "caseworker": "Karin Holm",
}
_HEADER = re.compile(
    r"^\{#\s*title:\s*(?P<title>[^|#]+?)\s*(\|\s*case_types:\s*(?P<types>[^#]*?))?\s*#\}"
)
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
ENVIRONMENT = SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)


@dataclasses.dataclass(frozen=True, kw_only=True)
class AnswerTemplate:
    name: str
    language: str
    title: str
    case_types: frozenset[str]  # empty: every case type
    source: str

    def render(self, values: Mapping[str, Any]) -> str:
        return ENVIRONMENT.from_string(self.source).render(values)

    def fits(self, case_type: str, language: str) -> bool:
        return self.language == language and (not self.case_types or case_type in self.case_types)


def read(folder: Path, case_types: Collection[str]) -> tuple[tuple[AnswerTemplate, ...], list[str]]:
    """The templates in `folder` (none if it does not exist), and what is wrong with them."""
    found: list[AnswerTemplate] = []
    problems: list[str] = []
    for language in LANGUAGES:
        for path in sorted((folder / language).glob("*.j2")) if folder.is_dir() else ():
            where = f"{path}"
            try:
                found.append(_template(path, language, case_types))
            except (ValueError, OSError, UnicodeError, jinja2.TemplateError) as exc:
                problems.append(f"{where}: {exc}")
    return tuple(found), problems


def _template(path: Path, language: str, case_types: Collection[str]) -> AnswerTemplate:
    name = path.name.removesuffix(".j2")
    if not _NAME.fullmatch(name):
        raise ValueError("a name of lower-case letters, digits, '_' and '-' (then .j2)")
    source = path.read_text(encoding="utf-8")
    header = _HEADER.match(source)
    if header is None:
        raise ValueError("the first line must be {# title: … | case_types: … #}")
    types = frozenset(t.strip() for t in (header["types"] or "").split(",") if t.strip())
    unknown = sorted(types - set(case_types))
    if unknown:
        raise ValueError(f"unknown case types {', '.join(unknown)}")
    template = AnswerTemplate(
        name=name,
        language=language,
        title=header["title"],
        case_types=types,
        source=source[header.end() :].lstrip("\n"),
    )
    template.render(PLACEHOLDERS)  # an unknown placeholder or a syntax error: now, not later
    return template
