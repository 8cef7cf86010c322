"""Every text a client hears or reads, from gettext catalogs an agency can change without
touching the code (issue 20).

The project ships one catalog per language and domain (`channels/locale/<lang>/<domain>.po`:
"phone" for what the IVR says, ...); an agency overrides any message in a file of the same
name under `locale/` beside its contactd.toml, which needs to hold only the messages it
changes. Messages are named by ids ("ivr.welcome") and written as Python format strings
whose placeholders are named ("Du er nummer {position} i køen."); the agency's own words
(`[agency]`: its name, its website) are placeholders every message may use. Catalogs are
read with Babel, so each language has its own plural rules ("ngettext").

`load` reads and checks everything at start-up and at `contactd check-config`: a language
without a catalog, a message missing or left empty in a language, a placeholder the message
does not have, a plural with the wrong number of forms or a file Babel cannot read is an
error naming the file, the message and the fault, never a crash at a caller's ear.
"""

from __future__ import annotations

import dataclasses
import io
import string
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from babel.core import Locale, UnknownLocaleError
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import PoFileError, read_po
from babel.support import Translations
from babel.units import format_unit

from routing.queues import CaseType, ProcessingGoal

SHIPPED = Path(__file__).parent / "locale"
REFERENCE = "en"  # its messages and placeholders are what every other language must match
DOMAINS = ("phone", "sms", "email", "pages")


class WordingError(Exception):
    """The catalogs cannot be used as they are; `problems` says each fault, one per line."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = tuple(problems)


@dataclasses.dataclass(frozen=True)
class Wording:
    """The messages of every language, checked, with the agency's words filled in."""

    languages: tuple[str, ...]
    _translations: Mapping[tuple[str, str], Translations]
    # Each catalog's messages that are not plural, id -> text, as read: what `messages` lists.
    _texts: Mapping[tuple[str, str], Mapping[str, str]]
    _agency: Mapping[str, Mapping[str, str]]  # language -> placeholder -> the agency's word

    def text(self, domain: str, lang: str, message: str, /, **values: object) -> str:
        """The message in `lang`, its placeholders filled in."""
        said = self._translations[domain, lang].gettext(message)
        return said.format(**self._agency.get(lang, {}), **values)

    def plural(self, domain: str, lang: str, message: str, n: int, /, **values: object) -> str:
        """The form of the message for `n` by the language's plural rules; `n` is `{n}`."""
        said = self._translations[domain, lang].ngettext(message, message, n)
        return said.format(**self._agency.get(lang, {}), n=n, **values)

    def messages(self, domain: str, lang: str) -> dict[str, str]:
        """Every message of the domain in `lang`, id -> text, for a page that fills in the
        rest itself: the agency's words are filled in, a message's own placeholders ({time})
        are left as written. Plural messages are left out: a page cannot apply the catalog's
        plural rule."""
        words = self._agency.get(lang, {})
        said: dict[str, str] = {}
        for key, text in self._texts[domain, lang].items():
            parts: list[str] = []
            for literal, field, spec, conversion in string.Formatter().parse(text):
                parts.append(literal)
                if field is None:
                    continue
                if field in words:
                    parts.append(format(words[field], spec or ""))
                else:
                    parts.append(f"{{{field}{'!' + conversion if conversion else ''}"
                                 f"{':' + spec if spec else ''}}}")  # fmt: skip
            said[key] = "".join(parts)
        return said

    def has(self, lang: str) -> bool:
        return lang in self.languages

    def promise(self, domain: str, lang: str, case_type: CaseType) -> dict[str, str]:
        """What every channel tells a client about their case type, in `lang`: its name
        `{name}`, its processing goal `{goal}` ("10 måneder": Babel words the unit in each
        language from the CLDR; the domain's `goal.none` for a case type without one) and
        its checklist `{url}`, the one in `lang` if it has one."""
        goal = case_type.processing_goal
        return {
            "name": case_type.name(lang),
            "goal": goal_in(lang, goal) if goal else self.text(domain, lang, "goal.none"),
            "url": case_type.checklist(lang),
        }

    def served(self, *preferred: str | None) -> str:
        """The first of the `preferred` languages the agency serves (a contact's `reads`),
        else its first client language."""
        return next((lang for lang in preferred if lang and lang in self.languages),
                    self.languages[0])  # fmt: skip


def goal_in(lang: str, goal: ProcessingGoal) -> str:
    """A processing goal in `lang`, as the CLDR words it: "10 måneder", "15 gün"."""
    return format_unit(goal.amount, f"duration-{goal.unit}", length="long", locale=lang)


def load(
    languages: Sequence[str],
    agency: Mapping[str, Mapping[str, str]],
    *,
    overrides: Path | None = None,
    shipped: Path = SHIPPED,
    domains: Sequence[str] = DOMAINS,
) -> Wording:
    """The catalogs of `languages`, the shipped ones with the agency's `overrides` (a folder
    of `<lang>/<domain>.po`) laid over them; WordingError lists every fault found."""
    problems: list[str] = []
    catalogs: dict[tuple[str, str], Catalog] = {}
    for lang in dict.fromkeys([REFERENCE, *languages]):
        try:
            Locale.parse(lang)
        except (ValueError, UnknownLocaleError):
            problems.append(f"{lang!r} is not a language Babel knows (use a code such as 'da')")
            continue
        for domain in domains:
            found = _read(lang, domain, shipped, overrides, problems)
            if found is not None:
                catalogs[domain, lang] = found
    words = set(_agency_words(agency))
    for domain in domains:
        # The shipped reference, not the agency's: an override may not invent placeholders.
        reference = _read(REFERENCE, domain, shipped, None, [])
        if reference is None:
            continue
        for lang in dict.fromkeys([REFERENCE, *languages]):
            if (domain, lang) in catalogs:
                name = f"{lang}/{domain}.po"
                problems += _compare(reference, catalogs[domain, lang], name, words)
    for lang, words_of in agency.items():
        if lang not in languages:
            problems.append(f"[agency] has words for {lang!r}, which is not a client language")
        missing = words - set(words_of)
        problems += [f"[agency] has no {w!r} in {lang!r}" for w in sorted(missing)]
    if problems:
        raise WordingError(problems)
    return Wording(
        languages=tuple(languages),
        _translations={key: _translations(c) for key, c in catalogs.items()},
        _texts={key: _texts(c) for key, c in catalogs.items()},
        _agency=agency,
    )


def _read(
    lang: str, domain: str, shipped: Path, overrides: Path | None, problems: list[str]
) -> Catalog | None:
    """The shipped catalog of a language with the agency's messages laid over it."""
    files = [f for f in (shipped / lang / f"{domain}.po",
                         overrides / lang / f"{domain}.po" if overrides else None)
             if f is not None and f.is_file()]  # fmt: skip
    if not files:
        problems.append(f"no catalog for the language {lang!r}: {lang}/{domain}.po is missing")
        return None
    merged: Catalog | None = None
    for file in files:
        try:
            data = file.read_bytes()
            _quotes_closed(data.decode("utf-8"))
            read = read_po(io.BytesIO(data), locale=lang, domain=domain, abort_invalid=True)
        except (PoFileError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
            problems.append(f"{file}: cannot be read: {exc}")
            return None
        if merged is None:
            merged = read
            continue
        for message in read:  # the agency's wording replaces the shipped (not merged)
            if message.id and message.string:
                merged.delete(message.id, message.context)
                merged[message.id] = message
    return merged


def _quotes_closed(text: str) -> None:
    """Babel reads a string without its closing quote as if the last character were one,
    which would cut a message short in silence."""
    for number, line in enumerate(text.splitlines(), start=1):
        quoted = line.strip()
        if quoted.startswith(("msg", '"')) and not (quoted.endswith('"') and len(quoted) > 1):
            raise ValueError(f"line {number} has a string without its closing quote")


def _compare(reference: Catalog, catalog: Catalog, name: str, agency: set[str]) -> list[str]:
    """What the catalog lacks or gets wrong, message by message, against the reference. The
    agency's words (`agency`) may be used in any message."""
    problems: list[str] = []
    forms = catalog.num_plurals
    for message in reference:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        found = catalog.get(message.id)
        if found is None or found.fuzzy:
            problems.append(f"{name}: {key!r} is not translated")
            continue
        strings = _strings(found.string)
        given = [s for s in strings if s]
        if message.pluralizable and given and len(given) < forms:
            # Babel pads the forms a catalog left out with empty strings.
            problems.append(f"{name}: {key!r} needs {forms} plural forms, has {len(given)}")
            continue
        if not strings or not all(strings):
            problems.append(f"{name}: {key!r} is not translated")
            continue
        if message.pluralizable and len(strings) != forms:
            problems.append(f"{name}: {key!r} needs {forms} plural forms, has {len(strings)}")
        allowed = {p for s in _strings(message.string) for p in _placeholders(s)}
        allowed |= agency | ({"n"} if message.pluralizable else set())
        for said in strings:
            for unknown in sorted(_placeholders(said) - allowed):
                problems.append(f"{name}: {key!r} has the unknown placeholder {{{unknown}}}")
    return problems


def _strings(value: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _placeholders(text: str) -> set[str]:
    try:
        return {field for _, field, _, _ in string.Formatter().parse(text) if field}
    except ValueError:
        return {f"(a stray brace in {text!r})"}


def _agency_words(agency: Mapping[str, Mapping[str, str]]) -> Iterable[str]:
    """The agency's words that every language must give: those any language gives."""
    return {word for words in agency.values() for word in words}


def _texts(catalog: Catalog) -> dict[str, str]:
    return {
        m.id: m.string
        for m in catalog
        if m.id and isinstance(m.id, str) and isinstance(m.string, str) and m.string
    }


def _translations(catalog: Catalog) -> Translations:
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(fp=compiled, domain=catalog.domain)
