"""What the app may claim about a verdict: the model's measured accuracy, its "not sure" band, plain words.

A probability such as "P(AI) = 96%" reads as certainty; what a teacher needs beside it is how
often the model is right on artworks from sources it never saw (measured in `weights/`). Every
screen that shows a verdict words it here, so none of them overclaims.
"""

from __future__ import annotations

import math

import streamlit as st

from aiart.config import UNSURE, WORDS
from aiart.model.classifier import Classifier


def measured_accuracy(clf: Classifier) -> tuple[float, float | None] | None:
    """(mean, sd or None) accuracy on unseen sources from the model's own metrics; None if never measured."""
    metrics = clf.info.metrics or {}
    yardstick = ((metrics.get("yardstick") or {}).get("summary") or {}).get("accuracy")
    if yardstick:
        return float(yardstick[0]), float(yardstick[1])
    cross = (metrics.get("cross_source") or {}).get("accuracy")
    return (float(cross), None) if cross else None


def accuracy_words(clf: Classifier) -> str:
    """A clause: 'it is right about 73% of the time (± 6 points) on ...', or that it was never measured."""
    measured = measured_accuracy(clf)
    if measured is None:
        return "its accuracy on artworks it never saw has not been measured"
    mean, sd = measured
    spread = f" (± {sd:.1%})" if sd and not math.isnan(sd) else ""
    return f"it is right about {mean:.0%}{spread} of the time on artworks from sources it never saw"


def score_points(p_ai: float) -> int:
    """The model's score in whole percents, 1 to 99: it is never certain, so it never shows 0% or 100%."""
    return min(99, max(1, round(100 * p_ai)))


def score_words(p_ai: float) -> str:
    """'AI score 87%'."""
    return f"AI score {score_points(p_ai)}%"


SCORE_HELP = (
    "The AI score is P(AI), the model's estimate that the picture is AI-generated. It is a score, not a "
    "guarantee: the model is wrong on some pictures it is sure about."
)


def sure_accuracy(clf: Classifier) -> float | None:
    """How often a verdict (outside the "not sure" band) was right on art from sources it never saw."""
    when_sure = ((clf.info.metrics or {}).get("unsure") or {}).get("accuracy_when_sure")
    if when_sure:
        return float(when_sure)
    measured = measured_accuracy(clf)
    return None if measured is None else measured[0]


def right_words(clf: Classifier) -> str:
    """'right about 9 times in 10 on new art' (its verdicts on sources it never saw), or never measured."""
    acc = sure_accuracy(clf)
    return "never measured on new art" if acc is None else f"right about {round(10 * acc)} times in 10 on new art"


def verdict_note(clf: Classifier) -> str:
    """A sentence for the back of the room: how far to trust a verdict."""
    if sure_accuracy(clf) is None:
        return "Nobody has measured how often this model is right on new art, so treat its verdict with care."
    return f"It is {right_words(clf)}, so this verdict can be wrong."


def verdict_line(clf: Classifier, p_ai: float) -> str:
    """'Looks **AI-generated** · AI score 87% · right about 9 times in 10 on new art', or
    '**Not sure** · AI score 53%' inside the band: the measured accuracy always beside a verdict."""
    said = clf.verdict(p_ai)
    if said == UNSURE:
        return f"**Not sure** · {score_words(p_ai)}: too close to call"
    return f"Looks **{WORDS[said]}** · {score_words(p_ai)} · {right_words(clf)}"


def band_words(clf: Classifier) -> str:
    """'an AI score between 28% and 72%' from the model's own band, or that it always gives a verdict."""
    band = clf.info.unsure
    return f"an AI score between {0.5 - band:.0%} and {0.5 + band:.0%}" if band else "none: it always gives a verdict"


def caveat(clf: Classifier) -> str:
    """One sentence for under a verdict: a score is not a guarantee."""
    unsure = f" With {band_words(clf)} it says *not sure*." if clf.info.unsure else ""
    return f"The AI score is the model's estimate, not a guarantee: {accuracy_words(clf)}.{unsure}"


def model_note(clf: Classifier) -> None:
    """The banner under a page title that shows verdicts."""
    st.caption(f":material/info: {caveat(clf)} Treat a verdict as a discussion starter, not as evidence.")


SOFT_WARNING = (
    "**Softer than 95 in 100 of its training pool's pictures.** Softening (blur, enlarging) still moves its "
    "AI score: in tests, verdicts with this warning were right about 7 times in 10, others 8 in 10."
)  # measured: README, "A warning for soft pictures"
FACE_NOTE = "A close-up face: the model leans towards AI on those, whoever made the picture."  # at a reveal
FACE_WARNING = (
    "**A close-up face.** The model leans towards AI on close-up faces, whoever made the picture: in tests, "
    "real photos with one were right only about half the time."
)  # measured: README, "Faces: the model leans towards AI"
METADATA_NOTE = (
    "Metadata is easy to remove or to fake, and most pictures shared online have lost it: a clue to weigh "
    "against the verdict, not proof, and no clue says nothing."
)
