"""The independent evaluation set (classifier/data/independent/): inquiries written unlike the
corpus, to measure the classifier on, never to train on. Enough of every case type, both
languages in each, every style; well formed; not copied from the corpus; never loaded as
training data."""

from __future__ import annotations

import json
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from classifier import corpus, model

ROOT = Path(__file__).resolve().parents[2]
FOLDER = corpus.DATA / "independent"
KEYS = {"id", "case_type", "channel", "language", "subject", "text", "split", "style"}
STYLES = {"non_native", "short", "staff_note", "mixed", "misspelled", "forwarded", "two_types"}
NEAR_DUPLICATE = 0.6  # character 5-gram Jaccard at which a text counts as copied


def _case_types() -> set[str]:
    with (ROOT / "config" / "case_types.toml").open("rb") as f:
        return set(tomllib.load(f))


def _items() -> list[dict[str, Any]]:
    return [
        {**json.loads(line), "file": path.stem}
        for path in sorted(FOLDER.glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
    ]


def _grams(text: str) -> frozenset[str]:
    flat = " ".join(text.lower().split())
    return frozenset(flat[i : i + 5] for i in range(max(len(flat) - 4, 1)))


def test_every_case_type_has_30_inquiries_with_12_or_more_in_each_language() -> None:
    items = _items()
    per_type = Counter(i["case_type"] for i in items)
    assert set(per_type) == _case_types()
    assert min(per_type.values()) >= 30
    per_language = Counter((i["case_type"], i["language"]) for i in items)
    assert {k: n for k, n in per_language.items() if n < 12} == {}
    assert all(per_language[(code, lang)] for code in per_type for lang in ("da", "en"))


def test_every_case_type_has_every_style() -> None:
    items = _items()
    assert {i["style"] for i in items} == STYLES
    styles = {code: {i["style"] for i in items if i["case_type"] == code} for code in _case_types()}
    assert {code: STYLES - found for code, found in styles.items() if found != STYLES} == {}


def test_items_are_well_formed() -> None:
    codes = _case_types()
    for item in _items():
        fields = set(item) - {"file"}
        assert fields == KEYS | ({"also"} if item["style"] == "two_types" else set()), item["id"]
        assert item["case_type"] in codes, item["id"]
        assert item["file"] == item["case_type"], item["id"]
        assert item["channel"] in {"email", "callback", "ticket"}, item["id"]
        assert item["language"] in {"da", "en"}, item["id"]
        assert item["split"] == "independent", item["id"]
        assert (item["subject"] + item["text"]).strip(), item["id"]
        if "also" in item:
            assert item["also"] in codes - {item["case_type"]}, item["id"]


def test_ids_are_unique_and_not_the_corpus_ids() -> None:
    ids = [i["id"] for i in _items()]
    assert len(set(ids)) == len(ids)
    assert set(ids).isdisjoint(e.id for e in corpus.load())


def test_no_text_is_a_near_duplicate_of_a_corpus_text() -> None:
    """Written fresh: no inquiry shares 60 % of its character 5-grams with a corpus text (of
    any case type: a copy under another label would be worse than one under the same)."""
    known = [(e.id, _grams(e.text)) for e in corpus.load()]
    copied = []
    for example in corpus.load(FOLDER):
        grams = _grams(example.text)
        for corpus_id, other in known:
            smaller, larger = sorted((len(grams), len(other)))
            if smaller < NEAR_DUPLICATE * larger:
                continue  # the Jaccard index cannot reach the limit
            if len(grams & other) / len(grams | other) >= NEAR_DUPLICATE:
                copied.append((example.id, corpus_id))
    assert copied == []


def test_the_corpus_loader_never_returns_the_independent_set() -> None:
    """corpus.load() reads the corpus folder's own files, not its subfolders: the set is
    neither trained on nor in the test split."""
    loaded = corpus.load()
    assert {e.split for e in loaded} == {"train", "test"}
    assert {e.id for e in loaded}.isdisjoint(i["id"] for i in _items())
    texts = {e.text for e in loaded}
    assert texts.isdisjoint(e.text for e in corpus.load(FOLDER))
    corpus_lines = sum(
        len(p.read_text(encoding="utf-8").splitlines()) for p in corpus.DATA.glob("*.jsonl")
    )
    assert len(loaded) == corpus_lines


def test_the_trained_model_saw_only_the_corpus_train_split(trained: model.Model) -> None:
    train_split = [e for e in corpus.load() if e.split == "train"]
    assert trained.card.train_examples == len(train_split)
    assert trained.card.corpus == corpus.fingerprint(corpus.load())


@pytest.mark.parametrize("style", sorted(STYLES))
def test_each_style_is_in_both_languages(style: str) -> None:
    languages = Counter(i["language"] for i in _items() if i["style"] == style)
    assert languages["da"] >= 13
    assert languages["en"] >= 13
