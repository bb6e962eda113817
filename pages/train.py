"""Train: a detector of your own in about a minute, watched live, compared with the default model.

Widgets top to bottom; the logic lives in `aiart.app.train`: `inputs` (data and settings),
`run` (the run's state machine), `live` (curves and Stop, redrawn every second while a
background thread trains) and `results` (comparison, keep, load a model file).
"""

import streamlit as st

from aiart.app import keep, ui
from aiart.app.train import inputs, live, results, run
from aiart.config import default_data_dir

ui.page_header(":material/model_training: Train your own detector")
st.caption(
    "VGG16's conv layers stay frozen; only a small head on their texture statistics is trained, so a session "
    "takes about a minute the first time and seconds after that (fine-tuning block5 too is an option, slow on a "
    "CPU). Watch the curves, stop when you like, and compare with the default model."
)
results.session_model_banner()

current = run.current_run()
running = run.view(current) == "live"
if running:  # at the top, scrolled into view: the Train button is far below, where the page was scrolled
    with st.container(key="train-live"):
        st.subheader("3. Training")
        live.scroll_here()
        live.live_panel()

st.subheader("1. Data")
mode = st.segmented_control(
    "Images",
    ["folder", "upload"],
    format_func={"folder": "Dataset folder", "upload": "Upload images per class"}.get,
    required=True,
    **keep.remembered("train-mode", "folder" if default_data_dir() else "upload"),
)
samples = inputs.folder_samples() if mode == "folder" else inputs.uploaded_samples()

if samples:
    st.subheader("2. Settings")
    data, config, augment = inputs.settings(samples)
    if st.button("Train", type="primary", icon=":material/play_arrow:", disabled=running, key="train-go"):
        problem = run.train_problem(data)
        if problem:
            st.error(problem, icon=":material/error:")
        else:
            run.start_training(data, config, augment, keep=inputs.uploads_in_use())
            st.rerun()  # the live section then draws at the top of the page

if current is not None and not running:
    st.subheader("3. Training")
    results.results(current.snapshot())

results.load_panel(run.models()[0])
