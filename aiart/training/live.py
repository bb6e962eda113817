"""Training that a page can watch and stop: Keras callbacks write into one thread-safe run object.

Never imports Streamlit. The Train page starts a `TrainingRun` in a background thread (a Streamlit
script thread would block the session until `fit` returns), keeps the run in session state and
redraws from `snapshot()` every second; Stop sets a flag that `StopOnRequest` checks after each
batch. The CLI uses the same `EpochLog` to print its progress.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import keras

from aiart.data.features import FeatureStore, TimeLeft, content_hashes
from aiart.model.classifier import Classifier
from aiart.training import recipe
from aiart.training.compare import Comparison, Disagreement, compare, explain_disagreements, same_features
from aiart.training.fit import TrainConfig, monitored

# Training takes both CPU cores of a small server: sessions queue for it instead of slowing each other.
TRAINING_SLOTS = threading.BoundedSemaphore(1)


class StopRequested(recipe.Stopped):
    """Raised inside a feature pass once the user pressed Stop: before training it cancels the run,
    before fine-tuning it ends the run with the head trained so far (`recipe.train_split`)."""


class EpochLog(keras.callbacks.Callback):
    """Calls `sink(epoch, logs)` after each epoch with plain floats (loss, accuracy, val_*)."""

    def __init__(self, sink: Callable[[int, dict[str, float]], None]):
        super().__init__()
        self.sink = sink

    def on_epoch_end(self, epoch, logs=None):
        self.sink(epoch, {k: float(v) for k, v in (logs or {}).items()})


class StopOnRequest(keras.callbacks.EarlyStopping):
    """Ends `fit` at the next batch once `flag` is set, then restores the best epoch's weights.

    EarlyStopping already tracks the best epoch of `monitor` and restores it at the end of training;
    with unbounded patience it only ever stops because the user asked. If the stop lands mid-epoch,
    Keras still validates that partial epoch, so it competes for "best" with real numbers.
    """

    def __init__(self, flag: threading.Event, monitor: str = monitored(True)):
        super().__init__(monitor=monitor, patience=2**31, restore_best_weights=True)
        self.flag = flag
        self.stopped = False

    def on_train_batch_end(self, batch, logs=None):
        if self.flag.is_set():
            self.model.stop_training = True
            self.stopped = True


@dataclass
class Snapshot:
    """A consistent copy of a run's state for one redraw."""

    phase: str  # queued, features, training, comparing, done, stopped, cancelled, error
    message: str
    progress: tuple[int, int, float] | None
    history: list[dict[str, float]]
    epochs: int
    result: object | None
    error: str | None
    seconds: float
    seconds_left: float | None = None  # of the features phase (cached images not counted in the rate)

    @property
    def running(self) -> bool:
        return self.phase in ("queued", "features", "training", "comparing")


@dataclass
class TrainingRun:
    """One training session's shared state: written by the worker thread, read by the page."""

    epochs: int = 0
    flag: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _phase: str = "queued"
    _message: str = "waiting for another training on this server to finish"
    _progress: tuple[int, int, float] | None = None
    _left: float | None = None
    _time_left: TimeLeft = field(default_factory=TimeLeft)
    _history: list[dict] = field(default_factory=list)  # per epoch: metrics and the stage
    _stage: str = "training"
    _result: object | None = None
    _error: str | None = None
    _started: float = field(default_factory=time.monotonic)
    _ended: float | None = None
    _thread: threading.Thread | None = None
    _stopper: StopOnRequest | None = None

    # -- written by the worker ----------------------------------------------------------------
    def set_phase(self, phase: str, message: str = "") -> None:
        with self._lock:
            self._phase, self._message = phase, message
            self._progress, self._left = None, None

    def progress(self, done: int, total: int, elapsed: float) -> None:
        """A `features.Progress` callback; raises `StopRequested` once Stop was pressed."""
        with self._lock:
            self._progress, self._left = (done, total, elapsed), self._time_left(done, total, elapsed)
        if self.flag.is_set():
            raise StopRequested

    def begin_stage(self) -> None:
        """A second `fit` in one run is the fine-tuning stage (`recipe.Tuning`)."""
        with self._lock:
            self._stage = "fine-tuning" if self._history else "training"
        self.set_phase("training", self._stage)

    def record_epoch(self, epoch: int, logs: dict[str, float]) -> None:
        with self._lock:
            self._history.append({"epoch": epoch + 1, **logs, "stage": self._stage})

    def callbacks(self, monitor: str = monitored(True)) -> list[keras.callbacks.Callback]:
        self._stopper = StopOnRequest(self.flag, monitor)
        begin = keras.callbacks.LambdaCallback(on_train_begin=lambda logs: self.begin_stage())
        return [begin, EpochLog(self.record_epoch), self._stopper]

    # -- read or signalled by the page --------------------------------------------------------
    def stop(self) -> None:
        self.flag.set()

    def snapshot(self) -> Snapshot:
        with self._lock:
            end = self._ended or time.monotonic()
            return Snapshot(
                self._phase,
                self._message,
                self._progress,
                [dict(h) for h in self._history],
                self.epochs,
                self._result,
                self._error,
                end - self._started,
                self._left,
            )

    def start(self, job: Callable[[TrainingRun], object]) -> TrainingRun:
        """Run `job(self)` in a daemon thread, one training per process at a time; returns self."""

        def work() -> None:
            with TRAINING_SLOTS:
                phase, result, error = "done", None, None
                try:
                    if self.flag.is_set():
                        raise StopRequested
                    result = job(self)
                    if self.flag.is_set():  # in any phase after training began: the best epoch so far is kept
                        phase = "stopped"
                except StopRequested:
                    phase = "cancelled"
                except Exception as exc:  # shown on the page as one line; the thread must not die silently
                    phase, error = "error", str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
                with self._lock:
                    self._phase, self._result, self._error = phase, result, error
                    self._ended = time.monotonic()

        self._thread = threading.Thread(target=work, name="aiart-train", daemon=True)
        self._thread.start()
        return self

    def wait(self, timeout: float | None = None) -> Snapshot:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.snapshot()


@dataclass
class SessionResult:
    result: recipe.Result
    clf: Classifier  # the new head spliced onto the shared conv base: ready for Classify and Browse
    comparison: Comparison | None  # None without validation images of both classes
    disagreements: list[Disagreement]


def train_session(
    run: TrainingRun,
    base: Classifier,
    data: recipe.Split,
    config: TrainConfig,
    store: FeatureStore,
    augment: str | None = None,
    reference: Classifier | None = None,
    explain_k: int = 4,
) -> SessionResult:
    """The Train page's job: features of `base`'s conv layers, fit (watched), then the new model
    against `reference` (the default model) on the same validation images, if there is one."""
    run.set_phase("features", "computing features (once per image, then cached)")
    monitor = monitored(bool(data.val))
    result = recipe.train_split(
        base, data, config, store, run.callbacks(monitor), run.progress, augment=augment, stopped=run.flag.is_set
    )
    run.set_phase("comparing", "comparing with the default model")
    clf = Classifier(result.head, result.info, share_backbone_with=base)
    # like the shipped model's head.trained.txt: every page marks these and leaves them out of its metrics
    clf.trained_on = frozenset(h for h in content_hashes([s.path for s in data.train]) if h)
    comparison, disagreements = None, []
    if reference is not None and len({s.y for s in result.val_samples}) == 2 and not run.flag.is_set():

        def store_of(model: Classifier) -> FeatureStore:  # base's store, unless a tuned block reads others
            return store if same_features(model, base) else FeatureStore(model, root=store.base)

        x_va, y_va, kept, _ = recipe.features_for(store_of(reference), result.val_samples)
        comparison = compare(reference, clf, x_va, y_va, feats_b=recipe.features_for(store_of(clf), kept)[0])
        disagreements = explain_disagreements(comparison, reference, clf, [s.path for s in kept], explain_k)
    return SessionResult(result, clf, comparison, disagreements)
