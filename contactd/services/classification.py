"""The daemon's case-type model: found or trained at start, then classifying in batches.

At start the model file is loaded (a few hundredths of a second) or, when it is missing or
was built for another scikit-learn or corpus, trained from the corpus (a few seconds, in a
thread) and written for the next start. The daemon serves meanwhile; intake waits for the
model up to `wait_seconds`, then sends to triage. Texts that arrive together are classified
in one batch in a thread, which costs little more than one text and keeps the loop free.

scikit-learn is imported in that thread, not with this module: the import takes most of a
second and about 100 MiB, and the daemon should be ready (and lean with the classifier off)
without waiting for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg
import structlog

from contactd.metrics import Recorder
from contactd.services.intake import Classification
from contactd.settings import ClassifierConfig, Settings
from contactd.store import embedded, queries
from routing.contact import Guess
from routing.errors import DomainError, Kind

if TYPE_CHECKING:
    from classifier.model import Card, Model, Prediction

log = structlog.get_logger(__name__)

TRIAGE = "general"
MODEL_FILE = "case-types.skops"


def model_path(settings: Settings) -> Path:
    configured = settings.classifier.model
    if configured is not None:
        return configured
    data_dir = settings.daemon.data_dir or embedded.default_data_dir()
    return data_dir / "classifier" / MODEL_FILE


def is_current(card: Card) -> bool:
    """Whether a stored model may be used as it is: built by this scikit-learn and this
    clean-up and model code, and either from the corpus this contactd ships or deliberately
    with staff corrections."""
    import sklearn

    from classifier import corpus, model

    if card.sklearn != sklearn.__version__ or card.code != model.CODE:
        return False
    return card.feedback > 0 or card.corpus == corpus.fingerprint(corpus.load())


def load_or_train(path: Path) -> Model:
    """The model at `path` if it is current; otherwise one trained from the corpus, written
    to `path` when it can be (a read-only place keeps it in memory only).

    A file that is damaged or not a model raises ModelFileError: it is never overwritten.
    """
    from classifier import corpus, model, persistence

    try:
        found = persistence.load(path)
    except (persistence.NoModelFile, persistence.OtherFormat) as exc:
        log.info("classifier.training", why=str(exc))
    else:
        if is_current(found.card):
            return found
        if found.card.feedback:
            # Its corrections cannot be replayed here (no database): say how to get them back.
            log.warning(
                "classifier.corrections_dropped",
                corrections=found.card.feedback,
                fix="run `contactd train --with-feedback`",
            )
        log.info("classifier.training", why="built by other code, scikit-learn or corpus")
    trained = model.train(corpus.load())
    try:
        persistence.save(trained, path)
    except OSError as exc:
        log.warning("classifier.not_saved", path=str(path), error=str(exc))
    return trained


def _load_or_train_in_thread(path: Path) -> tuple[Model | None, str]:
    """load_or_train, with the ModelFileError caught here: importing it means importing
    scikit-learn, which must happen in this thread, not on the event loop."""
    from classifier.persistence import ModelFileError

    try:
        return load_or_train(path), ""
    except ModelFileError as exc:
        return None, str(exc)


@dataclasses.dataclass
class _Pending:
    text: str
    answer: asyncio.Future[Prediction]


class Unavailable(DomainError):
    """No model to classify with: switched off, failed to load, or not loaded in time."""

    kind = Kind.UNAVAILABLE
    code = "classifier_unavailable"


class CaseTypeModel:
    """Holds the model for intake; `run` is its supervised background task."""

    def __init__(
        self, config: ClassifierConfig, *, case_types: Iterable[str], path: Path, recorder: Recorder
    ) -> None:
        """`case_types`: the codes the configuration knows (a model must guess only these);
        `path`: where the model file is (model_path)."""
        self._recorder = recorder
        self._config = config
        self._codes = frozenset(case_types)
        self.path = path
        self._model: Model | None = None
        self._loaded: tuple[int, int] | None = None  # (mtime_ns, size) of the file loaded
        self._ready = asyncio.Event()
        self._failed = False
        self._said_unavailable = False
        self._pending: list[_Pending] = []
        self._wake = asyncio.Event()

    @property
    def card(self) -> Card | None:
        return self._model.card if self._model else None

    @property
    def state(self) -> str:
        if self._failed:
            return "failed"
        return "ready" if self._model else "loading"

    async def run(self) -> None:
        try:
            await self._run()
        except BaseException:
            # Whatever ends this task, no request is left waiting for an answer: the
            # contacts go to triage, and intake need not wait while the task is restarted.
            self._failed = self._model is None
            self._ready.set()
            for waiting in self._pending:
                if not waiting.answer.done():
                    waiting.answer.set_exception(Unavailable("the classifier stopped"))
            self._pending.clear()
            raise

    async def _run(self) -> None:
        found, unusable = await asyncio.to_thread(_load_or_train_in_thread, self.path)
        if found is None:
            # Retrying will not help: the operator must replace the file (picked up by the
            # file watch) or move it away and restart. Until then intake goes to triage.
            log.error("classifier.model_file_unusable", error=unusable)
            self._failed = True
            self._ready.set()
        else:
            self._use(found)
        self._loaded = _stat(self.path)
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._classify_batches())
            if self._config.reload_seconds > 0:
                tasks.create_task(self._watch_file())

    def _use(self, found: Model, event: str = "classifier.ready") -> None:
        self._check_codes(found)
        self._model = found
        self._failed = False
        self._said_unavailable = False
        self._ready.set()
        log.info(event, version=found.card.version, macro_f1=found.card.test.macro_f1)

    async def classify(self, text: str) -> Classification:
        """The contact's case type; triage (confidence 0) when no model can answer."""
        try:
            prediction = await self.predict(text)
        except Unavailable as exc:
            if not self._said_unavailable:  # once, not once per contact
                log.warning("classifier.unavailable", why=str(exc))
                self._said_unavailable = True
            return Classification(case_type=TRIAGE, confidence=0.0)
        case_type = prediction.case_type if prediction.case_type in self._codes else TRIAGE
        # Triage: the model was unsure (its best guess is another code) or knew no code.
        best = prediction.top[0][0] if prediction.top else TRIAGE
        routed = case_type != TRIAGE or best == TRIAGE
        self._recorder.prediction(case_type, prediction.confidence, routed=routed)
        return Classification(
            case_type=case_type,
            confidence=round(prediction.confidence, 4),
            guesses=tuple(Guess(code, round(p, 4)) for code, p in prediction.top),
        )

    async def predict(self, text: str) -> Prediction:
        if not self._ready.is_set():
            try:
                async with asyncio.timeout(self._config.wait_seconds):
                    await self._ready.wait()
            except TimeoutError:
                raise Unavailable("the model is still loading") from None
        if self._failed or self._model is None:
            raise Unavailable("the model could not be loaded or trained")
        answer: asyncio.Future[Prediction] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(text, answer))
        self._wake.set()
        try:
            async with asyncio.timeout(self._config.wait_seconds + 30):
                return await answer
        except TimeoutError:  # never: a batch takes milliseconds. But never hang intake.
            raise Unavailable("no answer from the classifier") from None

    async def _classify_batches(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                size = self._config.batch_size
                batch, self._pending = self._pending[:size], self._pending[size:]
                current = self._model
                try:
                    if current is None:
                        raise Unavailable("no model")
                    predictions = await asyncio.to_thread(current.predict, [p.text for p in batch])
                except BaseException as exc:  # also cancelled: the batch is off _pending
                    for waiting in batch:
                        if not waiting.answer.done():
                            waiting.answer.set_exception(Unavailable(f"{type(exc).__name__}"))
                    raise
                for waiting, prediction in zip(batch, predictions, strict=True):
                    if not waiting.answer.done():  # its request may have gone
                        waiting.answer.set_result(prediction)

    async def _watch_file(self) -> None:
        """Pick up a model written by `contactd train` while the daemon runs."""
        from classifier import persistence

        while True:
            await asyncio.sleep(self._config.reload_seconds)
            seen = _stat(self.path)
            if seen is None or seen == self._loaded:
                continue
            try:
                fresh = await asyncio.to_thread(persistence.load, self.path)
            except Exception as exc:  # a bad file must not stop classifying
                log.error("classifier.reload_failed", error=f"{type(exc).__name__}: {exc}")
            else:
                self._use(fresh, "classifier.reloaded")
            self._loaded = seen

    def _check_codes(self, loaded: Model) -> None:
        unknown = sorted(set(loaded.classes) - self._codes)
        if unknown:
            # The model knows a code the configuration does not: those go to triage.
            log.warning("classifier.unknown_case_types", codes=unknown)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Overview:
    """The supervisor's view: the model's state and card, and staff's corrections since."""

    state: str  # loading, ready, failed, or off
    model_file: Path | None
    card: Card | None
    corrections: int
    of_classifier: int  # corrections of a case type the classifier had chosen
    last_correction: datetime | None


async def overview(pool: asyncpg.Pool, model: CaseTypeModel | None) -> Overview:
    """How well contacts are sorted, and so when to retrain; `model` None: switched off."""
    # The corrections belong to the contacts' store; the query is read here until it has them.
    [corrections] = await pool.fetch(queries.get("corrections_summary"))
    return Overview(
        state=model.state if model else "off",
        model_file=model.path if model else None,
        card=model.card if model else None,
        corrections=corrections["total"],
        of_classifier=corrections["of_classifier"],
        last_correction=corrections["last"],
    )


def _stat(path: Path) -> tuple[int, int] | None:
    with contextlib.suppress(OSError):
        st = path.stat()
        return st.st_mtime_ns, st.st_size
    return None
