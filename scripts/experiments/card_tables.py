"""Markdown tables for the model card from two head descriptions (before -> after):
overall yardstick, per kind and per generator family.

    python scripts/experiments/card_tables.py OLD.json weights/head.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def cell(row: dict | None) -> str:
    if not row:
        return ""
    m, s = row["accuracy"]
    return f"{row['n']} · {m:.2f} ± {s:.2f}"


def main(old_path: str, new_path: str) -> None:
    old, new = (json.loads(Path(p).read_text())["metrics"]["yardstick"] for p in (old_path, new_path))
    print("| measure | before | after |\n|---|---|---|")
    for name, (m, s) in new["summary"].items():
        before = old["summary"].get(name)
        print(f"| {name} | {f'{before[0]:.3f} ± {before[1]:.3f}' if before else ''} | {m:.3f} ± {s:.3f} |")
    for table in ("kind", "family"):
        print(f"\n| {table} | before: images · accuracy | after: images · accuracy |\n|---|---|---|")
        rows = new["tables"][table]
        for key in sorted(rows, key=lambda k: rows[k]["accuracy"][0]):
            print(f"| {key} | {cell(old['tables'][table].get(key))} | {cell(rows[key])} |")


if __name__ == "__main__":
    main(*sys.argv[1:3])
