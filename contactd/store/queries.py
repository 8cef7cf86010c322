"""Named SQL queries from contactd/store/sql/*.sql (all but schema.sql), read once at import.

queries.sql holds the core's; a feature with many queries keeps them in a file of its own
(statistics.sql, csat.sql). A name may be used once across all of them.
"""

from __future__ import annotations

import re
from importlib import resources

_NAME = re.compile(r"^-- name: (\w+)\s*$", re.MULTILINE)


def _load() -> dict[str, str]:
    found: dict[str, str] = {}
    folder = resources.files("contactd.store").joinpath("sql")
    for file in sorted(folder.iterdir(), key=lambda f: f.name):
        if not file.name.endswith(".sql") or file.name == "schema.sql":
            continue
        parts = _NAME.split(file.read_text(encoding="utf-8"))
        # parts = [preamble, name1, body1, name2, body2, ...]
        for name, body in zip(parts[1::2], parts[2::2], strict=True):
            if name in found:
                raise RuntimeError(f"sql/{file.name}: query {name!r} is named twice")
            found[name] = body.strip()
    return found


QUERIES = _load()


def get(name: str) -> str:
    """The text of a named query; a KeyError here is a typo in the code."""
    return QUERIES[name]
