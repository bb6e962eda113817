"""`python -m aiart ...`: the same functions the pages use, for scripts and checks."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from aiart.config import CLASS_NAMES, DEFAULT_HEAD


def progress_bar(label: str):
    """A one-line stderr progress bar with count and ETA, for long feature runs."""

    def show(done: int, total: int, elapsed: float) -> None:
        eta = elapsed / max(done, 1) * (total - done) if done else 0.0
        bar = "#" * int(30 * done / max(total, 1))
        sys.stderr.write(f"\r{label} [{bar:<30}] {done}/{total} ETA {eta:4.0f}s")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


def load(args):
    from aiart.storage import load_classifier

    return load_classifier(args.model)


def cmd_predict(args) -> int:
    clf = load(args)
    records = clf.classify([Path(f) for f in args.files])
    out = [{"path": f, "p_ai": r.p_ai, "label": r.label, "error": r.error} for f, r in zip(args.files, records)]
    if args.json:
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        for r in out:
            if r["error"]:
                print(f"{r['path']}\terror: {r['error']}")
            else:
                print(f"{r['path']}\tP(AI)={r['p_ai']:.3f}\t{r['label']}")
    return 0


def cmd_explain(args) -> int:
    from aiart.explain import explain
    from aiart.figure import explanation_png
    from aiart.images import ImageError

    clf = load(args)
    try:
        exp = explain(clf, Path(args.file), target=args.target, layer=args.layer, method=args.method)
    except ImageError as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return 1
    Path(args.output).write_bytes(explanation_png(exp, alpha=args.alpha))
    print(
        json.dumps(
            {
                "path": args.file,
                "p_ai": exp.p_ai,
                "label": exp.label,
                "target": exp.target,
                "layer": exp.layer,
                "method": exp.method,
                "output": args.output,
            }
        )
    )
    return 0


def cmd_evaluate(args) -> int:
    from aiart.evaluate import evaluate_folder

    report = evaluate_folder(load(args), Path(args.dir), progress=progress_bar("features"))
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(
            f"n={report['n']} accuracy={report['accuracy']:.3f} balanced={report['balanced_accuracy']:.3f} "
            f"ECE={report['ece']:.3f}"
        )
        print("confusion (rows true, cols predicted; AI first):", report["confusion"])
        for name, m in report["per_class"].items():
            print(f"  {name:17s} precision={m['precision']:.3f} recall={m['recall']:.3f} f1={m['f1']:.3f}")
    return 0


def cmd_train(args) -> int:
    from aiart import dataset, recipe
    from aiart.features import FeatureStore
    from aiart.storage import load_head_checked, save_head
    from aiart.train import TrainConfig

    clf = load(args)
    samples = recipe.select(dataset.scan(args.data), args.per_class, args.seed)
    holdout = args.holdout.split(",") if args.holdout else None
    data = recipe.split(samples, holdout, seed=args.seed)
    config = TrainConfig(
        hidden=args.hidden, learning_rate=args.lr, epochs=args.epochs, batch_size=args.batch_size, seed=args.seed
    )
    initial = load_head_checked(args.out, clf.info) if args.resume and Path(args.out).is_file() else None
    result = recipe.train_split(
        clf, data, config, FeatureStore(clf), progress=progress_bar("features"), initial=initial
    )
    save_head(result.head, result.info, Path(args.out))
    m = result.info.metrics
    print(
        json.dumps(
            {
                "out": args.out,
                "seconds": round(result.seconds, 1),
                "epochs": result.info.training["epochs_run"],
                "holdout_sources": data.holdout,
                "val_accuracy": m.get("accuracy"),
                "val_ece": m.get("ece"),
            }
        )
    )
    return 0


def cmd_bench(args) -> int:
    from aiart.bench import main as bench_main

    return bench_main(args)


def build_parser() -> argparse.ArgumentParser:
    from aiart.cam import METHODS
    from aiart.explain import DEFAULT_LAYER, DEFAULT_METHOD
    from aiart.vgg_weights import CONV_LAYERS

    p = argparse.ArgumentParser(
        prog="python -m aiart", description="Tell AI-generated art from human-made, and show why."
    )
    p.add_argument("--model", default=str(DEFAULT_HEAD), help="head .keras file (default: the shipped one)")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("predict", help="P(AI-generated) for each file")
    s.add_argument("files", nargs="+")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_predict)

    s = sub.add_parser("explain", help="Grad-CAM figure (image, heatmap, overlay) as PNG")
    s.add_argument("file")
    s.add_argument("--layer", default=DEFAULT_LAYER, choices=CONV_LAYERS)
    s.add_argument("--method", default=DEFAULT_METHOD, choices=list(METHODS))
    s.add_argument("--target", default=CLASS_NAMES[0], choices=CLASS_NAMES)
    s.add_argument("--alpha", type=float, default=0.45)
    s.add_argument("-o", "--output", required=True)
    s.set_defaults(func=cmd_explain)

    s = sub.add_parser("evaluate", help="accuracy, ECE, confusion on DIR/{AI_GENERATED,NON_AI_GENERATED}")
    s.add_argument("dir")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_evaluate)

    s = sub.add_parser("train", help="train a head on cached features, validated on held-out sources")
    s.add_argument("data")
    s.add_argument("--per-class", type=int, default=None)
    s.add_argument("--epochs", type=int, default=60)
    s.add_argument("--hidden", type=int, default=0)
    s.add_argument("--lr", type=float, default=1e-3)
    s.add_argument("--batch-size", type=int, default=64)
    s.add_argument("--holdout", default=None, help="comma-separated sources to validate on")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--resume", action="store_true", help="start from the head already at --out")
    s.add_argument("--out", default="model.keras")
    s.set_defaults(func=cmd_train)

    s = sub.add_parser("bench", help="speed ratios measured in one run")
    s.add_argument("--repeats", type=int, default=5)
    s.add_argument("--batch", type=int, default=16)
    s.add_argument("--train", action="store_true", help="also time a default training session")
    s.add_argument("--sessions", type=int, default=0, help="also report RSS with N concurrent sessions")
    s.set_defaults(func=cmd_bench)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as exc:  # DatasetError, ModelFileError, bad arguments
        print(f"error: {exc}", file=sys.stderr)
        return 2
