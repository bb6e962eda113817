"""Where aiart keeps things: one place so pages, CLI and tests agree."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
WEIGHTS_DIR = PROJECT_ROOT / "weights"
DEFAULT_HEAD = WEIGHTS_DIR / "head.keras"
CLASS_NAMES = ("AI_GENERATED", "NON_AI_GENERATED")
BOTH = "both"  # what a page or the CLI offers beside the class names: both classes' maps
UNSURE = "UNSURE"  # the verdict inside the model's measured "not sure" band; never a class
WORDS = {CLASS_NAMES[0]: "AI-generated", CLASS_NAMES[1]: "human-made", UNSURE: "not sure"}  # verdicts, said plainly
GET_DATA_HINT = (
    "No pictures yet. Add them on this page: upload a zip holding an AI_GENERATED/ and a NON_AI_GENERATED/ "
    "folder (or the pictures of each class), and the app keeps them for this session."
)


def cache_dir() -> Path:
    """Converted VGG16 weights and feature caches live here (`$AIART_CACHE` overrides)."""
    path = Path(os.environ.get("AIART_CACHE") or "~/.cache/aiart").expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_root() -> Path:
    """The one folder (sub-folders included) whose pictures Browse, Train and Classroom may read:
    `$AIART_DATA`, else ../shared/data, else the app's own data/ folder. Never any other server path."""
    return default_data_dir() or PROJECT_ROOT / "data"


def default_data_dir() -> Path | None:
    """`$AIART_DATA`, else `../shared/data` beside the project, else None (empty state)."""
    env = os.environ.get("AIART_DATA")
    if env:
        return Path(env).expanduser()
    for candidate in (PROJECT_ROOT.parent / "shared" / "data", Path.cwd().parent / "shared" / "data"):
        if candidate.is_dir():
            return candidate
    return None
