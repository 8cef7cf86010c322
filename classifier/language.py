"""Which language a text is in: Danish, English or other, from common function words.

Good enough to choose the reply's language and to flag other languages for staff; the
case-type model itself reads both languages.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-zæøåé]+")
_DA = frozenset(
    [
        "af",
        "en",
        "et",
        "han",
        "hun",
        "hans",
        "hendes",
        "skal",
        "hvis",
        "fra",
        "efter",
        "sin",
        "sit",
        "sine",
        "være",
        "blive",
        "spørger",
        "ringer",
        "borger",
        "gerne",
        "mig",
        "os",
        "der",
        "eller",
        "men",
        "nu",
        "ja",
        "nej",
        "kommer",
        "blev",
        "fået",
        "søge",
        "søger",
        "og",
        "at",
        "det",
        "er",
        "jeg",
        "du",
        "ikke",
        "den",
        "til",
        "på",
        "med",
        "for",
        "har",
        "som",
        "min",
        "mit",
        "mine",
        "vi",
        "kan",
        "vil",
        "om",
        "hvad",
        "hvor",
        "hvornår",
        "hej",
        "tak",
        "venlig",
        "hilsen",
        "jeres",
        "sag",
        "ansøgning",
        "opholdstilladelse",
        "også",
        # words of the case types, for one-liners and notes without function words
        "ophold",
        "opholdskort",
        "tilladelse",
        "arbejdstilladelse",
        "familiesammenføring",
        "genindrejsetilladelse",
        "forlængelse",
        "visum",
        "ægtefælle",
        "opkald",
        "ringede",
        "borgeren",
        "ingen",
        "besked",
        "hurtigst",
        "muligt",
        "hvordan",
        "hvorfor",
        "kort",
        "gebyr",
        "svar",
    ]
)
_EN = frozenset(
    [
        "if",
        "he",
        "she",
        "it",
        "this",
        "that",
        "with",
        "from",
        "about",
        "asks",
        "caller",
        "be",
        "do",
        "does",
        "would",
        "need",
        "on",
        "an",
        "was",
        "his",
        "her",
        "our",
        "want",
        "get",
        "or",
        "but",
        "yes",
        "no",
        "me",
        "us",
        "there",
        "apply",
        "applied",
        "and",
        "the",
        "is",
        "are",
        "to",
        "of",
        "in",
        "for",
        "my",
        "you",
        "we",
        "can",
        "will",
        "what",
        "when",
        "where",
        "how",
        "hello",
        "thanks",
        "regards",
        "dear",
        "your",
        "please",
        "application",
        "permit",
        "case",
        "have",
        "has",
        "not",
        # words of the case types, for one-liners and notes without function words
        "am",
        "residence",
        "status",
        "requirements",
        "requirement",
        "card",
        "received",
        "new",
        "after",
        "student",
        "study",
        "work",
        "hours",
        "limit",
        "processing",
        "time",
        "family",
        "spouse",
        "reunification",
        "housing",
        "permanent",
        "years",
        "many",
        "abroad",
        "still",
        "valid",
        "phone",
        "number",
        "list",
        "scheme",
        "wants",
        "asked",
        "called",
        "back",
    ]
)


SHORT = 8  # words: a text this short is told by one known word, a longer one needs two


def detect(text: str) -> str:
    """'da', 'en' or 'other' (also for text with too few known words to tell).

    A one-liner or a staff note ("PR requirements 2026", "residence card not received")
    rarely has two function words; one known word tells it, as long as the text is short
    and not in another script."""
    words = _WORD.findall(text.lower())
    danish = sum(w in _DA for w in words) + 2 * sum(c in "æøå" for c in text.lower()[:2000])
    english = sum(w in _EN for w in words)
    needed = 1 if len(words) <= SHORT and script_language(text) is None else 2
    if max(danish, english) < needed:
        return "other"
    return "da" if danish >= english else "en"


def script_language(text: str) -> str | None:
    """A language that is neither Danish nor English, told by its script or its letters:
    'ar' (Arabic script), 'uk' (Cyrillic with Ukrainian letters), 'ru' (other Cyrillic), 'tr'
    (Turkish letters); None when the text gives no such sign. A signal for what the client
    reads, not a classifier: a mixed text counts what most of its letters are."""
    letters = [c for c in text[:4000] if c.isalpha()]
    if not letters:
        return None
    arabic = sum("\u0600" <= c <= "\u06ff" for c in letters)
    cyrillic = sum("\u0400" <= c <= "\u04ff" for c in letters)
    if arabic > len(letters) / 3:
        return "ar"
    if cyrillic > len(letters) / 3:
        return "uk" if any(c in "іїєґІЇЄҐ" for c in letters) else "ru"
    turkish = sum(c in "ğışİĞŞ" for c in letters)
    if turkish >= 2 and turkish > sum(c in "æøåÆØÅ" for c in letters):
        return "tr"
    return None
