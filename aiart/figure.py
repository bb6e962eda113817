"""The exported explanation figure: image | heatmap | overlay, titled with the verdict."""

from __future__ import annotations

import io

import numpy as np
from matplotlib.figure import Figure

from aiart.cam.overlay import colorize, overlay
from aiart.explain import Explanation

PRETTY = {"AI_GENERATED": "AI-generated", "NON_AI_GENERATED": "human-made"}


def verdict_text(p_ai: float, label: str) -> str:
    sure = p_ai if label == "AI_GENERATED" else 1 - p_ai
    return f"{PRETTY[label]} (P(AI) = {p_ai:.1%}, {sure:.0%} sure)"


def explanation_png(exp: Explanation, alpha: float = 0.45, title: str | None = None, dpi: int = 110) -> bytes:
    """PNG bytes of the three-panel figure; uses the object API, so it is thread-safe."""
    fig = Figure(figsize=(11, 4.0), layout="constrained")
    axes = fig.subplots(1, 3)
    panels = (
        ("image", exp.image),
        (f"{exp.method} @ {exp.layer}", colorize(exp.heatmap)),
        (f"what looks {PRETTY[exp.target]}", overlay(exp.image, exp.heatmap, alpha)),
    )
    for ax, (name, img) in zip(axes, panels):
        ax.imshow(np.asarray(img))
        ax.set_title(name, fontsize=10)
        ax.axis("off")
    fig.suptitle(title or verdict_text(exp.p_ai, exp.label), fontsize=12)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
