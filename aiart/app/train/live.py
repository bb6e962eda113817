"""The Train page while a run trains: progress, live curves and the Stop button, redrawn every second.

Only `live_panel` (an `st.fragment`) reruns each second, not the page; the curves are written as
Vega-Lite specs because building them with Altair cost ~30x more per redraw. The results view draws
the finished run's curves with `curves` too.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from aiart.app.train.run import RUN_KEY, top_block_name
from aiart.training.live import Snapshot, TrainingRun

CURVE_COLOURS = ["#6c3fc5", "#e8893b"]


def curve_spec(title: str, best: int | None, y_max: float | None, tuned_from: int | None = None) -> dict:
    """A Vega-Lite spec written out: ~30x cheaper per redraw than building it with Altair, which
    matters when the chart is redrawn every second while training runs in the same process.
    `y_max` fixes the top of the y axis (lines above it are cut off)."""
    y = {"field": "value", "type": "quantitative", "title": title}
    if y_max is not None:
        y["scale"] = {"domain": [0, y_max]}
    if title == "accuracy":
        y["axis"] = {"format": "%"}
    line = {
        "mark": {"type": "line", "strokeWidth": 2, "clip": True},
        "encoding": {
            "x": {"field": "epoch", "type": "quantitative", "title": "epoch", "axis": {"tickMinStep": 1}},
            "y": y,
            "color": {
                "field": "curve",
                "type": "nominal",
                "scale": {"domain": ["training", "validation"], "range": CURVE_COLOURS},
                "legend": {"orient": "bottom", "title": None},
            },
        },
    }
    layers = [line]
    if best:
        layers.append(
            {"mark": {"type": "rule", "strokeDash": [4, 4], "color": "#777"}, "encoding": {"x": {"datum": best}}}
        )
    if tuned_from:
        layers.append({"mark": {"type": "rule", "color": "#2a9d8f"}, "encoding": {"x": {"datum": tuned_from - 0.5}}})
    return {"height": 240, "layer": layers}


def tuned_from(history: list[dict]) -> int | None:
    """First epoch of the fine-tuning stage, if there was one."""
    return next((h["epoch"] for h in history if h.get("stage") == "fine-tuning"), None)


def loss_cap(history: list[dict]) -> float | None:
    """Top of the loss axis when validation loss explodes (very sure, wrong answers), else None:
    one huge value would otherwise flatten every other curve into a line at zero."""
    train = max(h["log_loss"] for h in history)
    val = max((h["val_log_loss"] for h in history if "val_log_loss" in h), default=0.0)
    return 3 * train if val > 3 * train else None


def curves(history: list[dict], best: int | None = None) -> None:
    """Loss and accuracy per epoch, training and validation; a dashed line marks the kept epoch."""
    if not history:
        return
    cap, tuned = loss_cap(history), tuned_from(history)
    for col, metric, title, y_max in zip(
        st.columns(2), ("log_loss", "accuracy"), ("loss (lower is better)", "accuracy"), (cap, 1.0)
    ):
        rows = [
            {"epoch": h["epoch"], "curve": curve, "value": h[key]}
            for h in history
            for curve, key in (("training", metric), ("validation", f"val_{metric}"))
            if key in h
        ]
        col.vega_lite_chart(pd.DataFrame(rows), curve_spec(title, best, y_max, tuned), width="stretch")
    notes = []
    if tuned:
        notes.append(f"Solid green line: from epoch {tuned} on, {top_block_name()} is fine-tuned with the head.")
    if best:
        notes.append(f"Dashed line: epoch {best}, the lowest validation loss; its weights are the ones kept.")
    if cap:
        peak = max(h.get("val_log_loss", 0.0) for h in history)
        notes.append(
            f"Validation loss is cut off above {cap:.1f} (it reached {peak:,.0f}): the model was very sure "
            "and wrong on some validation images."
        )
    if notes:
        st.caption(" ".join(notes))


def status(snap: Snapshot) -> None:
    """One progress bar for the run's phase: queued, features (with ETA), training, comparing."""
    if snap.phase == "queued":
        st.info("Waiting for another training on this server to finish...", icon=":material/hourglass_top:")
    elif snap.phase == "features" and snap.progress:
        done, total, elapsed = snap.progress
        left = f" · about {snap.seconds_left:.0f} s left" if snap.seconds_left is not None else ""
        st.progress(done / max(total, 1), text=f"Features: {done}/{total} images · {elapsed:.0f} s{left}")
        st.caption("Each image goes through VGG16 once; its features are cached for every later session and Browse.")
    elif snap.phase == "features":
        st.progress(0.0, text="Features: reading the cache...")
    elif snap.phase == "training":
        n = len(snap.history)
        last = snap.history[-1] if snap.history else {}
        val = f" · validation accuracy {last['val_accuracy']:.1%}" if "val_accuracy" in last else ""
        what = f"Fine-tuning {top_block_name()} and the head" if snap.message == "fine-tuning" else "Training"
        st.progress(
            min(n / max(snap.epochs, 1), 1.0),
            text=f"{what}: epoch {n} of at most {snap.epochs}{val} · {snap.seconds:.0f} s",
        )
    else:
        st.progress(1.0, text="Comparing with the default model and drawing heatmaps...")


def scroll_here() -> None:
    """Once per run: bring the live panel (at the top) into view, whatever the browser's scroll position."""
    run = st.session_state[RUN_KEY]
    if st.session_state.get("train-scrolled") is not run:
        st.session_state["train-scrolled"] = run
        st.html(
            "<script>document.querySelector('.st-key-train-live')?.scrollIntoView({block: 'start'});</script>",
            unsafe_allow_javascript=True,
        )


@st.fragment(run_every=1.0)
def live_panel() -> None:
    """Redrawn every second while training runs; only this fragment reruns, not the page."""
    run: TrainingRun = st.session_state[RUN_KEY]
    snap = run.snapshot()
    if not snap.running:
        st.rerun()  # the whole page, once, to show the results
    status(snap)
    curves(snap.history)
    st.button(
        "Stop",
        icon=":material/stop_circle:",
        on_click=run.stop,
        disabled=run.flag.is_set(),
        key="train-stop",
        help="Ends training after the current batch and keeps the best epoch so far.",
    )
