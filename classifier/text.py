"""Text clean-up before classifying: the client's own words, not the thread around them.

Quoted earlier mails, forwarded headers, signatures after the '-- ' marker, HTML tags and
control characters go; what is left is cut at MAX_CHARS (long mails say what they are about
early, and the cut bounds the time one text can take).
"""

from __future__ import annotations

import html
import re

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
_TAG = re.compile(r"<[^>]{0,500}>")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SPACES = re.compile(r"[ \t\u00a0]+")


def clean(text: str) -> str:
    """The text to classify: without quotes, signature, tags and control characters."""
    text = text[: MAX_CHARS * 4]  # bound the work before the regexes run
    if "<" in text and ">" in text:
        text = html.unescape(_TAG.sub(" ", text))
    text = _CONTROL.sub(" ", text)
    kept = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if _SIGNATURE.match(line) or _QUOTE_START.match(line) or _starts_header_block(lines, i):
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
