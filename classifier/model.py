"""The case-type model: word and character n-gram TF-IDF and a calibrated linear SVM.

The model reads the cleaned text folded (text.fold: lower case, æ ø å spelt out, accents
dropped). Training is deterministic (no randomness in the pipeline; the folds are chosen by a
hash of each example's id). Per-class confidence thresholds are chosen on predictions for
each held-out fold of the training data; below its class's threshold a prediction goes to
general triage.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import sklearn
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline, make_pipeline, make_union
from sklearn.svm import LinearSVC

from classifier import language, text
from classifier.corpus import Example, fingerprint
from classifier.evaluation import ClassScores, Scores, evaluate

TRIAGE = "general"
TOP = 3  # guesses kept for staff to choose from in triage
TARGET_PRECISION = 0.97  # a prediction at or above its threshold is right this often
MIN_PREDICTIONS = 20  # of a class on validation, to choose its own threshold
FOLDS = 5  # of the training data, each held out once to choose the thresholds
FORMAT = 1  # of the model file; a file of another format is retrained, not read


def _code_fingerprint() -> str:
    """A change to how text is cleaned, read or modelled makes stored models stale."""
    digest = hashlib.sha256()
    for module in (text, language):
        digest.update(Path(module.__file__ or "").read_bytes())
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()[:16]


CODE = _code_fingerprint()


@dataclasses.dataclass(frozen=True, kw_only=True)
class Card:
    """What a model was built from and how well it does, stored in its file."""

    version: str  # a hash of the format, the code, the scikit-learn version and the examples
    format: int
    created_at: str
    sklearn: str
    code: str  # fingerprint of the code that cleans and reads text (CODE)
    corpus: str  # fingerprint of the corpus examples
    feedback: int  # staff corrections trained on
    train_examples: int
    thresholds: dict[str, float]
    test: Scores  # on the corpus's fixed test split, never used for training

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), ensure_ascii=False, indent=2)

    @classmethod
    def from_json(cls, raw: str) -> Card:
        data = json.loads(raw)
        test = data.pop("test")
        test["per_class"] = {k: ClassScores(**v) for k, v in test["per_class"].items()}
        return cls(**data, test=Scores(**test))


@dataclasses.dataclass(frozen=True, kw_only=True)
class Prediction:
    case_type: str  # the code to route by: the model's guess, or general when unsure
    guess: str  # the model's top guess, shown to staff in triage
    confidence: float
    runner_up: str
    runner_up_confidence: float
    language: str
    unsure: bool
    top: tuple[tuple[str, float], ...] = ()  # the TOP guesses, most likely first


@dataclasses.dataclass(kw_only=True)
class Scorer:
    """A fitted pipeline and its thresholds: what predicts."""

    pipeline: Pipeline
    thresholds: dict[str, float]

    @property
    def classes(self) -> list[str]:
        return [str(c) for c in self.pipeline.classes_]

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        cleaned = [text.clean(t) for t in texts]
        filled = [i for i, t in enumerate(cleaned) if t]
        probabilities = (
            self.pipeline.predict_proba([text.fold(cleaned[i]) for i in filled]) if filled else []
        )
        by_index = dict(zip(filled, probabilities, strict=True))
        return [self._one(cleaned[i], by_index.get(i)) for i in range(len(texts))]

    def _one(self, cleaned: str, p: np.ndarray | None) -> Prediction:
        lang = language.detect(cleaned)
        if p is None:  # nothing left to read: empty, only a signature or a quote
            return Prediction(
                case_type=TRIAGE,
                guess=TRIAGE,
                confidence=0.0,
                runner_up=TRIAGE,
                runner_up_confidence=0.0,
                language=lang,
                unsure=True,
            )
        order = np.argsort(p)[::-1][:TOP]
        first, second = order[:2]
        top = tuple((self.classes[i], float(p[i])) for i in order)
        if lang == "other":
            # Neither Danish nor English: the model was not trained on it, whatever it
            # says. Triage, with its guesses kept for staff who read the language.
            return Prediction(
                case_type=TRIAGE,
                guess=TRIAGE,
                confidence=0.0,
                runner_up=self.classes[first],
                runner_up_confidence=float(p[first]),
                language=lang,
                unsure=True,
                top=top,
            )
        guess = self.classes[first]
        confidence = float(p[first])
        unsure = confidence < self.thresholds.get(guess, 0.5)
        return Prediction(
            case_type=TRIAGE if unsure else guess,
            guess=guess,
            confidence=confidence,
            runner_up=self.classes[second],
            runner_up_confidence=float(p[second]),
            language=lang,
            unsure=unsure,
            top=top,
        )


@dataclasses.dataclass(kw_only=True)
class Model(Scorer):
    """A trained model, with its card: what is stored, loaded and served."""

    card: Card


def build() -> Pipeline:
    features = make_union(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2),
    )
    # One SVM calibrated on cross-validated predictions (ensemble=False): as good on the test
    # split as five, and a fifth of the size to store and load.
    svm = LinearSVC(C=0.5, random_state=0)
    return make_pipeline(features, CalibratedClassifierCV(svm, cv=5, ensemble=False))


def _fold(example: Example) -> int:
    """Which of FOLDS parts of the training data an example is held out in."""
    return hashlib.sha256(example.id.encode()).digest()[0] % FOLDS


def train(examples: Sequence[Example], feedback: Sequence[Example] = ()) -> Model:
    """Fit on the train split (and staff corrections); thresholds from predictions on each
    held-out fold of it by a model fitted on the other folds; then refit on all of it. The
    test split is only scored, after training."""
    train_split = [e for e in examples if e.split == "train"] + list(feedback)
    held_out: list[tuple[Example, Prediction]] = []
    for fold in range(FOLDS):
        fit_part = [e for e in train_split if _fold(e) != fold]
        validation = [e for e in train_split if _fold(e) == fold]
        probe = Scorer(pipeline=build().fit(*_xy(fit_part)), thresholds={})
        held_out += validation_predictions(probe, validation)
    thresholds = choose_thresholds(held_out, sorted({e.case_type for e in train_split}))
    scorer = Scorer(pipeline=build().fit(*_xy(train_split)), thresholds=thresholds)
    test = [e for e in examples if e.split == "test"]
    corpus_hash = fingerprint(examples)
    built_from = f"{FORMAT} {CODE} {sklearn.__version__} {corpus_hash} {fingerprint(feedback)}"
    card = Card(
        version=hashlib.sha256(built_from.encode()).hexdigest()[:12],
        format=FORMAT,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        sklearn=sklearn.__version__,
        code=CODE,
        corpus=corpus_hash,
        feedback=len(feedback),
        train_examples=len(train_split),
        thresholds=thresholds,
        test=evaluate(scorer, [e.text for e in test], [e.case_type for e in test]),
    )
    return Model(pipeline=scorer.pipeline, thresholds=thresholds, card=card)


def validation_predictions(
    model: Scorer, validation: Sequence[Example]
) -> list[tuple[Example, Prediction]]:
    """The model's predictions on held-out texts, each with its text's example."""
    return list(zip(validation, model.predict([e.text for e in validation]), strict=True))


def choose_thresholds(
    held_out: Sequence[tuple[Example, Prediction]], classes: Sequence[str]
) -> dict[str, float]:
    """Per class, the lowest confidence at which its held-out predictions are right at least
    TARGET_PRECISION of the time. A class with fewer than MIN_PREDICTIONS predictions takes
    the threshold of all classes together."""
    scored = [(p.confidence, p.guess, p.guess == e.case_type) for e, p in held_out]
    overall = _lowest_precise([(c, ok) for c, _, ok in scored])
    thresholds = {}
    for code in classes:
        mine = [(c, ok) for c, guess, ok in scored if guess == code]
        found = _lowest_precise(mine) if len(mine) >= MIN_PREDICTIONS else None
        thresholds[code] = round(overall if found is None else found, 4)
    return thresholds


def _lowest_precise(scored: Sequence[tuple[float, bool]]) -> float:
    """The lowest confidence above which (at least MIN_PREDICTIONS) predictions are right
    TARGET_PRECISION of the time; 1.0 when there is none."""
    ordered = sorted(scored)
    right = sum(ok for _, ok in ordered)
    for i, (confidence, ok) in enumerate(ordered):
        rest = len(ordered) - i
        if rest < MIN_PREDICTIONS:
            break
        if right / rest >= TARGET_PRECISION:
            return confidence
        right -= ok
    return 1.0


def _xy(examples: Sequence[Example]) -> tuple[list[str], list[str]]:
    return [text.fold(text.clean(e.text)) for e in examples], [e.case_type for e in examples]
