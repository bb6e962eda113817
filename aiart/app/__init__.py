"""The Streamlit app's logic: the only package code importing Streamlit (and bench/sessions). May import anything."""
