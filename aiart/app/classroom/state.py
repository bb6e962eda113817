"""The Classroom page's rounds and score: draw an image, take the class's guess, reveal and score once.

Button callbacks (`next_image`, `set_guess`, `reveal`, `reset_score`) change session state before the
page redraws; the page only lays out what `state()` holds. The verdict is computed at Reveal, never
before, so nothing on the page can give it away.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import streamlit as st
from PIL import Image

from aiart.app import keep, ui
from aiart.data.dataset import DatasetError, Sample, scan
from aiart.model.classifier import Classifier


@dataclass
class Score:
    """Class against model over the revealed rounds; right/wrong only where the answer is known."""

    rounds: int = 0  # revealed rounds
    known: int = 0  # ... of which the right answer was known
    class_right: int = 0
    model_right: int = 0
    agreed: int = 0  # class and model gave the same answer

    def add(self, guess: str, verdict: str, truth: str | None) -> None:
        self.rounds += 1
        self.agreed += guess == verdict
        if truth:
            self.known += 1
            self.class_right += guess == truth
            self.model_right += verdict == truth


@dataclass
class Round:
    """One image on the projector, from drawn to revealed."""

    number: int = 0
    item: ui.Item | None = None
    guess: str | None = None
    p_ai: float | None = None  # set when revealed
    answer: str | None = None  # the right answer, if known, fixed when revealed
    problems: list[str] = field(default_factory=list)
    origin: str | None = None  # where the image comes from (generator or artist), when the folder says
    seen: bool = False  # the model trained on this image


@st.cache_data(ttl=600, max_entries=8, show_spinner="Reading the dataset folder...")
def dataset_samples(root: str) -> list[Sample]:
    """The data folder's images, re-read at most every ten minutes."""
    return scan(root)


def state() -> tuple[Round, Score]:
    """This session's current round and running score."""
    ss = st.session_state
    return ss.setdefault("classroom_round", Round()), ss.setdefault("classroom_score", Score())


CLASSIFY_UPLOADER = "uploader"  # the Classify page's uploader, whose files `keep` holds for the session


def available_sources() -> list[str]:
    """Where images can come from: the session's dataset (the folder or zip Browse and Train use) when there
    is one, the pictures uploaded on Classify when there are some, uploads here, and pictures drawn by code."""
    root = ui.dataset_folder()
    dataset = ["dataset"] if root is not None and root.is_dir() else []
    classify = ["classify"] if keep.kept_uploads(CLASSIFY_UPLOADER)[0] else []
    return [*dataset, *classify, "uploads", "samples"]


def draw(source: str) -> tuple[ui.Item | None, list[str]]:
    """The next readable image of `source` (None if it has none) and the files that had to be skipped."""
    problems: list[str] = []
    position = st.session_state.setdefault("classroom_position", {})
    if source == "samples":
        samples = list(ui.sample_images().values())
        position[source] = position.get(source, -1) + 1
        return samples[position[source] % len(samples)], problems
    if source in ("uploads", "classify"):
        files = keep.kept_uploads(UPLOADER if source == "uploads" else CLASSIFY_UPLOADER)[0]
        for _ in files:  # in upload order, skipping the unreadable ones
            position[source] = position.get(source, -1) + 1
            name, data = files[position[source] % len(files)]
            item = ui.item_from_bytes(name, data)
            if item.image is not None:
                return item, problems
            problems.append(f"{name}: {item.error}")
        return None, problems
    return draw_dataset(problems)


def origin(sample: Sample) -> str:
    """The manifest's generator or artist when it names one, else the source folder."""
    return sample.generator or sample.source


@st.cache_data(ttl=600, max_entries=4, show_spinner="Checking which images the model trained on...")
def seen_paths(root: str, _trained_on: frozenset[str], model_version: str) -> frozenset[str]:
    """Paths of the folder's images whose content the model trained on (read once per folder and model)."""
    from aiart.browse import file_digests

    samples = dataset_samples(root)
    return frozenset(str(s.path) for s, d in zip(samples, file_digests(samples)) if d in _trained_on)


def new_deck(samples: list[Sample], seen: frozenset[str], rng: random.Random) -> list[Sample]:
    """Every image once, shuffled, the ones the model never trained on first: no repeats until all are used."""
    fresh = [s for s in samples if str(s.path) not in seen]
    old = [s for s in samples if str(s.path) in seen]
    rng.shuffle(fresh)
    rng.shuffle(old)
    return fresh + old


def draw_dataset(problems: list[str]) -> tuple[ui.Item | None, list[str]]:
    root = str(ui.dataset_folder())
    try:
        samples = dataset_samples(root)
    except DatasetError as exc:
        return None, [str(exc)]
    clf = ui.get_classifier()
    trained = clf.trained_on
    seen = seen_paths(root, trained, clf.version) if trained else frozenset()
    ss = st.session_state
    rng = ss.setdefault("classroom_rng", random.Random())
    if ss.get("classroom_deck", (None, []))[0] != root or not ss["classroom_deck"][1]:
        ss["classroom_deck"] = (root, new_deck(samples, seen, rng))
    deck = ss["classroom_deck"][1]
    for _ in range(5):  # a broken file is skipped; several in a row are reported
        if not deck:
            break
        s = deck.pop(0)
        item = ui.item_from_path(s.path, s.path.name, s.label)
        if item.image is not None:
            ss["classroom_drawn"] = (origin(s), str(s.path) in seen)
            return item, problems
        problems.append(f"{s.path.name}: {item.error}")
    return None, problems


def next_image() -> None:
    """A new round with the next image of the chosen source; the presenter's answer is cleared. The number
    moves on only past an image the class judged (revealed here, or put to a live vote), so a new source,
    new uploads or an image skipped unseen keep it: the first picture is always Image 1."""
    rnd, _ = state()
    judged = rnd.p_ai is not None or rnd.number in st.session_state.get("live_rounds", {})
    st.session_state.pop("classroom_drawn", None)
    item, problems = draw(st.session_state.get("classroom_source", available_sources()[0]))
    where, seen = st.session_state.pop("classroom_drawn", (None, False))
    number = rnd.number + 1 if judged or rnd.number == 0 else rnd.number
    st.session_state["classroom_round"] = Round(number, item, problems=problems, origin=where, seen=seen)
    st.session_state.pop("classroom_answer", None)


UPLOADER = "classroom_uploads"


def new_uploads() -> None:
    """New files in the uploader: start again from the first of them."""
    st.session_state.setdefault("classroom_position", {}).pop("uploads", None)
    next_image()


def set_guess(label: str) -> None:
    """The class's guess for this round; it can change until Reveal."""
    state()[0].guess = label


def reveal(clf: Classifier) -> None:
    """Score once, at the click: the model's verdict against the class's guess (and the truth, if known)."""
    rnd, score = state()
    if rnd.guess is None or rnd.p_ai is not None:
        return
    rnd.p_ai = float(clf.predict([Image.fromarray(rnd.item.image)])[0])
    rnd.answer = rnd.item.truth or st.session_state.get("classroom_answer")
    score.add(rnd.guess, clf.verdict(rnd.p_ai), rnd.answer)


def reset_score() -> None:
    """A fresh score for a new class or lesson: the numbering starts again at 1, with a new image."""
    st.session_state["classroom_score"] = Score()
    st.session_state["classroom_round"] = Round()
    next_image()
