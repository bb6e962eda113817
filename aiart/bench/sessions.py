"""`python -m aiart bench --sessions N` (or `python -m aiart.bench.sessions N`): a class at once.

N Streamlit sessions (AppTest instances, each with its own session state and uploads) run the
Classify page and then the Browse page in parallel threads against the model the app itself loads
(`aiart.app.ui.default_classifier`, one per process). Reported: process memory before, after and at
its peak, seconds, and errors: exceptions, unexpected error boxes, and cross-talk (a session
shown files it did not upload). tests/test_concurrency.py drives the same harness with the small
classifier, and also checks that each session's verdicts come from its own model.

Like `aiart.app.ui`, this module needs Streamlit; it is imported only by the bench and the tests.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from aiart.config import CLASS_NAMES, PROJECT_ROOT

APP = PROJECT_ROOT / "streamlit_app.py"
UPLOAD_SIDE = (1600, 1200)  # bigger than the page's 1024 px cap, so the shrink-before-cache path runs
GOAL_RSS_GB = 1.5


def memory() -> dict[str, float]:
    """This process's resident memory now and at its peak, in GB (Linux /proc)."""
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0]) / 2**20  # kB -> GB
    return {"rss_gb": values["VmRSS"], "peak_gb": values["VmHWM"]}


@contextlib.contextmanager
def parallel_apptests() -> Iterator[None]:
    """Let AppTest instances run in parallel threads, as browser sessions do on a server.

    `AppTest.run()` changes two process-wide things for the length of a run: it installs a fresh
    mock Runtime as the singleton (then resets it to None), and patches `config.get_option` so
    that `global.appTest` is on (then restores whatever it found). With runs overlapping, one run
    ending pulls the Runtime from under the others, or switches app-test mode off in the middle of
    another run (its widgets then lose their test hooks). Inside this block the first Runtime seen
    is served to every run (a server has one Runtime too) and `global.appTest` stays on, whatever
    the runs restore; both are put back on exit.
    """
    from streamlit import config
    from streamlit.runtime import Runtime

    saved = Runtime.__dict__["instance"], Runtime.__dict__["exists"], config.get_option
    real_get_option = config.get_option
    pinned: list = []
    lock = threading.Lock()

    def instance(cls):
        with lock:
            if not pinned and cls._instance is not None:
                pinned.append(cls._instance)
            if not pinned:
                raise RuntimeError("Runtime hasn't been created!")
            return pinned[0]

    Runtime.instance = classmethod(instance)
    Runtime.exists = classmethod(lambda cls: bool(pinned) or cls._instance is not None)
    config.get_option = lambda key: True if key == "global.appTest" else real_get_option(key)
    try:
        yield
    finally:
        Runtime.instance, Runtime.exists, config.get_option = saved


@contextlib.contextmanager
def data_dir(folder: Path | None) -> Iterator[None]:
    """Point the pages' default dataset folder (`AIART_DATA`) at `folder` for the block.

    Otherwise Browse would open on ../shared/data and score all of it, which is not what is timed.
    """
    saved = os.environ.get("AIART_DATA")
    if folder is not None:
        os.environ["AIART_DATA"] = str(folder)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("AIART_DATA", None)
        else:
            os.environ["AIART_DATA"] = saved


def upload_png(seed: int, size: tuple[int, int] = UPLOAD_SIDE) -> bytes:
    """A deterministic painting-like PNG, different for every seed."""
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32) / h
    arr = np.stack([np.sin(7 * xx + seed), np.cos(5 * yy - 0.7 * seed), np.sin(3 * (xx + yy) + 0.3 * seed)], -1)
    img = Image.fromarray(np.clip(arr * 110 + 128, 0, 255).astype(np.uint8))
    buf = io.BytesIO()
    img.save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def write_folder(root: Path, per_class: int = 4) -> Path:
    """A small labelled folder (Kaggle layout) of synthetic images for the Browse page."""
    for c, label in enumerate(CLASS_NAMES):
        (root / label).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            (root / label / f"{i}.png").write_bytes(upload_png(1000 * (c + 1) + i, (256, 192)))
    return root


@dataclass
class Session:
    """One simulated student: what they uploaded, what they saw, and what went wrong."""

    index: int
    files: list[tuple[str, bytes, str]]
    kept_model: object | None = None  # a model kept on the Train page, for this session only
    seconds: float = 0.0
    shown_files: list[str] = field(default_factory=list)
    shown_p_ai: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def session_files(i: int, per_session: int = 2) -> list[tuple[str, bytes, str]]:
    """Uploads unique to session `i` (names and pixels), plus one file that is not an image."""
    files = [(f"s{i}-art{j}.png", upload_png(100 * i + j), "image/png") for j in range(per_session)]
    return [*files, (f"s{i}-notes.png", b"just some text, not an image", "image/png")]


def check(at, session: Session, step: str, expected_errors: int = 0) -> None:
    for exc in at.exception:
        session.errors.append(f"{step}: exception {exc.value}")
    errors = [e.value for e in at.error]
    if len(errors) != expected_errors:
        session.errors.append(f"{step}: {len(errors)} error boxes, expected {expected_errors}: {errors}")


def run_session(session: Session, folder: Path | None, timeout: float) -> Session:
    """Classify this session's uploads, then browse `folder`; records what the page showed."""
    from streamlit.testing.v1 import AppTest

    start = time.perf_counter()
    try:
        at = AppTest.from_file(str(APP), default_timeout=timeout)
        if session.kept_model is not None:
            at.session_state["session_classifier"] = session.kept_model
        at.run()
        check(at, session, "open")
        at.file_uploader(key="uploader").set_value(session.files).run()
        check(at, session, "classify", expected_errors=1)  # the one file that is not an image
        (table,) = [d.value for d in at.dataframe]
        session.shown_files = list(table["file"])
        session.shown_p_ai = [float(p) / 100 for p in table["AI score"] if p == p]  # NaN: unreadable
        own = [name for name, _, _ in session.files]
        if session.shown_files != own:
            session.errors.append(f"cross-talk: shown {session.shown_files}, uploaded {own}")
        if folder is not None:
            at.switch_page("pages/browse.py").run()
            if any(b.key == "browse-compute" for b in at.button):  # a first visit: scoring starts on request
                at.button(key="browse-compute").click().run()
            check(at, session, "browse")
            if at.text_input(key="data-dir").value != str(folder):
                session.errors.append(f"browse: opened on {at.text_input(key='data-dir').value}, not {folder}")
            if not at.metric:
                session.errors.append("browse: no metrics shown")
    except Exception as exc:  # a harness must report every failure, whatever its type
        where = " <- ".join(
            f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in traceback.extract_tb(exc.__traceback__)[:-4:-1]
        )
        session.errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''} (at {where})")
    session.seconds = time.perf_counter() - start
    return session


def run_sessions(
    sessions: list[Session], folder: Path | None = None, timeout: float = 600.0, warm_up: bool = True
) -> dict[str, float]:
    """Run the sessions in parallel threads, by default after one warm-up run; returns seconds and memory.

    The warm-up opens the app once, as the first student would: it loads the shared model, so the
    timed crowd measures sessions, not the one-off model load. Without it, everyone arrives at once.
    """
    from streamlit.testing.v1 import AppTest

    with parallel_apptests(), data_dir(folder):
        start = time.perf_counter()
        if warm_up:
            warm = AppTest.from_file(str(APP), default_timeout=timeout).run()
            if warm.exception:
                raise RuntimeError(f"the app fails to open: {warm.exception[0].value}")
        warm_up_s, loaded = time.perf_counter() - start, memory()["rss_gb"]
        threads = [threading.Thread(target=run_session, args=(s, folder, timeout)) for s in sessions]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return {"warm_up_s": warm_up_s, "loaded_rss_gb": loaded, "sessions_s": time.perf_counter() - start - warm_up_s}


def bench_sessions(n: int) -> int:
    """Measure `n` concurrent sessions in a fresh process; returns its exit code (the error count).

    A fresh process, because the speed bench before it holds its own model and activations, which
    would otherwise be counted as the app's memory.
    """
    return subprocess.run([sys.executable, "-m", "aiart.bench.sessions", str(n)], check=False).returncode


def main(n: int) -> int:
    """Print memory, time and errors for `n` concurrent Classify + Browse sessions in this process."""
    before = memory()
    sessions = [Session(i, session_files(i)) for i in range(n)]
    with tempfile.TemporaryDirectory(prefix="aiart-bench-") as tmp:
        run = run_sessions(sessions, write_folder(Path(tmp)))
    after = memory()
    errors = [f"session {s.index}: {e}" for s in sessions for e in s.errors]
    per = sorted(s.seconds for s in sessions)
    rss = f"{before['rss_gb']:.2f} / {run['loaded_rss_gb']:.2f} / {after['rss_gb']:.2f} GB"
    print(f"\n{n} concurrent sessions: Classify ({len(sessions[0].files)} uploads each, one not an image), then Browse")
    print(f"{'first open (loads the shared model)':44s} {run['warm_up_s']:9.1f} s")
    spread = f"per session: median {per[n // 2]:.1f} s, max {per[-1]:.1f} s"
    print(f"{'all sessions, in parallel':44s} {run['sessions_s']:9.1f} s  ({spread})")
    print(f"{'RSS before / model loaded / after sessions':44s} {rss}")
    print(f"{'RSS peak':44s} {after['peak_gb']:9.2f} GB  (goal <= {GOAL_RSS_GB} GB)")
    print(f"{'errors (exceptions, error boxes, cross-talk)':44s} {len(errors):9d}")
    for line in errors[:20]:
        print(f"  {line}")
    return min(len(errors), 100)


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # expected noise when sessions run in plain threads: AppTest's context warnings, TF's tracing notes
    from streamlit.logger import set_log_level

    set_log_level("error")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    sys.exit(main(int(sys.argv[1])))
