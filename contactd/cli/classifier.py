"""`contactd classify`, `train` and `evaluate`: the case-type model from the command line.

classify and evaluate need no database. `train --with-feedback` reads staff corrections from
the same database `run` uses. scikit-learn is imported only when one of these runs, so the
other commands (and `run`) start without it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Coroutine, Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from classifier.corpus import Example
from contactd.services import classification
from contactd.settings import Settings
from contactd.store import database, queries

if TYPE_CHECKING:
    from classifier.model import Model, Prediction

BATCH = 256  # lines classified together by --jsonl

FeedbackReader = Callable[[], Coroutine[Any, Any, list[Example]]]


def add_parsers(
    sub: Any, with_data_dir: Callable[[argparse.ArgumentParser], argparse.ArgumentParser]
) -> None:
    def with_model(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument(
            "--model",
            type=Path,
            help="the model file (default: [classifier] model, else "
            "<data dir>/classifier/case-types.skops; trained there if missing)",
        )
        return with_data_dir(p)

    classify = with_model(
        sub.add_parser("classify", help="print the case type of a text (or of each JSON line)")
    )
    classify.add_argument("text", nargs="?", help="the text; read from stdin when left out")
    classify.add_argument(
        "--jsonl",
        metavar="FILE",
        help="classify a batch: one JSON object with a 'text' field per line ('-': stdin); "
        "writes one JSON line per input line",
    )
    train = with_model(sub.add_parser("train", help="train the model and write it"))
    train.add_argument(
        "--with-feedback",
        action="store_true",
        help="also learn from the case types staff corrected (reads the database)",
    )
    evaluate = with_model(
        sub.add_parser("evaluate", help="score the model on the corpus's fixed test split")
    )
    evaluate.add_argument(
        "--png",
        type=Path,
        default=Path("confusion-matrix.png"),
        help="where to draw the confusion matrix (default: ./confusion-matrix.png)",
    )


def run(config: Settings, args: argparse.Namespace, feedback: FeedbackReader) -> int:
    from classifier.persistence import ModelFileError

    if args.command == "classify" and args.text is not None and args.jsonl is not None:
        print("contactd: give a TEXT or --jsonl FILE, not both", file=sys.stderr)
        return 2
    path = args.model or classification.model_path(config)
    try:
        match args.command:
            case "classify":
                return _classify(classification.load_or_train(path), args)
            case "train":
                return _train(path, asyncio.run(feedback()) if args.with_feedback else [])
            case _:
                return _evaluate(classification.load_or_train(path), args.png)
    except ModelFileError as exc:
        print(f"contactd: {exc}; move it away to train a new one", file=sys.stderr)
        return 1


def _classify(trained: Model, args: argparse.Namespace) -> int:
    if args.jsonl is None:
        text = args.text if args.text is not None else sys.stdin.read()
        [p] = trained.predict([text])
        verdict = f"sent to general triage: {_why_triage(p)}" if p.unsure else "routed"
        print(f"case type   {p.guess} ({p.confidence:.2f}), {verdict}")
        print(f"runner-up   {p.runner_up} ({p.runner_up_confidence:.2f})")
        print(f"language    {p.language}")
        return 0
    if args.jsonl == "-":
        return _classify_lines(trained, sys.stdin, sys.stdout)
    try:
        with open(args.jsonl, encoding="utf-8", errors="replace") as lines:
            return _classify_lines(trained, lines, sys.stdout)
    except OSError as exc:
        print(f"contactd: cannot read {args.jsonl}: {exc.strerror}", file=sys.stderr)
        return 1


def _why_triage(p: Prediction) -> str:
    if not p.top:
        return "nothing to read"
    if p.language == "other":
        return "not Danish or English"
    return "below its threshold"


def _classify_lines(trained: Model, lines: IO[str], out: IO[str]) -> int:
    """One output line per input line, in order; a bad line gets an error line, not a stop."""
    bad = 0
    for chunk in _chunks(enumerate(lines, start=1), BATCH):
        texts: list[str] = []
        parsed: list[tuple[int, dict[str, Any] | str]] = []
        for number, line in chunk:
            item = _item(line)
            parsed.append((number, item))
            if isinstance(item, dict):
                texts.append(item["text"])
        predictions = iter(trained.predict(texts))
        for number, item in parsed:
            if isinstance(item, str):
                bad += 1
                out.write(json.dumps({"line": number, "error": item}) + "\n")
                continue
            answer = {"id": item["id"]} if "id" in item else {}
            out.write(json.dumps(answer | _answer(next(predictions)), ensure_ascii=False) + "\n")
        out.flush()
    if bad:
        print(f"contactd: {bad} line(s) could not be classified (see their error)", file=sys.stderr)
    return 1 if bad else 0


def _item(line: str) -> dict[str, Any] | str:
    """The line's object, or why it cannot be classified."""
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        return f"not JSON: {exc.msg} at column {exc.colno}"
    if not isinstance(item, dict) or not isinstance(item.get("text"), str):
        return "needs an object with a 'text' string"
    return item


def _answer(p: Prediction) -> dict[str, Any]:
    return {
        "case_type": p.case_type,
        "guess": p.guess,
        "confidence": round(p.confidence, 4),
        "unsure": p.unsure,
        "runner_up": p.runner_up,
        "runner_up_confidence": round(p.runner_up_confidence, 4),
        "language": p.language,
    }


def _chunks(items: Iterator[Any] | enumerate[str], size: int) -> Iterator[list[Any]]:
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _train(path: Path, feedback: Sequence[Example]) -> int:
    from classifier import corpus, model, persistence

    trained = model.train(corpus.load(), feedback)
    persistence.save(trained, path)
    card = trained.card
    print(
        f"model {card.version} written to {path}\n"
        f"trained on {card.train_examples} texts ({card.feedback} staff corrections); "
        f"test split: macro-F1 {card.test.macro_f1:.3f}, accuracy {card.test.accuracy:.3f}\n"
        f"running daemons pick it up within [classifier] reload_seconds"
    )
    return 0


def _evaluate(trained: Model, png: Path) -> int:
    from classifier import corpus, evaluation

    test = [e for e in corpus.load() if e.split == "test"]
    scores = evaluation.evaluate(trained, [e.text for e in test], [e.case_type for e in test])
    print(f"model {trained.card.version} ({trained.card.feedback} staff corrections)")
    print(evaluation.report(scores))
    try:
        evaluation.write_png(scores, png)
    except OSError as exc:
        print(f"contactd: cannot write {png}: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"\nconfusion matrix drawn in {png}")
    return 0


async def read_feedback(conn: database.Conn) -> list[Example]:
    rows = await conn.fetch(queries.get("corrections_for_training"))
    return [
        Example(
            id=f"correction-{r['id']}",
            case_type=r["case_type"],
            channel=r["channel"],
            language=r["language"],
            text=" ".join(t for t in (r["subject"], r["body"]) if t),
            split="train",
        )
        for r in rows
    ]
