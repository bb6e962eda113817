"""aiart: the router. Every page is thin UI over the `aiart` package."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import streamlit as st

st.set_page_config(page_title="aiart: AI or human art?", page_icon="🎨", layout="wide")

pages = [
    st.Page("pages/classify.py", title="Classify", icon=":material/image_search:", default=True),
    st.Page("pages/browse.py", title="Browse", icon=":material/grid_view:"),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/classroom.py", title="Classroom", icon=":material/co_present:"),
]
st.navigation(pages).run()
