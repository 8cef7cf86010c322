"""The corpus in classifier/data: one JSONL file per case type, with a fixed test split, and
styles.jsonl, training texts written as clients and staff really write (one-liners, staff
notes, non-native English, missing diacritics)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Example:
    id: str
    case_type: str
    channel: str
    language: str
    text: str  # subject and body together, as intake classifies them
    split: str


def load(folder: Path = DATA) -> list[Example]:
    examples = []
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            examples.append(
                Example(
                    id=item["id"],
                    case_type=item["case_type"],
                    channel=item["channel"],
                    language=item["language"],
                    text=" ".join(t for t in (item["subject"], item["text"]) if t),
                    split=item["split"],
                )
            )
    return examples


def fingerprint(examples: Sequence[Example]) -> str:
    """A hash of the examples (whatever file they came from), recorded in the model card."""
    digest = hashlib.sha256()
    for e in sorted(examples, key=lambda e: e.id):
        digest.update(json.dumps([e.id, e.case_type, e.split, e.text]).encode())
    return digest.hexdigest()[:16]
