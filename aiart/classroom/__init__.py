"""Live class vote: rooms, rounds and votes shared by every server process (no Streamlit here)."""
