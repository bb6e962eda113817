"""The CLI under bad input: one JSON record per file, a one-line error for each bad one, exit 0.

Every kind of file from tests/data/test_images.py goes through one `python -m aiart predict --json`
call, so one broken file never takes the batch down; folders and model files that cannot be used
end in a one-line `error: ...` and exit code 2, never a traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from aiart.config import CLASS_NAMES, PROJECT_ROOT
from aiart.model.storage import save_head
from tests.conftest import png_bytes, portrait, synthetic_art
from tests.data.test_images import BAD, GOOD, gradient

LONG_NAME = "Ölgemälde 日本語 🎨 " + "x" * 170 + ".png"  # ~200 characters, under 255 bytes
TOO_LONG = "y" * 300 + ".png"  # longer than any file system allows: cannot exist on disk

EXTRA_GOOD = {
    "png named .jpg": ("photo.jpg", lambda: png_bytes(gradient(8, 8))),
    "long non-ascii name": (LONG_NAME, lambda: png_bytes(gradient(9, 9))),
    "name not valid utf-8": (os.fsdecode(b"scan-\xff\xfe.png"), lambda: png_bytes(gradient(7, 7))),
}
EXTRA_BAD = {"missing file": "not found", "name too long": "too long"}


def slug(kind: str) -> str:
    return kind.replace(" ", "_").replace("-", "_")


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    # strict UTF-8 output, as under most locales: a name that is not UTF-8 must still print
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONIOENCODING="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "aiart", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=PROJECT_ROOT,
        env=env,
        check=False,
    )


def assert_one_line_error(proc: subprocess.CompletedProcess, fragment: str) -> None:
    """Exit 2, no traceback, and the last stderr line is the readable message."""
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and fragment.lower() in last.lower(), proc.stderr


@pytest.fixture(scope="module")
def small_head(tmp_path_factory, small_classifier):
    """The small test classifier saved as a model file, so subprocesses load it in seconds."""
    path = tmp_path_factory.mktemp("model") / "small.keras"
    save_head(small_classifier.head, small_classifier.info, path)
    return path


@pytest.fixture(scope="module")
def batch(tmp_path_factory, small_head):
    """Every kind of file written to disk and classified in ONE CLI call: kind -> (path, record)."""
    folder = tmp_path_factory.mktemp("uploads")
    paths = {}
    for kind, (data, _) in BAD.items():
        paths[kind] = folder / f"{slug(kind)}.png"
        paths[kind].write_bytes(data)
    for kind, (make, _) in GOOD.items():
        paths[kind] = folder / f"{slug(kind)}.img"
        paths[kind].write_bytes(make())
    for kind, (name, make) in EXTRA_GOOD.items():
        paths[kind] = folder / name
        paths[kind].write_bytes(make())
    paths["missing file"] = folder / "missing.png"
    paths["name too long"] = folder / TOO_LONG
    proc = run_cli("--model", str(small_head), "predict", "--json", *map(str, paths.values()))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    records = json.loads(proc.stdout)
    assert [r["path"] for r in records] == [str(p) for p in paths.values()], "one record per file, in order"
    return {kind: (path, record) for (kind, path), record in zip(paths.items(), records)}


GOOD_KINDS = sorted([*GOOD, *EXTRA_GOOD])
BAD_KINDS = sorted([*BAD, *EXTRA_BAD])


@pytest.mark.parametrize("kind", GOOD_KINDS)
def test_cli_predicts_every_good_kind(batch, kind, small_classifier):
    path, record = batch[kind]
    assert set(record) == {"path", "p_ai", "label", "error", "soft", "close_up_faces", "provenance"}
    assert record["error"] is None and record["soft"] is None  # the small test model stores no sharpness level
    assert record["close_up_faces"] == 0  # pictures drawn by code show no face
    assert record["provenance"] == []  # pictures drawn by code carry no camera or AI metadata
    assert 0.0 <= record["p_ai"] <= 1.0
    assert record["label"] in CLASS_NAMES
    # the CLI and the Python API agree on the same file (batch composition moves float round-off)
    assert record["p_ai"] == pytest.approx(float(small_classifier.predict([path])[0]), abs=1e-3)


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_cli_reports_every_bad_kind_in_one_line(batch, kind):
    _, record = batch[kind]
    fragment = BAD[kind][1] if kind in BAD else EXTRA_BAD[kind]
    assert record["p_ai"] is None and record["label"] is None
    message = record["error"]
    assert fragment.lower() in message.lower(), message
    assert "\n" not in message and 0 < len(message) < 300


def test_cli_human_output_names_each_bad_file(tmp_path, small_head):
    good, bad = tmp_path / (LONG_NAME), tmp_path / "broken.png"
    good.write_bytes(png_bytes(synthetic_art(0, True)))
    bad.write_bytes(BAD["truncated png"][0])
    proc = run_cli("--model", str(small_head), "predict", str(good), str(bad))
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[0].startswith(f"{good}\tP(AI)=")
    assert lines[1].startswith(f"{bad}\terror: truncated")


def test_cli_predict_says_what_the_files_metadata_says(tmp_path, small_head):
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Apple", "iPhone 13"
    synthetic_art(0, False, (64, 64)).save(tmp_path / "phone.jpg", exif=exif)
    proc = run_cli("--model", str(small_head), "predict", str(tmp_path / "phone.jpg"))
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stdout.strip().endswith("\tthe file says: Its EXIF names a camera: Apple iPhone 13.")
    proc = run_cli("--model", str(small_head), "predict", "--json", str(tmp_path / "phone.jpg"))
    (record,) = json.loads(proc.stdout)
    assert record["provenance"] == [{"points_to": "camera", "text": "Its EXIF names a camera: Apple iPhone 13."}]


def test_cli_predict_marks_a_picture_softer_than_the_models_pool(tmp_path, small_classifier, capsys):
    import dataclasses

    from PIL import ImageFilter

    from aiart import cli
    from aiart.trust.softness import sharpness

    sharp = synthetic_art(0, True, (64, 64))
    sharp.save(tmp_path / "sharp.png")
    sharp.filter(ImageFilter.GaussianBlur(2)).save(tmp_path / "soft.png")
    level = 0.9 * sharpness(sharp, small_classifier.input_size)
    info = dataclasses.replace(small_classifier.info, metrics={"sharpness": {"soft_below": level}})
    save_head(small_classifier.head, info, tmp_path / "m.keras")
    files = [str(tmp_path / "sharp.png"), str(tmp_path / "soft.png")]
    assert cli.main(["--model", str(tmp_path / "m.keras"), "predict", "--json", *files]) == 0
    assert [r["soft"] for r in json.loads(capsys.readouterr().out)] == [False, True]
    assert cli.main(["--model", str(tmp_path / "m.keras"), "predict", *files]) == 0
    first, second = capsys.readouterr().out.splitlines()
    assert "soft picture" not in first and "soft picture" in second


def test_cli_predict_marks_a_close_up_face(tmp_path, small_head, capsys):
    from aiart import cli

    portrait().save(tmp_path / "portrait.jpg")
    synthetic_art(0, True, (64, 64)).save(tmp_path / "art.png")
    files = [str(tmp_path / "portrait.jpg"), str(tmp_path / "art.png")]
    assert cli.main(["--model", str(small_head), "predict", "--json", *files]) == 0
    assert [r["close_up_faces"] for r in json.loads(capsys.readouterr().out)] == [1, 0]
    assert cli.main(["--model", str(small_head), "predict", *files]) == 0
    first, second = capsys.readouterr().out.splitlines()
    assert "close-up face" in first and "close-up face" not in second


def test_cli_explain_bad_file_is_one_line(tmp_path, small_head):
    bad = tmp_path / "page.png"
    bad.write_bytes(BAD["html"][0])
    proc = run_cli("--model", str(small_head), "explain", str(bad), "--layer", "block3_conv3", "-o", "x.png")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == f"{bad}: this is an HTML page, not an image"
    assert not (PROJECT_ROOT / "x.png").exists()


def test_cli_explain_averages_several_layers_and_names_a_wrong_one(tmp_path, small_head, capsys):
    from aiart import cli

    image = tmp_path / "a.png"
    synthetic_art(3, True).save(image)
    out = tmp_path / "fig.png"
    assert (
        cli.main(
            ["--model", str(small_head), "explain", str(image), "--layer", "block2_conv2+block3_conv3", "-o", str(out)]
        )
        == 0
    )
    assert out.read_bytes().startswith(b"\x89PNG")
    for bad, says in (("block2_conv2+nope", "unknown conv layer 'nope'"), ("block2_conv2+", "each once")):
        with pytest.raises(SystemExit):
            cli.main(["--model", str(small_head), "explain", str(image), "--layer", bad, "-o", str(out)])
        assert says in capsys.readouterr().err


def test_cli_explain_prints_the_breakdown(tmp_path, small_head, capsys):
    from aiart import cli

    image = tmp_path / "a.png"
    synthetic_art(3, True).save(image)
    assert cli.main(["--model", str(small_head), "explain", str(image), "-o", str(tmp_path / "f.png")]) == 0
    out = json.loads(capsys.readouterr().out)
    parts = out["breakdown"]
    assert {p["block"] for p in parts["shares"]} == {"block1", "block2", "block3"}
    assert np.isfinite([parts["logit"], parts["average_logit"]]).all()
    assert out["soft"] is None and out["provenance"] == []  # as on the Classify card: no level stored, no metadata
    assert out["close_up_faces"] == 0


def test_cli_explain_both_targets_in_one_figure(tmp_path, small_head, capsys):
    from PIL import Image

    from aiart import cli

    image, one, both = tmp_path / "a.png", tmp_path / "one.png", tmp_path / "both.png"
    synthetic_art(3, True).save(image)
    assert cli.main(["--model", str(small_head), "explain", str(image), "-o", str(one)]) == 0
    assert json.loads(capsys.readouterr().out)["target"] == "AI_GENERATED"
    assert cli.main(["--model", str(small_head), "explain", str(image), "--target", "both", "-o", str(both)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["target"] == "both" and 0 <= out["p_ai"] <= 1
    with Image.open(one) as a, Image.open(both) as b:  # image | heatmap | overlay, image | AI | human: 3 panels
        assert a.size == b.size


@pytest.mark.parametrize(
    ("setup", "fragment"),
    [
        ("missing", "does not exist"),
        ("empty", "no images found"),
        ("one class", "only one class"),
    ],
)
def test_cli_unusable_data_folder(tmp_path, small_head, setup, fragment):
    root = tmp_path / "data"
    if setup != "missing":
        root.mkdir()
    if setup == "one class":
        (root / "AI_GENERATED").mkdir()
        synthetic_art(0, True).save(root / "AI_GENERATED" / "a.png")
    proc = run_cli("--model", str(small_head), "evaluate", str(root))
    assert_one_line_error(proc, fragment)


def test_cli_unusable_model_files(tmp_path, small_classifier):
    not_a_model = tmp_path / "upload.keras"
    not_a_model.write_bytes(np.random.default_rng(0).bytes(500))
    (tmp_path / "upload.json").write_text(small_classifier.info.dumps())
    assert_one_line_error(run_cli("--model", str(not_a_model), "predict", "x.png"), "not a loadable .keras model")
    assert_one_line_error(run_cli("--model", str(tmp_path / "nothing.keras"), "predict", "x.png"), "nothing.json")


def test_cli_says_unsure_inside_the_band_and_evaluate_reports_coverage(tmp_path, small_classifier):
    """A model that always says P(AI) = 0.5 is inside any "not sure" band; accuracy still counts all."""
    from dataclasses import replace

    import keras

    from aiart.training.fit import fold_calibration
    from tests.conftest import write_sourced_folder

    flat = keras.models.clone_model(small_classifier.head)
    flat.set_weights(small_classifier.head.get_weights())
    fold_calibration(flat, 0.0, 0.0)  # every logit 0
    path = tmp_path / "unsure.keras"
    save_head(flat, replace(small_classifier.info, unsure=0.1), path)
    image = tmp_path / "a.png"
    image.write_bytes(png_bytes(synthetic_art(1, True)))
    proc = run_cli("--model", str(path), "predict", "--json", str(image))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)[0]["label"] == "UNSURE"
    proc = run_cli("--model", str(path), "evaluate", "--json", str(write_sourced_folder(tmp_path / "data")))
    report = json.loads(proc.stdout)
    assert report["coverage"] == 0.0 and 0.0 <= report["accuracy"] <= 1.0


@pytest.mark.slow
def test_cli_train_cross_source_with_degraded_copies_saves_a_model_that_says_so(tmp_path):
    from tests.conftest import write_sourced_folder

    data, out = write_sourced_folder(tmp_path / "data"), tmp_path / "head.keras"
    args = ("train", str(data), "--cross-source", "3", "--seeds", "1", "--input-size", "32", "--out", str(out))
    proc = run_cli(*args, "--degraded-copies")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["summary"]["accuracy"][0] >= 0
    info = json.loads(out.with_suffix(".json").read_text())
    assert info["training"]["degraded_copies"] == info["training"]["n"] == 18
    assert run_cli("--model", str(out), "predict", str(next(data.rglob("*.png")))).returncode == 0


@pytest.mark.slow
def test_cli_validate_prints_the_yardstick(tmp_path):
    from tests.conftest import write_sourced_folder

    data = write_sourced_folder(tmp_path / "data")
    proc = run_cli("validate", str(data), "--input-size", "32", "--folds", "3", "--seeds", "2", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["seeds"] == [0, 1] and set(report["summary"]) >= {"accuracy", "auc", "ece", "ece_by_source"}
    assert {"family", "kind"} <= set(report["tables"]) and 0 <= report["unsure"]["coverage"] <= 1
    human = run_cli(
        "validate", str(data), "--input-size", "32", "--folds", "3", "--seeds", "1", "--moments", "mean,std,active"
    )
    assert human.returncode == 0 and "accuracy" in human.stdout and "by kind:" in human.stdout
    bad = run_cli("validate", str(data), "--input-size", "32", "--moments", "mean,max")
    assert bad.returncode != 0 and "statistics must be mean, std" in bad.stderr and "Traceback" not in bad.stderr
