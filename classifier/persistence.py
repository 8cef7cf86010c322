"""The model file: skops, never pickle, so reading a file cannot run code.

The file holds the pipeline, the thresholds and the card. The vectorizers' vocabularies are
stored as arrays of terms rather than dicts: skops writes a dict entry by entry, which made
loading take 1.4 s; as arrays it takes a few hundredths of a second. The card is also written
beside the file as JSON, for people and tools to read.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import skops.io as sio
from sklearn.pipeline import Pipeline

from classifier.model import FORMAT, Card, Model

# The only types in the file beyond what skops trusts by default; anything else is refused.
TRUSTED = [
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
]


class ModelFileError(Exception):
    """The model file cannot be used; the message says which file and why."""


class NoModelFile(ModelFileError):
    """There is no model file yet."""


class OtherFormat(ModelFileError):
    """A contactd model file of another format: train a new one in its place."""


def card_path(path: Path) -> Path:
    return path.with_suffix(".card.json")


def save(model: Model, path: Path) -> None:
    """Write the model atomically (a reader sees the old file or the new one, never half)."""
    vectorizers = _vectorizers(model.pipeline)
    vocabularies = {
        name: np.array(sorted(v.vocabulary_, key=v.vocabulary_.__getitem__))
        for name, v in vectorizers
    }
    stored = [v.vocabulary_ for _, v in vectorizers]
    try:
        for _, v in vectorizers:
            del v.vocabulary_
        state = {
            "format": FORMAT,
            "pipeline": model.pipeline,
            "vocabularies": vocabularies,
            "thresholds": model.thresholds,
            "card": model.card.to_json(),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        _atomic(path, lambda f: sio.dump(state, f, compression=zipfile.ZIP_DEFLATED))
    finally:
        for (_, v), vocabulary in zip(vectorizers, stored, strict=True):
            v.vocabulary_ = vocabulary
    _atomic(card_path(path), lambda f: Path(f).write_text(model.card.to_json() + "\n"))


def load(path: Path) -> Model:
    try:
        state = sio.load(path, trusted=TRUSTED)
    except FileNotFoundError:
        raise NoModelFile(f"{path}: no model file yet") from None
    except (OSError, zipfile.BadZipFile, ValueError, TypeError, KeyError) as exc:
        # skops refuses untrusted types with a TypeError; a damaged file is a BadZipFile or
        # a KeyError/ValueError from its schema.
        raise ModelFileError(f"{path}: not a contactd model file ({exc})") from None
    found = state.get("format") if isinstance(state, dict) else None
    if not isinstance(found, int):
        raise ModelFileError(f"{path}: not a contactd model file (no model format in it)")
    if found != FORMAT:
        raise OtherFormat(f"{path}: model format {found}, this contactd reads {FORMAT}")
    try:
        pipeline = state["pipeline"]
        for name, vectorizer in _vectorizers(pipeline):
            terms = state["vocabularies"][name].tolist()
            vectorizer.vocabulary_ = {term: i for i, term in enumerate(terms)}
        return Model(
            pipeline=pipeline, thresholds=state["thresholds"], card=Card.from_json(state["card"])
        )
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise ModelFileError(f"{path}: not a contactd model file ({exc!r})") from None


def read_card(path: Path) -> Card | None:
    """The card beside a model file, or None when there is none or it cannot be read."""
    with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
        return Card.from_json(card_path(path).read_text())
    return None


def _vectorizers(pipeline: Pipeline) -> list[tuple[str, Any]]:
    return list(pipeline.steps[0][1].transformer_list)


def _atomic(path: Path, write: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the daemon may run as another user
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
