"""The classifier corpus: every case type, enough examples, a fixed test split."""

from __future__ import annotations

import json
import tomllib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "classifier" / "data"
KEYS = {"id", "case_type", "channel", "language", "subject", "text", "split"}


def _items() -> list[dict[str, str]]:
    return [
        json.loads(line)
        for path in sorted(DATA.glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
    ]


def test_every_case_type_has_at_least_120_examples_and_a_test_split() -> None:
    with (ROOT / "config" / "case_types.toml").open("rb") as f:
        codes = set(tomllib.load(f))
    items = _items()
    per_type = Counter(i["case_type"] for i in items)
    assert set(per_type) == codes
    assert min(per_type.values()) >= 120
    tests = Counter(i["case_type"] for i in items if i["split"] == "test")
    assert all(tests[c] >= 20 for c in codes)


def test_items_are_well_formed_and_unique() -> None:
    items = _items()
    assert all(set(i) == KEYS for i in items)
    assert all(i["channel"] in {"email", "callback", "ticket"} for i in items)
    assert all(i["language"] in {"da", "en", "mixed"} for i in items)
    assert len({i["id"] for i in items}) == len(items)
    texts = [i["text"] for i in items if i["text"].strip()]
    assert len(set(texts)) == len(texts)
