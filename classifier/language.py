"""Which language a text is in: Danish, English or other, from common function words.

Good enough to choose the reply's language and to flag other languages for staff; the
case-type model itself reads both languages.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-zæøåé]+")
_DA = frozenset(
    [
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
    ]
)
_EN = frozenset(
    [
        "and",
        "the",
        "is",
        "are",
        "to",
        "of",
        "in",
        "for",
        "my",
        "i",
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
    ]
)


def detect(text: str) -> str:
    """'da', 'en' or 'other' (also for text with too few words to tell)."""
    words = _WORD.findall(text.lower())
    danish = sum(w in _DA for w in words) + 2 * sum(c in "æøå" for c in text.lower()[:2000])
    english = sum(w in _EN for w in words)
    if max(danish, english) < 2:
        return "other"
    return "da" if danish >= english else "en"
