"""Text clean-up before classifying: the client's own words, not the thread around them.

Quoted earlier mails, forwarded headers, signatures after the '-- ' marker, HTML tags and
control characters go; what is left is cut at MAX_CHARS (long mails say what they are about
early, and the cut bounds the time one text can take).
"""

from __future__ import annotations

import html
import re
import unicodedata

MAX_CHARS = 20_000

# A line that starts the quoted part of a reply: everything from it on is someone else's.
_QUOTE_START = re.compile(
    r"^\s*(?:"
    r"-{2,}\s*(?:original message|oprindelig meddelelse|forwarded message"
    r"|videresendt(?: meddelelse| besked)?)\s*-*"
    r"|(?:on|den|d\.)\s.{0,200}\b(?:wrote|skrev)\b.{0,200}:"
    r")\s*$",
    re.IGNORECASE,
)
# Outlook quotes an earlier mail as a header block: From/Fra, then Sent/To/Subject lines.
_HEADER_FROM = re.compile(r"^\s*(?:from|fra)\s*:", re.IGNORECASE)
_HEADER_NEXT = re.compile(r"^\s*(?:sent|sendt|to|til|date|dato|subject|emne|cc)\s*:", re.IGNORECASE)
_SIGNATURE = re.compile(r"^-- ?$")
# A line alone that closes the client's words: a sign-off, a phone's footer, a forwarded
# mail's header or a disclaimer. What follows is a signature, a disclaimer or someone else's.
_CLOSING = re.compile(
    r"^\s*(?:"
    r"(?:(?:med\s+)?venlig(?:st)?\s+hilsen|mvh\.?|vh\.?|hilsen|de\s+bedste\s+hilsner"
    r"|(?:kind|best|warm|many)\s+regards|regards|best|best\s+wishes|sincerely"
    r"|yours\s+(?:sincerely|faithfully)|thanks(?:\s+in\s+advance)?|thank\s+you|cheers)"
    r"\s*[,.!]?\s*$"
    r"|(?:sent\s+from\s+my|sendt\s+fra\s+min|get\s+outlook\s+for)\b"
    r"|begin\s+forwarded\s+message\s*:"
    r"|(?:confidentiality\s+notice|disclaimer|this\s+(?:e-?mail|message)\s+(?:and\s+any|has\s+been"
    r"|was\s+sent|is\s+intended|may\s+contain)|denne\s+e-?mail\s+(?:kan|er))"
    r")",
    re.IGNORECASE,
)
_TAG = re.compile(r"<[^>]{0,500}>")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SPACES = re.compile(r"[ \t\u00a0]+")
# Danish letters as they are written without a Danish keyboard; other accents are dropped.
_FOLD = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa", "ß": "ss"})


def clean(text: str) -> str:
    """The text to classify: without quotes, signature, tags and control characters."""
    text = text[: MAX_CHARS * 4]  # bound the work before the regexes run
    if "<" in text and ">" in text:
        text = html.unescape(_TAG.sub(" ", text))
    text = _CONTROL.sub(" ", text)
    kept = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if (
            _SIGNATURE.match(line)
            or _CLOSING.match(line)
            or _QUOTE_START.match(line)
            or _starts_header_block(lines, i)
        ):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(_SPACES.sub(" ", line).strip())
    return "\n".join(line for line in kept if line)[:MAX_CHARS]


def _starts_header_block(lines: list[str], i: int) -> bool:
    """A From/Fra line followed by another header line: the client's own words may start
    with 'Fra:' too, so one such line alone is not enough."""
    if not _HEADER_FROM.match(lines[i]):
        return False
    following = [line for line in lines[i + 1 : i + 4] if line.strip()]
    return bool(following) and bool(_HEADER_NEXT.match(following[0]))


def fold(text: str) -> str:
    """Lower case, Danish letters spelt out and other accents dropped: the form the model
    reads, so that "ægtefælle" and "aegtefaelle", "opholdstilladelse" and a phone's
    "opholdstiladelse" share most of their character n-grams."""
    spelt = text.lower().translate(_FOLD)
    if spelt.isascii():
        return spelt
    decomposed = unicodedata.normalize("NFKD", spelt)
    return "".join(c for c in decomposed if not unicodedata.combining(c))
