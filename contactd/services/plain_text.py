"""Figures and tables as plain text, the same in the terminal (`contactd report`, `whatif`,
`improvement`) and in the improvement report's mail."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

NO_FIGURE = "–"  # a figure over no contacts: never NaN, never 0


def percent(value: float | None) -> str:
    return NO_FIGURE if value is None else f"{value:.1%}"


def counted(n: int, word: str) -> str:
    """'1 agent', '3 agents': the staff-facing texts are English, whose plural is an s."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def duration(seconds: float | None) -> str:
    """H:MM:SS; hours go past 24 (an e-mail's wait may be days)."""
    if seconds is None:
        return NO_FIGURE
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def aligned(rows: Sequence[Sequence[str]], names: int) -> Iterator[str]:
    """Names left, figures right, as `contactd staffing` prints."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = zip(row, widths, strict=True)
        line = "  ".join(c.ljust(w) if i < names else c.rjust(w) for i, (c, w) in enumerate(cells))
        yield line.rstrip()
