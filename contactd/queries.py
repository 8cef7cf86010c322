"""Named SQL queries from contactd/sql/queries.sql, read once at import."""

from __future__ import annotations

import re
from importlib import resources

_NAME = re.compile(r"^-- name: (\w+)\s*$", re.MULTILINE)


def _load() -> dict[str, str]:
    text = resources.files("contactd").joinpath("sql/queries.sql").read_text(encoding="utf-8")
    parts = _NAME.split(text)
    # parts = [preamble, name1, body1, name2, body2, ...]
    return {name: body.strip() for name, body in zip(parts[1::2], parts[2::2], strict=True)}


QUERIES = _load()


def get(name: str) -> str:
    """The text of a named query; a KeyError here is a typo in the code."""
    return QUERIES[name]
