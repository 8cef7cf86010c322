"""The case-type model: quality on the fixed test split and on the independent set, speed,
load time, size and memory.

    .venv/bin/python -m bench.classifier [--repeat 5] [--quality-only]

Quality: macro-F1, accuracy and per-class scores of the model's top guess on the corpus's
test split (as the model's card has them). Then, for the test split and beside it for the
independent set (classifier/data/independent/, written unlike the corpus and never trained
on): macro-F1 and accuracy of the raw top guess (the model's first guess, whatever its
confidence or the text's language), overall and per language, each with a 95 % bootstrap
interval (1,000 resamples of the texts, a fixed seed); the share the thresholds send to
triage, how often what is routed (not triaged) is right, how often the right case type is
among the three guesses staff see in triage; per style (non-native English, one-liners,
staff notes, ...) and per case type; the most frequent confusions. A table comparing the two
sets follows the JSON. With --quality-only, speed, load time and memory are not measured.

Speed on one core (BLAS and OpenMP threads pinned to one): texts per second in
batches of 256, and the latency of one text at a time (p50, p99) as intake sees it without
batching. Load time and file size of the skops file. Memory added to the daemon: the idle
RSS of `contactd run` with the classifier on (model loaded) minus with it off.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import psutil
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]  # no stubs, no py.typed

from bench.common import Daemon
from classifier import corpus, evaluation, model, persistence

INDEPENDENT = corpus.DATA / "independent"
RESAMPLES = 1000
SEED = 20261205  # the bootstrap's: the same texts and model give the same intervals
CONFUSIONS_SHOWN = 12


def _daemon_rss_mib(data: Path, classifier: bool) -> float:
    d = Daemon(data, env={"CONTACTD_CLASSIFIER__ENABLED": str(classifier).lower()})
    d.wait_ready()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with urllib.request.urlopen(d.url + "/health") as r:  # noqa: S310 - its own URL
            if json.loads(r.read())["classifier"] != "loading":
                break
        time.sleep(0.05)
    time.sleep(3)  # idle: leader elected, heartbeats running
    rss = psutil.Process(d.process.pid).memory_info().rss / 2**20
    d.stop()
    return rss


# --- quality on a set of labelled texts -----------------------------------------------------

Metric = Callable[[np.ndarray], float]  # of the indices of a resample


def _macro_f1(truth: np.ndarray, guess: np.ndarray, labels: int) -> float:
    """Macro-F1 over the case types that occur as truth or guess (scikit-learn's
    f1_score(average="macro") on integer-coded labels, without its overhead)."""
    if truth.size == 0:
        return float("nan")
    right = np.bincount(truth[truth == guess], minlength=labels)
    true_n = np.bincount(truth, minlength=labels)
    guess_n = np.bincount(guess, minlength=labels)
    seen = (true_n + guess_n) > 0
    f1 = 2 * right[seen] / (true_n[seen] + guess_n[seen])
    return float(f1.mean())


def _interval(metric: Metric, n: int, rng: np.random.Generator) -> list[float]:
    """The 95 % percentile bootstrap interval of a metric over n texts."""
    if n == 0:
        return [float("nan"), float("nan")]
    draws = rng.integers(0, n, size=(RESAMPLES, n))
    values = np.array([metric(row) for row in draws])
    low, high = np.nanpercentile(values, [2.5, 97.5])
    return [round(float(low), 4), round(float(high), 4)]


def _share(flags: np.ndarray) -> Metric:
    return lambda rows: float(flags[rows].mean())


def _routed_right(routed: np.ndarray, right: np.ndarray) -> Metric:
    def metric(rows: np.ndarray) -> float:
        chosen = routed[rows]
        return float(right[rows][chosen].mean()) if chosen.any() else float("nan")

    return metric


def _scores(
    truth: np.ndarray, raw: np.ndarray, labels: int, rows: np.ndarray, rng: np.random.Generator
) -> dict[str, Any]:
    """Macro-F1 and accuracy of the raw guess on the texts `rows`, with their intervals."""
    t, g = truth[rows], raw[rows]
    right = t == g
    return {
        "examples": int(rows.size),
        "macro_f1": round(_macro_f1(t, g, labels), 4),
        "macro_f1_ci95": _interval(lambda r: _macro_f1(t[r], g[r], labels), rows.size, rng),
        "accuracy": round(float(right.mean()), 4) if rows.size else float("nan"),
        "accuracy_ci95": _interval(_share(right), rows.size, rng),
    }


def quality(
    scorer: model.Scorer, examples: Sequence[corpus.Example], styles: dict[str, str]
) -> dict[str, Any]:
    """What staff and clients would see on these texts: the raw guess, triage, routing."""
    predictions = scorer.predict([e.text for e in examples])
    codes = sorted(set(scorer.classes) | {e.case_type for e in examples})
    index = {code: i for i, code in enumerate(codes)}
    truth = np.array([index[e.case_type] for e in examples])
    # The raw guess: the model's first guess, also below its threshold and for a text the
    # detector reads as neither Danish nor English (whose `guess` is general).
    raw = np.array([index[p.top[0][0] if p.top else p.guess] for p in predictions])
    routed = np.array([not p.unsure for p in predictions])
    routed_right = np.array(
        [p.case_type == e.case_type for p, e in zip(predictions, examples, strict=True)]
    )
    top3 = np.array(
        [
            e.case_type in {code for code, _ in p.top}
            for p, e in zip(predictions, examples, strict=True)
        ]
    )
    rng = np.random.default_rng(SEED)
    everything = np.arange(len(examples))
    result = _scores(truth, raw, len(codes), everything, rng)
    by_language = {
        lang: _scores(
            truth,
            raw,
            len(codes),
            np.array([i for i, e in enumerate(examples) if e.language == lang]),
            rng,
        )
        for lang in sorted({e.language for e in examples})
    }
    result["language"] = by_language
    if {"da", "en"} <= set(by_language):
        gap = abs(by_language["da"]["macro_f1"] - by_language["en"]["macro_f1"])
        result["language_gap_macro_f1"] = round(gap, 4)
    result |= {
        "sent_to_triage": round(float((~routed).mean()), 4),
        "sent_to_triage_ci95": _interval(_share(~routed), len(examples), rng),
        "read_as_other_language": round(
            sum(p.language == "other" for p in predictions) / len(predictions), 4
        ),
        "routed": int(routed.sum()),
        "routed_accuracy": round(float(routed_right[routed].mean()), 4),
        "routed_accuracy_ci95": _interval(_routed_right(routed, routed_right), len(examples), rng),
        "top3_accuracy": round(float(top3.mean()), 4),
        "top3_accuracy_ci95": _interval(_share(top3), len(examples), rng),
    }
    if styles:
        result["style"] = {
            style: _group(np.array([styles[e.id] == style for e in examples]), raw, truth, routed)
            for style in sorted(set(styles.values()))
        }
    result["case_type"] = {code: _group(truth == index[code], raw, truth, routed) for code in codes}
    confused = Counter(
        f"{codes[t]} -> {codes[g]}" for t, g in zip(truth, raw, strict=True) if t != g
    )
    result["confusions"] = dict(confused.most_common(CONFUSIONS_SHOWN))
    return result


def _group(
    members: np.ndarray, raw: np.ndarray, truth: np.ndarray, routed: np.ndarray
) -> dict[str, float | int]:
    """Accuracy of the raw guess on some texts (a style, a case type), and their triage."""
    right = raw[members] == truth[members]
    return {
        "examples": int(members.sum()),
        "accuracy": round(float(right.mean()), 4),
        "sent_to_triage": round(float((~routed[members]).mean()), 4),
    }


def independent_set(folder: Path = INDEPENDENT) -> tuple[list[corpus.Example], dict[str, str]]:
    """The independent set's texts (read as the corpus is), and each text's style by id."""
    examples = corpus.load(folder)
    styles = {
        item["id"]: item["style"]
        for path in sorted(folder.glob("*.jsonl"))
        for item in map(json.loads, path.read_text(encoding="utf-8").splitlines())
    }
    return examples, styles


def comparison(test: dict[str, Any], independent: dict[str, Any]) -> str:
    """The two sets side by side, for a reader of the terminal."""

    def ci(block: dict[str, Any], key: str) -> str:
        low, high = block[f"{key}_ci95"]
        return f"{block[key]:.3f} [{low:.3f}, {high:.3f}]"

    rows = [("texts", str(test["examples"]), str(independent["examples"]))]
    rows += [(key, ci(test, key), ci(independent, key)) for key in ("macro_f1", "accuracy")]
    for lang in ("da", "en"):
        for key in ("macro_f1", "accuracy"):
            rows.append(
                (
                    f"{key} ({lang})",
                    ci(test["language"][lang], key),
                    ci(independent["language"][lang], key),
                )
            )
    rows += [
        (key, ci(test, key), ci(independent, key))
        for key in ("sent_to_triage", "routed_accuracy", "top3_accuracy")
    ]
    width = max(len(r[0]) for r in rows)
    lines = [f"{'':<{width}}  {'test split':<24}  independent set"]
    lines += [f"{name:<{width}}  {a:<24}  {b}" for name, a, b in rows]
    lines.append("")
    lines.append("independent set, raw-guess accuracy by style:")
    for style, g in independent["style"].items():
        lines.append(
            f"  {style:<11} {g['accuracy']:.3f}  ({g['examples']} texts, "
            f"{g['sent_to_triage']:.0%} to triage)"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--quality-only",
        action="store_true",
        help="only the scores: no speed, load time or memory (no daemon started)",
    )
    args = parser.parse_args()
    examples = corpus.load()
    test = [e for e in examples if e.split == "test"]
    texts = [e.text for e in test]

    train_s = []
    for _ in range(3):
        started = time.perf_counter()
        trained = model.train(examples)
        train_s.append(time.perf_counter() - started)
    scores = evaluation.evaluate(trained, texts, [e.case_type for e in test])
    independent, styles = independent_set()
    sets = {
        "test_split": quality(trained, test, {}),
        "independent": quality(trained, independent, styles),
    }
    result: dict[str, Any] = {
        "test_examples": scores.examples,
        "macro_f1": scores.macro_f1,
        "accuracy": scores.accuracy,
        "sent_to_triage": scores.triaged,
        "per_class_f1": {code: s.f1 for code, s in scores.per_class.items()},
        "train_s": round(statistics.median(train_s), 2),
    }
    if not args.quality_only:
        result |= _speed_and_memory(trained, texts, args.repeat)
    result |= sets
    print(json.dumps(result, indent=2))
    print()
    print(comparison(sets["test_split"], sets["independent"]))


def _speed_and_memory(trained: model.Model, texts: list[str], repeat: int) -> dict[str, Any]:
    """Model file size and load time, speed on one core, and the daemon's idle RSS."""
    folder = Path(tempfile.mkdtemp(prefix="contactd-bench-classifier-"))
    path = folder / "case-types.skops"
    persistence.save(trained, path)
    file_mib = path.stat().st_size / 2**20
    load_s = []
    for _ in range(repeat):
        started = time.perf_counter()
        loaded = persistence.load(path)
        load_s.append(time.perf_counter() - started)

    with threadpool_limits(limits=1):
        batch_rates = []
        backlog = texts * 6  # 2,028 texts
        for _ in range(repeat):
            started = time.perf_counter()
            for i in range(0, len(backlog), 256):
                loaded.predict(backlog[i : i + 256])
            batch_rates.append(len(backlog) / (time.perf_counter() - started))
        single = []
        for _ in range(3):
            for text in texts:
                started = time.perf_counter()
                loaded.predict([text])
                single.append(time.perf_counter() - started)

    data = folder / "data"
    (data / "classifier").mkdir(parents=True)
    shutil.copy(path, data / "classifier" / path.name)
    shutil.copy(persistence.card_path(path), data / "classifier")
    rss_off = _daemon_rss_mib(data, classifier=False)
    rss_on = _daemon_rss_mib(data, classifier=True)
    shutil.rmtree(folder, ignore_errors=True)

    return {
        "model_file_mib": round(file_mib, 2),
        "load_s": round(statistics.median(load_s), 3),
        "batch_texts_per_s_one_core": round(statistics.median(batch_rates)),
        "single_ms": {
            "p50": round(float(np.percentile(single, 50)) * 1000, 2),
            "p99": round(float(np.percentile(single, 99)) * 1000, 2),
        },
        "daemon_idle_rss_mib": {
            "classifier_off": round(rss_off, 1),
            "classifier_on": round(rss_on, 1),
            "added": round(rss_on - rss_off, 1),
        },
    }


if __name__ == "__main__":
    main()
