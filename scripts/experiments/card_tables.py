"""Markdown tables for the model card from head descriptions, oldest first: overall yardstick,
per kind and per generator family, one column per model.

    python scripts/experiments/card_tables.py OLD.json [...] weights/head.json
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


def header(first: str, count: int) -> str:
    names = [f"model {i + 1}" for i in range(count)]
    return f"| {first} | " + " | ".join(names) + " |\n|---|" + "---|" * count


def main(paths: list[str]) -> None:
    runs = [json.loads(Path(p).read_text())["metrics"]["yardstick"] for p in paths]
    newest = runs[-1]
    print(header("measure", len(runs)))
    for name in newest["summary"]:
        cells = [
            f"{r['summary'][name][0]:.3f} ± {r['summary'][name][1]:.3f}" if name in r["summary"] else "" for r in runs
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")
    for table in ("kind", "family"):
        print("\n" + header(f"{table} (images · accuracy)", len(runs)))
        rows = newest["tables"][table]
        for key in sorted(rows, key=lambda k: rows[k]["accuracy"][0]):
            print(f"| {key} | " + " | ".join(cell(r["tables"][table].get(key)) for r in runs) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
