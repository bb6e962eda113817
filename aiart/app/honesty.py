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


def score_words(p_ai: float) -> str:
    """'AI score 87%': the model's score in whole percents, never 0% or 100% (it is never certain)."""
    return f"AI score {min(99, max(1, round(100 * p_ai)))}%"


def verdict_line(clf: Classifier, p_ai: float) -> str:
    """'Looks **AI-generated** · P(AI) 87%', or '**Not sure** · P(AI) 53%' inside the band."""
    said = clf.verdict(p_ai)
    if said == UNSURE:
        return f"**Not sure** · P(AI) {p_ai:.0%}, too close to call"
    hint = " (close to a coin flip)" if abs(p_ai - 0.5) < 0.1 else ""
    return f"Looks **{WORDS[said]}** · P(AI) {p_ai:.0%}{hint}"


def band_words(clf: Classifier) -> str:
    """'an AI score between 28% and 72%' from the model's own band, or that it always gives a verdict."""
    band = clf.info.unsure
    return f"an AI score between {0.5 - band:.0%} and {0.5 + band:.0%}" if band else "none: it always gives a verdict"


def caveat(clf: Classifier) -> str:
    """One sentence for under a verdict: a probability is not a guarantee."""
    band = clf.info.unsure
    unsure = f" Between {0.5 - band:.0%} and {0.5 + band:.0%} it says *not sure*." if band else ""
    return f"P(AI) is the model's score, not a guarantee: {accuracy_words(clf)}.{unsure}"


def model_note(clf: Classifier) -> None:
    """The banner under a page title that shows verdicts."""
    st.caption(f":material/info: {caveat(clf)} Treat a verdict as a discussion starter, not as evidence.")
