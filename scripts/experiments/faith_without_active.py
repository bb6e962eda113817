"""Why did the contribution map's deletion margin fall with the active share? A diagnostic, not a
candidate: the same CLI with the active shares left out of the map (which then no longer adds up to
the score). If the guess in the README holds (they spread the evidence evenly), deletion gets better.

    python scripts/experiments/faith_without_active.py --model FOLD.keras faithfulness DIR \
        --methods contribution --layer block3_conv3 --json
"""

from __future__ import annotations

import sys

from aiart import cli
from aiart.cam import contribution

whole = contribution.shares


def without_active(acts, pooled, grads, moments=("mean", "std")):
    """The shares of the means and stds only; the active shares' columns are read past."""
    return whole(acts, pooled, grads, tuple(m for m in moments if m != "active"))


if __name__ == "__main__":
    contribution.shares = without_active  # compiled_shares looks it up when it traces
    sys.exit(cli.main(sys.argv[1:]))
