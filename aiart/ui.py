"""The only package module that imports Streamlit: cached loaders and shared page chrome."""

from __future__ import annotations

import streamlit as st

from aiart.config import DEFAULT_HEAD
from aiart.model import Classifier


@st.cache_resource(show_spinner="Loading VGG16 (once per server)...")
def default_classifier() -> Classifier:
    """One model per process, shared by every page and session (inference is thread-safe)."""
    from aiart.storage import load_classifier

    return load_classifier(DEFAULT_HEAD)


def get_classifier() -> Classifier:
    """This session's model: a head kept on the Train page, else the shared default."""
    return st.session_state.get("session_classifier") or default_classifier()
