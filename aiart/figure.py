"""The exported explanation figure, titled with the verdict: image | heatmap | overlay for one target,
image | overlay | overlay for both (what looks AI-generated, what looks human-made)."""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from aiart.cam.overlay import colorize, overlay
from aiart.explain import Explanation

PRETTY = {"AI_GENERATED": "AI-generated", "NON_AI_GENERATED": "human-made"}


def verdict_text(p_ai: float, label: str) -> str:
    sure = p_ai if label == "AI_GENERATED" else 1 - p_ai
    return f"{PRETTY[label]} (P(AI) = {p_ai:.1%}, {sure:.0%} sure)"


def explanation_png(
    exp: Explanation | Sequence[Explanation], alpha: float = 0.45, title: str | None = None, dpi: int = 110
) -> bytes:
    """PNG bytes of the three-panel figure (one explanation, or one per target of one image); uses the
    object API, so it is thread-safe."""
    exps = [exp] if isinstance(exp, Explanation) else list(exp)
    first = exps[0]
    looks = [(f"what looks {PRETTY[e.target]}", overlay(e.image, e.heatmap, alpha)) for e in exps]
    if len(exps) == 1:
        looks.insert(0, (f"{first.method} @ {first.layer}", colorize(first.heatmap)))
    panels = [("image", first.image), *looks]
    fig = Figure(figsize=(3.7 * len(panels), 4.0), layout="constrained")
    for ax, (name, img) in zip(fig.subplots(1, len(panels)), panels):
        ax.imshow(np.asarray(img))
        ax.set_title(name, fontsize=10)
        ax.axis("off")
    fig.suptitle(title or verdict_text(first.p_ai, first.label), fontsize=12)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
