"""The corpus in classifier/data: one JSONL file per case type, with a fixed test split."""

from __future__ import annotations

import dataclasses
import hashlib
import json
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


def fingerprint(folder: Path = DATA) -> str:
    """A hash of the corpus files, recorded in the model card."""
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.jsonl")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
