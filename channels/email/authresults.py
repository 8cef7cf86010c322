"""What the receiving mail server found when it checked who sent a mail: its
Authentication-Results header (RFC 8601), reduced to what a caseworker can act on.

Any sender can write an Authentication-Results header claiming anything, so only the headers of
the agency's own receiving server count, named by the authserv-id it writes
(`[email.mailboxes.<name>] authserv_ids`); of those the top one, which the server added last.
Without a configured authserv-id nothing is believed: the verdict is None, "not checked".

The verdict is DMARC's when the server gives one (it checks the address in From, the one
contactd answers), else SPF's and DKIM's; each folded into pass, fail or none. A small reader
of the header's grammar rather than a dependency: only the result of each method is needed.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

# RFC 7489 (dmarc), RFC 7208 (spf), RFC 6376 (dkim) results, as a caseworker reads them.
_FAILED = {"fail", "softfail", "hardfail", "permerror", "policy"}
_RESULT = re.compile(r"\s*([A-Za-z0-9_.-]+)\s*=\s*([A-Za-z0-9_-]+)")


def verdict(headers: Sequence[str], authserv_ids: Collection[str]) -> dict[str, str] | None:
    """{"dmarc": "pass"|"fail"|"none"}, or {"spf": ..., "dkim": ...} when the receiving server
    did not check DMARC; None when no receiving server is named to believe."""
    ours = {a.lower() for a in authserv_ids}
    if not ours:
        return None
    for header in headers:
        head, _, rest = _without_comments(header).partition(";")
        words = head.split()
        if not words or words[0].lower() not in ours:
            continue
        results = _results(rest)
        if "dmarc" in results:
            return {"dmarc": _folded(results["dmarc"])}
        found: dict[str, str] = {
            method: _folded(results[method]) for method in ("spf", "dkim") if method in results
        }
        return found or {"dmarc": "none"}
    return {"dmarc": "none"}  # the receiving server said nothing about this mail


def _results(text: str) -> dict[str, list[str]]:
    """Each method's results ("dkim" may come once per signature)."""
    found: dict[str, list[str]] = {}
    for statement in text.split(";"):
        match = _RESULT.match(statement)
        if match:
            found.setdefault(match.group(1).lower(), []).append(match.group(2).lower())
    return found


def _folded(results: list[str]) -> str:
    if "pass" in results:
        return "pass"
    return "fail" if any(r in _FAILED for r in results) else "none"


def _without_comments(text: str) -> str:
    """The header without its (comments), which may nest and hold ';' or '='; a quoted
    string is kept but emptied, since it may hold them too."""
    out: list[str] = []
    depth, quoted, escaped = 0, False, False
    for char in text:
        if escaped:  # a quoted pair: its character means nothing
            escaped = False
        elif char == "\\" and (quoted or depth):
            escaped = True
        elif quoted:
            if char == '"':
                quoted = False
                out.append(char)
        elif char == "(":
            depth += 1
        elif char == ")" and depth:
            depth -= 1
        elif depth == 0:
            quoted = char == '"'
            out.append(char)
    return "".join(out)
