"""Scores of a model on labelled examples: macro-F1, accuracy, per-class precision and recall,
and the confusion matrix. Computed on the fixed test split when a model is trained."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

if TYPE_CHECKING:
    from classifier.model import Scorer


@dataclasses.dataclass(frozen=True, kw_only=True)
class ClassScores:
    precision: float
    recall: float
    f1: float
    support: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class Scores:
    examples: int
    macro_f1: float
    accuracy: float
    per_class: dict[str, ClassScores]
    labels: list[str]
    confusion: list[list[int]]  # rows: the true case type; columns: the model's guess
    triaged: float  # the share sent to general triage for low confidence


def evaluate(model: Scorer, texts: Sequence[str], truth: Sequence[str]) -> Scores:
    """Scores of the model's top guess (what staff see), whatever its confidence."""
    predictions = model.predict(texts)
    guesses = [p.guess for p in predictions]
    labels = sorted(set(model.classes) | set(truth))
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, guesses, labels=labels, zero_division=0
    )
    per_class = {
        code: ClassScores(
            precision=round(float(p), 4),
            recall=round(float(r), 4),
            f1=round(float(f), 4),
            support=int(s),
        )
        for code, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
    }
    return Scores(
        examples=len(truth),
        macro_f1=round(float(f1.mean()), 4),
        accuracy=round(float(accuracy_score(truth, guesses)), 4),
        per_class=per_class,
        labels=labels,
        confusion=confusion_matrix(truth, guesses, labels=labels).tolist(),
        triaged=round(sum(p.unsure for p in predictions) / max(len(predictions), 1), 4),
    )


def report(scores: Scores) -> str:
    """The scores as a plain-text table, for `contactd evaluate`."""
    width = max(len(code) for code in scores.labels)
    lines = [
        f"examples {scores.examples}  macro-F1 {scores.macro_f1:.3f}  "
        f"accuracy {scores.accuracy:.3f}  sent to triage {scores.triaged:.1%}",
        "",
        f"{'case type':<{width}}  precision  recall     f1  support",
    ]
    for code, s in scores.per_class.items():
        lines.append(
            f"{code:<{width}}  {s.precision:9.3f}  {s.recall:6.3f}  {s.f1:5.3f}  {s.support:7d}"
        )
    lines += ["", "confusion matrix (rows: true case type, columns: the model's guess)"]
    short = [code[:6] for code in scores.labels]
    lines.append(" " * width + "  " + " ".join(f"{s:>6}" for s in short))
    for code, row in zip(scores.labels, scores.confusion, strict=True):
        lines.append(f"{code:<{width}}  " + " ".join(f"{n:6d}" for n in row))
    return "\n".join(lines)


def write_png(scores: Scores, path: Path) -> None:
    """The confusion matrix as a picture. matplotlib is imported here only: the daemon never
    draws, so it never pays for loading it."""
    import matplotlib

    matplotlib.use("Agg")  # no screen: draw to a file
    import matplotlib.pyplot as plt
    import numpy as np
    from sklearn.metrics import ConfusionMatrixDisplay

    display = ConfusionMatrixDisplay(np.array(scores.confusion), display_labels=scores.labels)
    figure, axes = plt.subplots(figsize=(11, 10))
    display.plot(ax=axes, cmap="Blues", colorbar=False, xticks_rotation=60)
    axes.set_title(
        f"Case types: macro-F1 {scores.macro_f1:.3f}, accuracy {scores.accuracy:.3f} "
        f"({scores.examples} texts)"
    )
    axes.set_xlabel("the model's guess")
    axes.set_ylabel("true case type")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
