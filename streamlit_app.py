"""aiart: the router. Every page is thin UI over the `aiart` package.

The teacher (the machine the app runs on, or a holder of the teacher link) gets every page; any
other device gets the vote page and nothing else: no menu, and no other page by URL.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import streamlit as st

from aiart.app import access
from aiart.model.precision import default_precision, describe

try:
    precision, bad_setting = describe(default_precision()), None
except ValueError as exc:  # a mistyped AIART_PRECISION: one clear line, not a traceback
    precision, bad_setting = "", str(exc)
ABOUT = (
    "**aiart** tells AI-generated art from human-made art with VGG16 and shows why with heatmaps "
    f"(Grad-CAM and its family). {precision} Set AIART_PRECISION=float32 or bfloat16 to choose."
)
st.set_page_config(
    page_title="aiart: AI or human art?", page_icon=":material/palette:", layout="wide", menu_items={"About": ABOUT}
)
if bad_setting:
    st.error(f"The app cannot start: {bad_setting} (AIART_PRECISION). Fix it and restart.", icon=":material/error:")
    st.stop()

access.announce()
teacher = access.is_teacher()
VOTE = {"page": "pages/vote.py", "title": "Vote", "icon": ":material/how_to_vote:", "url_path": "vote"}
if teacher:
    pages = [
        st.Page("pages/classify.py", title="Classify", icon=":material/image_search:", default=True),
        st.Page("pages/browse.py", title="Browse", icon=":material/grid_view:"),
        st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
        st.Page("pages/classroom.py", title="Classroom", icon=":material/co_present:"),
        # Students reach it from the join link or QR code on the projector, so it stays out of the menu.
        st.Page(**VOTE, visibility="hidden"),
    ]
else:  # the vote page at the root and at /vote (the join link); any other address: "page not found", then the vote
    pages = [st.Page(**{**VOTE, "url_path": "join"}, default=True), st.Page(**VOTE)]
st.navigation(pages, position="sidebar" if teacher else "hidden").run()
