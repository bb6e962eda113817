"""Train: a detector of your own in about a minute, watched live, compared with the default model.

Widgets top to bottom; the logic lives in `aiart.app`: `train_inputs` (data and settings),
`train_run` (the run's state machine), `train_live` (curves and Stop, redrawn every second while a
background thread trains) and `train_results` (comparison, keep, load a model file).
"""

import streamlit as st

from aiart.app import keep, train_inputs, train_live, train_results, train_run, ui
from aiart.config import default_data_dir

ui.page_header(":material/model_training: Train your own detector")
st.caption(
    "VGG16's conv layers stay frozen; only a small head on their texture statistics is trained, so a session "
    "takes about a minute the first time and seconds after that (fine-tuning block5 too is an option, slow on a "
    "CPU). Watch the curves, stop when you like, and compare with the default model."
)
train_results.session_model_banner()

run = train_run.current_run()
running = train_run.view(run) == "live"
if running:  # at the top, where the teacher is looking once Train is pressed
    st.subheader("3. Training")
    train_live.live_panel()

st.subheader("1. Data")
mode = st.segmented_control(
    "Images",
    ["folder", "upload"],
    format_func={"folder": "Dataset folder", "upload": "Upload images per class"}.get,
    required=True,
    **keep.remembered("train-mode", "folder" if default_data_dir() else "upload"),
)
samples = train_inputs.folder_samples() if mode == "folder" else train_inputs.uploaded_samples()

if samples:
    st.subheader("2. Settings")
    data, config, augment = train_inputs.settings(samples)
    if st.button("Train", type="primary", icon=":material/play_arrow:", disabled=running, key="train-go"):
        problem = train_run.train_problem(data)
        if problem:
            st.error(problem, icon=":material/error:")
        else:
            train_run.start_training(data, config, augment, keep=train_inputs.uploads_in_use())
            st.rerun()  # the live section then draws at the top of the page

if run is not None and not running:
    st.subheader("3. Training")
    train_results.results(run.snapshot())

train_results.load_panel(train_run.models()[0])
