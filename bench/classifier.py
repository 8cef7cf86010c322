"""The case-type model: quality on the fixed test split, speed, load time, size and memory.

    .venv/bin/python -m bench.classifier [--repeat 5]

Quality: macro-F1, accuracy and per-class scores of the model's top guess on the corpus's
test split. Speed on one core (BLAS and OpenMP threads pinned to one): texts per second in
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
from pathlib import Path

import numpy as np
import psutil
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]  # no stubs, no py.typed

from bench.common import Daemon
from classifier import corpus, evaluation, model, persistence


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
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

    folder = Path(tempfile.mkdtemp(prefix="contactd-bench-classifier-"))
    path = folder / "case-types.skops"
    persistence.save(trained, path)
    file_mib = path.stat().st_size / 2**20
    load_s = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        loaded = persistence.load(path)
        load_s.append(time.perf_counter() - started)

    with threadpool_limits(limits=1):
        batch_rates = []
        backlog = texts * 6  # 2,028 texts
        for _ in range(args.repeat):
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

    result = {
        "test_examples": scores.examples,
        "macro_f1": scores.macro_f1,
        "accuracy": scores.accuracy,
        "sent_to_triage": scores.triaged,
        "per_class_f1": {code: s.f1 for code, s in scores.per_class.items()},
        "train_s": round(statistics.median(train_s), 2),
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
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
