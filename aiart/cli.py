"""`python -m aiart ...`: the same functions the pages use, for scripts and checks."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from aiart.config import BOTH, CLASS_NAMES, DEFAULT_HEAD
from aiart.data.features import TimeLeft


def progress_bar(label: str):
    """A one-line stderr progress bar with count and ETA, for long feature runs."""

    left = TimeLeft()

    def show(done: int, total: int, elapsed: float) -> None:
        eta = left(done, total, elapsed) or 0.0
        bar = "#" * int(30 * done / max(total, 1))
        sys.stderr.write(f"\r{label} [{bar:<30}] {done}/{total} ETA {eta:4.0f}s")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


def epoch_bar(epochs: int):
    """A Keras callback drawing the epoch progress bar (early stopping may end it before the last)."""
    import time

    from aiart.training.live import EpochLog

    show, start = progress_bar("epochs  "), time.monotonic()
    return EpochLog(lambda epoch, logs: show(epoch + 1, epochs, time.monotonic() - start))


def pick_strategy(name: str):
    """`mirrored`: data-parallel over all local GPUs (or the CPU); `default`: one device."""
    import tensorflow as tf

    return tf.distribute.MirroredStrategy() if name == "mirrored" else tf.distribute.get_strategy()


def load(args):
    from aiart.model.storage import load_classifier

    return load_classifier(args.model)


def file_notes(clf, data: bytes, image) -> dict:
    """What the Classify card says beside a verdict: the soft-picture and close-up face warnings and the
    file's own metadata."""
    from aiart.trust.faces import close_up_faces
    from aiart.trust.provenance import clues
    from aiart.trust.softness import is_soft

    return {
        "soft": is_soft(clf, image),
        "close_up_faces": len(close_up_faces(image)),
        "provenance": [dataclasses.asdict(c) for c in clues(data)],
    }


def cmd_predict(args) -> int:
    from aiart.data.images import ImageError, open_image, read_bytes

    clf = load(args)
    out, images = [], {}
    for i, f in enumerate(args.files):  # each file read and decoded once: verdict, softness and metadata
        record = dict(path=f, p_ai=None, label=None, error=None, soft=None, close_up_faces=None, provenance=[])
        try:
            data = read_bytes(f)
            images[i] = open_image(data)
            record.update(file_notes(clf, data, images[i]))
        except ImageError as exc:
            record["error"] = str(exc)
        out.append(record)
    for i, verdict in zip(images, clf.classify(list(images.values()))):
        out[i].update(p_ai=verdict.p_ai, label=verdict.label, error=verdict.error)
    if args.json:
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return 0
    for r in out:
        if r["error"]:
            print(f"{r['path']}\terror: {r['error']}")
            continue
        soft = "\tsoft picture: softer than 95% of the training pool, which pushes P(AI) up" if r["soft"] else ""
        face = "\tclose-up face: real portraits are often called AI" if r["close_up_faces"] else ""
        says = "".join(f"\tthe file says: {c['text']}" for c in r["provenance"])
        print(f"{r['path']}\tP(AI)={r['p_ai']:.3f}\t{r['label']}{soft}{face}{says}")
    return 0


def cmd_explain(args) -> int:
    """The Classify card as JSON and a figure: verdict, heatmap, score by block, softness, close-up faces,
    what the file says."""
    from aiart.breakdown import breakdown
    from aiart.data.images import ImageError, open_image, read_bytes
    from aiart.explain import explain_targets
    from aiart.figure import explanation_png

    clf = load(args)
    try:
        data = read_bytes(Path(args.file))
        image = open_image(data)  # decoded once for the map, the breakdown and the softness
        targets = CLASS_NAMES if args.target == BOTH else (args.target,)
        exps = list(explain_targets(clf, image, targets, layer=args.layer, method=args.method).values())
        parts = (exps[0].breakdown or breakdown(clf, image)).summary()  # the contribution map's pass gives it
    except ImageError as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return 1
    Path(args.output).write_bytes(explanation_png(exps, alpha=args.alpha))
    exp = exps[0]
    print(
        json.dumps(
            {
                "path": args.file,
                "p_ai": exp.p_ai,
                "label": exp.label,
                "target": args.target,
                "layer": exp.layer,
                "method": exp.method,
                "output": args.output,
                "breakdown": parts,
                **file_notes(clf, data, image),
            },
            ensure_ascii=False,
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
            f"ECE={report['ece']:.3f} coverage={report['coverage']:.3f} "
            f"accuracy_when_sure={report['accuracy_when_sure']:.3f}"
        )
        print("confusion (rows true, cols predicted; AI first):", report["confusion"])
        for name, m in report["per_class"].items():
            print(f"  {name:17s} precision={m['precision']:.3f} recall={m['recall']:.3f} f1={m['f1']:.3f}")
    return 0


def base_info(args):
    """The HeadInfo of a model to compute features for: its input, views and statistics."""
    from aiart.model.classifier import HeadInfo, check_moments, check_views

    views = check_views(v.strip() for v in args.views.split(","))
    moments = check_moments(m.strip() for m in args.moments.split(","))
    return HeadInfo(input_size=args.input_size, keep_aspect=args.keep_aspect, views=views, moments=moments)


def cmd_validate(args) -> int:

    from aiart.data import dataset
    from aiart.data.features import FeatureStore
    from aiart.model.classifier import untrained_classifier
    from aiart.training import recipe, validate
    from aiart.training.probe import probe_fitter

    clf = untrained_classifier(base_info(args))
    samples = dataset.scan(args.data)
    x, y, kept, _ = recipe.features_for(FeatureStore(clf), samples, progress_bar("features"))
    by = recipe.table_columns(kept)
    groups = [s.source for s in kept]
    report = validate.yardstick(x, y, groups, probe_fitter(args.probe_c), args.folds, range(args.seeds), by)
    out = {**report.as_dict(), "unsure": validate.unsure_band(report.p, y, weights=validate.source_weights(groups))}
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"{len(y)} images, {len(set(groups))} sources, {args.folds} folds x {args.seeds} seeds, sources held out")
    for name, (mean, sd) in report.summary.items():
        print(f"  {name:18s} {mean:.3f} ± {sd:.3f}")
    band = out["unsure"]
    print(
        f"  not sure within ±{band['half_width']:.2f} of 0.5: coverage {band['coverage']:.2f}, "
        f"accuracy when sure {band['accuracy_when_sure']:.3f}"
    )
    for table, rows in report.tables.items():
        print(f"by {table}:")
        for key, row in sorted(rows.items(), key=lambda kv: kv[1]["accuracy"][0]):
            print(f"  {key:34s} n={row['n']:5d}  accuracy {row['accuracy'][0]:.3f} ± {row['accuracy'][1]:.3f}")
    return 0


def cmd_train(args) -> int:
    from aiart.data import dataset
    from aiart.data.features import FeatureStore
    from aiart.model.classifier import tuned_convs, untrained_classifier
    from aiart.model.storage import load_head_checked, save_head
    from aiart.training import recipe
    from aiart.training.fit import TrainConfig

    samples = recipe.select(dataset.scan(args.data), args.per_class, args.seed)
    config = TrainConfig(
        hidden=args.hidden,
        dropout=args.dropout,
        l2=args.l2,
        learning_rate=args.lr,
        epochs=args.epochs,
        batch_size=args.batch_size,
        seed=args.seed,
        finetune_epochs=args.finetune_epochs,
        finetune_lr=args.finetune_lr,
    )
    if args.cross_source:
        clf = untrained_classifier(base_info(args))
        seeds = tuple(range(args.seeds))
        head, info, trained = recipe.train_default(
            clf, samples, args.probe_c, args.cross_source, seeds, progress_bar("features"), args.degraded_copies
        )
        save_head(head, info, Path(args.out), trained_on=trained)
        print(json.dumps({"out": args.out, **info.metrics["yardstick"], "unsure": info.metrics["unsure"]}, indent=2))
        return 0
    # Only the feature spec matters here. Without --model, the Train page's own base (VGG16 at
    # recipe.TRAIN_INPUT_SIZE), so the command costs what the page costs and shares its feature cache.
    clf = recipe.train_base() if args.model == str(DEFAULT_HEAD) else load(args)
    holdout = args.holdout.split(",") if args.holdout else None
    data = recipe.split(samples, holdout, seed=args.seed)
    strategy = pick_strategy(args.strategy)
    with strategy.scope():  # a resumed head's variables must live where the strategy trains them
        initial = load_head_checked(args.out, clf.info) if args.resume and Path(args.out).is_file() else None
    if initial is not None and tuned_convs(initial):
        raise ValueError(f"--resume continues a head on frozen features; {args.out} has a fine-tuned block")
    result = recipe.train_split(
        clf,
        data,
        config,
        FeatureStore(clf),
        [epoch_bar(args.epochs + args.finetune_epochs)],
        progress=progress_bar("features"),
        initial=initial,
        augment=args.augment,
        strategy=strategy,
    )
    if result.info.training["epochs_run"] < args.epochs + args.finetune_epochs:  # early stopping: end the bar's line
        sys.stderr.write("\n")
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
                "unsure": result.info.unsure,  # the "not sure" band's half-width, fitted on the held-out sources
                "val_coverage": m.get("coverage"),
                "val_accuracy_when_sure": m.get("accuracy_when_sure"),
                "cross_fitted": m.get("cross_fitted", False),  # ECE and the two above chose nothing
            }
        )
    )
    return 0


def cmd_browse(args) -> int:
    """The Browse page's grid as records: same filters, sort and metrics (aiart/browse.py)."""
    from aiart import browse

    clf = load(args)
    records = browse.predictions(clf, Path(args.dir), progress=progress_bar("features"))
    if args.source is not None and args.source not in browse.sources(records):
        raise ValueError(f"unknown source {args.source!r}; choose from {', '.join(browse.sources(records))}")
    faces = browse.close_up_faces(Path(args.dir), progress=progress_bar("faces")) if args.faces else None
    selected = browse.select(records, args.filter, args.source, args.sort, faces)
    shown = selected[: args.limit] if args.limit else selected
    scope = browse.select(records, "all", args.source, faces=faces)
    summary = {**browse.summary(scope, clf.threshold), "matched": len(selected)}
    if args.json:
        print(json.dumps({"summary": summary, "records": [r.to_dict() for r in shown]}, indent=2, ensure_ascii=False))
        return 0
    for r in shown:
        mark = "not sure" if r.unsure else "right" if r.correct else "WRONG"
        verdict = f"error: {r.error}" if r.error else f"P(AI)={r.p_ai:.3f}\t{mark}"
        print(f"{r.path}\t{r.label}\t{verdict}")
    scope_name = "close-up faces" if faces is not None else "folder"
    print(
        f"{len(shown)} of {summary['matched']} matching; {scope_name}: n={summary['n']} right={summary['right']} "
        f"wrong={summary['wrong']} not_sure={summary['not_sure']} accuracy={summary['accuracy']:.3f} "
        f"ECE={summary['ece']:.3f} unreadable={summary['unreadable']}",
        file=sys.stderr,
    )
    return 0


def cmd_bench(args) -> int:
    if args.classroom:
        from aiart.bench.classroom import main as bench_classroom

        return bench_classroom(args.classroom, args.processes)
    from aiart.bench.inference import main as bench_main

    return bench_main(args)


def method_list(text: str) -> list[str]:
    return [m.strip() for m in text.split(",") if m.strip()]


def cmd_faithfulness(args) -> int:
    from aiart.trust.faithfulness import evaluate_files, image_files

    report, errors = evaluate_files(
        load(args),
        image_files(args.dir, args.limit),
        progress=progress_bar("images"),
        layer=args.layer,
        methods=method_list(args.methods),
        target=args.target,
        steps=args.steps,
        random_orders=args.random_orders,
    )
    for path, msg in errors.items():
        print(f"{path}: skipped, {msg}", file=sys.stderr)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"n={report['n']} images; deletion AUC: lower is better, insertion AUC: higher is better")
    rows = [*report["methods"].items(), ("random", report["random"])]
    width = max(len(name) for name, _ in rows)
    for name, aucs in rows:
        print(f"  {name:{width}s} deletion {aucs['deletion_auc']:.3f}  insertion {aucs['insertion_auc']:.3f}")
    return 0


def cmd_sanity(args) -> int:
    from aiart.trust.sanity import sanity_check

    res = sanity_check(
        load(args), Path(args.file), layer=args.layer, methods=method_list(args.methods), target=args.target
    )
    if args.json:
        print(json.dumps(res.summary(), indent=2))
        return 0
    print(f"Spearman correlation with the original map ({res.layer}, {res.target}); flagged above {res.threshold}")
    width = max(len(m) for m in ["method", *res.correlations])
    print(f"{'method':{width}s} " + " ".join(f"{s:>7s}" for s in res.stages[1:]))
    for m, corr in res.correlations.items():
        verdict = "FLAGGED: map ignores the model" if res.flagged[m] else "ok"
        print(f"{m:{width}s} " + " ".join(f"{c:7.3f}" for c in corr) + f"  {verdict}")
    return 0


def cmd_robustness(args) -> int:
    from aiart.trust.robustness import probe

    if Path(args.file).is_dir():
        return robustness_folder(args)
    res = probe(load(args), Path(args.file))
    if args.json:
        print(json.dumps(res.summary(), indent=2))
        return 0
    print(f"original: P(AI)={res.p_ai:.3f} {res.label}")
    for r in res.rows:
        flip = "CHANGES" if r.flips else ""
        print(f"  {r.probe:11s} P(AI)={r.p_ai:.3f} {r.change:+.3f} {flip:7s} {r.description}")
    return 0


def robustness_folder(args) -> int:
    from aiart.data import dataset
    from aiart.trust.robustness import folder_scores

    samples = dataset.seeded_sample(dataset.scan(args.file), args.limit)
    out = folder_scores(load(args), samples, progress=progress_bar("images"))
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"n={out['n']} labelled images; accuracy at the model's threshold, verdicts changed, mean change of P(AI)")
    for name, r in out["probes"].items():
        print(
            f"  {name:11s} accuracy={r['accuracy']:.3f} changed={r['changed']:.3f} "
            f"P(AI) {r['mean_change']:+.3f}  {r['description']}"
        )
    for path, err in out["errors"].items():
        print(f"  skipped {path}: {err}")
    return 0


LAYER_HELP = "a conv layer (block1_conv1 ... block5_conv3), or several joined by + (their maps averaged)"


def layer_arg(text: str) -> str:
    """`--layer`: one conv layer, or several joined by '+', each checked by name."""
    from aiart.cam.base import split_layers
    from aiart.model.vgg_weights import CONV_LAYERS

    try:
        parts = split_layers(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    unknown = [p for p in parts if p not in CONV_LAYERS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown conv layer {unknown[0]!r}; choose from {', '.join(CONV_LAYERS)}")
    return "+".join(parts)


def build_parser() -> argparse.ArgumentParser:
    from aiart.browse import FILTERS, SORTS
    from aiart.cam import FAST_METHODS, METHODS
    from aiart.explain import DEFAULT_LAYER, DEFAULT_METHOD
    from aiart.trust.faithfulness import RANDOM_ORDERS

    p = argparse.ArgumentParser(
        prog="python -m aiart", description="Tell AI-generated art from human-made, and show why."
    )
    p.add_argument("--model", default=str(DEFAULT_HEAD), help="head .keras file (default: the shipped one)")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("predict", help="P(AI-generated) for each file")
    s.add_argument("files", nargs="+")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_predict)

    s = sub.add_parser("explain", help="heatmap figure (image, heatmap, overlay) as PNG; JSON: verdict, score by block")
    s.add_argument("file")
    s.add_argument("--layer", default=DEFAULT_LAYER, type=layer_arg, help=LAYER_HELP)
    s.add_argument("--method", default=DEFAULT_METHOD, choices=list(METHODS))
    s.add_argument(
        "--target", default=CLASS_NAMES[0], choices=[*CLASS_NAMES, BOTH], help="both: one pass, both classes' maps"
    )
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
    s.add_argument("--hidden", type=int, default=256)
    s.add_argument("--dropout", type=float, default=0.5)
    s.add_argument("--l2", type=float, default=1e-2)
    s.add_argument("--lr", type=float, default=1e-3)
    s.add_argument("--batch-size", type=int, default=64)
    s.add_argument("--holdout", default=None, help="comma-separated sources to validate on")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--resume", action="store_true", help="start from the head already at --out")
    s.add_argument(
        "--augment",
        nargs="?",
        const="mirrored",
        choices=("mirrored", "degraded"),
        help="add a copy of each training image: mirrored (the default) or degraded (blur, shrink, JPEG, screenshot)",
    )
    s.add_argument(
        "--finetune-epochs",
        type=int,
        default=0,
        metavar="N",
        help="then also fine-tune block5 with the head for N epochs (slow on CPU: a GPU helps)",
    )
    s.add_argument("--finetune-lr", type=float, default=1e-5)
    s.add_argument(
        "--strategy",
        choices=("default", "mirrored"),
        default="default",
        help="tf.distribute strategy: mirrored = one replica per local GPU (see README, multi-GPU)",
    )
    s.add_argument(
        "--cross-source",
        type=int,
        default=0,
        metavar="K",
        help="train the default model: the yardstick (K folds x --seeds), calibration, then a probe on all data",
    )
    s.add_argument("--seeds", type=int, default=3, help="with --cross-source: repeated splits")
    s.add_argument("--probe-c", type=float, default=0.01, help="with --cross-source: inverse L2 strength")
    s.add_argument("--input-size", type=int, default=224, help="with --cross-source: input side, in pixels")
    s.add_argument("--keep-aspect", action="store_true", help="with --cross-source: scale the longer side, no squash")
    s.add_argument("--views", default="plain", help="with --cross-source: what VGG16 sees, e.g. plain,highpass")
    s.add_argument(
        "--moments", default="mean,std", help="with --cross-source: each channel's statistics, e.g. mean,std,active"
    )
    s.add_argument(
        "--degraded-copies",
        action="store_true",
        help="with --cross-source: each training picture also lends a blurred, shrunk, JPEG or screenshot copy",
    )
    s.add_argument("--out", default="model.keras")
    s.set_defaults(func=cmd_train)

    s = sub.add_parser("validate", help="the yardstick: repeated source-held-out CV of the default recipe on DATA")
    s.add_argument("data")
    s.add_argument("--folds", type=int, default=5)
    s.add_argument("--seeds", type=int, default=3)
    s.add_argument("--probe-c", type=float, default=0.01, help="inverse L2 strength of the logistic probe")
    s.add_argument("--input-size", type=int, default=224, help="input side (the longer one with --keep-aspect)")
    s.add_argument("--keep-aspect", action="store_true", help="scale the longer side instead of squashing")
    s.add_argument("--views", default="plain", help="what VGG16 sees of each image, e.g. plain,highpass")
    s.add_argument("--moments", default="mean,std", help="each channel's statistics, e.g. mean,std,active")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_validate)

    s = sub.add_parser("browse", help="the Browse page's records: filter a labelled folder by the model's verdicts")
    s.add_argument("dir")
    s.add_argument("--filter", default="all", choices=list(FILTERS))
    s.add_argument("--source", default=None, help="only images of this source")
    s.add_argument(
        "--sort", default=None, choices=list(SORTS), help="by P(AI): p_ai ascending, -p_ai descending (--sort=-p_ai)"
    )
    s.add_argument("--faces", action="store_true", help="only pictures with a close-up face (the summary too)")
    s.add_argument("--limit", type=int, default=0, help="show at most N records (0: all)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_browse)

    s = sub.add_parser("bench", help="speed ratios measured in one run")
    s.add_argument("--repeats", type=int, default=5)
    s.add_argument("--batch", type=int, default=16)
    s.add_argument("--train", action="store_true", help="also time a default training session")
    s.add_argument(
        "--finetune-epochs", type=int, default=0, metavar="N", help="with --train: also time fine-tuning block5"
    )
    s.add_argument("--sessions", type=int, default=0, help="also report RSS with N concurrent sessions")
    s.add_argument(
        "--classroom",
        type=int,
        default=0,
        metavar="N",
        help="only the live class vote: N simulated voters against $AIART_CLASSROOM_DB (unset: a temporary SQLite "
        "file), store votes/s, votes lost and vote-to-tally time (no model)",
    )
    s.add_argument(
        "--processes", type=int, default=1, metavar="P", help="with --classroom: spread the voters over P processes"
    )
    s.set_defaults(func=cmd_bench)

    s = sub.add_parser("faithfulness", help="deletion/insertion AUCs of each CAM method vs random, over DIR")
    s.add_argument("dir", help="a folder of images (flat or AI_GENERATED/ + NON_AI_GENERATED/)")
    s.add_argument("--layer", default=None, type=layer_arg, help=f"{LAYER_HELP}; default {DEFAULT_LAYER}")
    s.add_argument("--methods", default=",".join(FAST_METHODS), help="comma-separated")
    s.add_argument("--target", default=None, choices=CLASS_NAMES, help="default: the model's verdict per image")
    s.add_argument("--steps", type=int, default=8)
    s.add_argument(
        "--random-orders",
        type=int,
        default=RANDOM_ORDERS,
        help=f"random orders per image for the baseline (default {RANDOM_ORDERS}); more give a steadier "
        "baseline, each costing as much as one method",
    )
    s.add_argument("--limit", type=int, default=None, help="a seeded random sample of this many images")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_faithfulness)

    s = sub.add_parser("sanity", help="do the heatmaps change when the model is randomized? (Adebayo et al.)")
    s.add_argument("file")
    s.add_argument("--layer", default=None, type=layer_arg, help=f"{LAYER_HELP}; default {DEFAULT_LAYER}")
    s.add_argument("--methods", default=",".join(METHODS), help="comma-separated")
    s.add_argument("--target", default=None, choices=CLASS_NAMES, help="default: the model's verdict")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_sanity)

    s = sub.add_parser("robustness", help="P(AI) under JPEG, resizing, cropping, blur and a screenshot")
    s.add_argument("file", help="an image, or a labelled folder (AI_GENERATED/, NON_AI_GENERATED/)")
    s.add_argument("--limit", type=int, help="a folder: a seeded random sample of this many images")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_robustness)
    return p


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # a file name that is not valid UTF-8 prints as \udcff, never crashes
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as exc:  # DatasetError, ModelFileError, bad arguments
        print(f"error: {exc}", file=sys.stderr)
        return 2
