"""Package-level hardening: unusable model files and folders, and a bounded feature cache.

A class drags in anything: a `.keras` that is not a model, a model of the wrong shape, a folder
that is missing, empty or has one class. Each must end in one readable message. The disk cache
of features must stay under its cap, drop the least recently used entries first, and never trust
an entry it cannot read.
"""

from __future__ import annotations

import io
import os
import shutil
import time
import zipfile

import keras
import numpy as np
import pytest

from aiart.data.dataset import DatasetError, scan
from aiart.data.features import FeatureStore, keyed
from aiart.model.classifier import HeadInfo, build_head, feature_dim
from aiart.model.storage import ModelFileError, load_classifier, load_head_checked, save_head
from tests.conftest import SMALL_TAPS, png_bytes, synthetic_art

DIM = feature_dim(SMALL_TAPS)
INFO = HeadInfo(input_size=32, taps=SMALL_TAPS)


# -- model files ----------------------------------------------------------------------------------
def zip_not_keras() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("config.json", "{not json")
    return buf.getvalue()


def save_model(model: keras.Model, path) -> str:
    model.save(path)
    return str(path)


def two_outputs() -> keras.Model:
    inp = keras.Input((DIM,))
    return keras.Model(inp, keras.layers.Dense(2)(inp))


def two_inputs() -> keras.Model:
    a, b = keras.Input((DIM,)), keras.Input((DIM,))
    return keras.Model([a, b], keras.layers.Dense(1)(keras.layers.Add()([a, b])))


@pytest.mark.parametrize(
    ("kind", "fragment"),
    [
        ("random bytes", "not a loadable .keras model"),
        ("empty", "not a loadable .keras model"),
        ("zip, not keras", "not a loadable .keras model"),
        ("png renamed", "not a loadable .keras model"),
        ("wrong feature size", f"must map (None, {DIM}) -> (None, 1)"),
        ("two outputs", "-> (None, 2)"),
        ("two inputs", "must map"),
    ],
)
def test_unusable_model_upload_is_one_line(tmp_path, kind, fragment):
    path = tmp_path / "upload.keras"
    if kind == "random bytes":
        path.write_bytes(np.random.default_rng(1).bytes(4000))
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "zip, not keras":
        path.write_bytes(zip_not_keras())
    elif kind == "png renamed":
        synthetic_art(0, True).save(path, "PNG")
    elif kind == "wrong feature size":
        save_model(build_head(DIM + 1), path)
    elif kind == "two outputs":
        save_model(two_outputs(), path)
    else:
        save_model(two_inputs(), path)
    with pytest.raises(ModelFileError) as info:
        load_head_checked(path, INFO)
    message = str(info.value)
    assert fragment in message, message
    assert "\n" not in message and len(message) < 400


def test_model_with_wrong_suffix_is_refused(tmp_path):
    path = tmp_path / "upload.bin"
    save_model(build_head(DIM), tmp_path / "ok.keras")
    shutil.copy(tmp_path / "ok.keras", path)
    with pytest.raises(ModelFileError, match="not a loadable"):
        load_head_checked(path, INFO)


def test_saved_head_round_trips(tmp_path, small_classifier):
    path = tmp_path / "kept.keras"
    save_head(small_classifier.head, small_classifier.info, path)
    clf = load_classifier(path)
    assert clf.version == small_classifier.version
    img = synthetic_art(3, True)
    assert clf.predict([img])[0] == pytest.approx(small_classifier.predict([img])[0], abs=1e-5)
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")], "no temp files left behind"


def test_model_and_description_that_do_not_match_are_refused(tmp_path, small_classifier):
    """A save interrupted between the two files must not pair a head with another head's settings."""
    a, b = tmp_path / "a.keras", tmp_path / "b.keras"
    save_head(small_classifier.head, small_classifier.info, a)
    other = build_head(DIM)
    save_head(other, HeadInfo(input_size=32, taps=SMALL_TAPS, threshold=0.3), b)
    shutil.copy(b, a)  # new .keras, old .json: what a kill between the two replaces leaves
    with pytest.raises(ModelFileError, match="does not match"):
        load_classifier(a)


def test_broken_model_description_is_one_line(tmp_path, small_classifier):
    path = tmp_path / "m.keras"
    save_head(small_classifier.head, small_classifier.info, path)
    for text in ("{not json", '{"input_size": 32}', "[]"):
        path.with_suffix(".json").write_text(text)
        with pytest.raises(ModelFileError, match="not an aiart model description") as info:
            load_classifier(path)
        assert "\n" not in str(info.value)


# -- data folders ---------------------------------------------------------------------------------
def test_missing_empty_and_one_class_folders(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        scan(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match=r"no images found.*AI_GENERATED and NON_AI_GENERATED"):
        scan(tmp_path / "empty")
    one = tmp_path / "one" / "NON_AI_GENERATED"
    one.mkdir(parents=True)
    synthetic_art(0, False).save(one / "a.png")
    with pytest.raises(DatasetError, match=r"only one class.*AI_GENERATED/"):
        scan(tmp_path / "one")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(DatasetError, match="does not exist"):
        scan(tmp_path / "file.txt")


def test_unreadable_manifest_is_one_line(tmp_path):
    (tmp_path / "manifest.csv").write_bytes(b"path,label\n\xff\xfe\xfa,AI_GENERATED\n")
    with pytest.raises(DatasetError, match="not a readable UTF-8 CSV"):
        scan(tmp_path)


def test_manifest_rows_that_do_not_fit_are_skipped(labelled_folder):
    rows = [
        "path,label,source_repo",
        "AI_GENERATED/ai_generated_0.png,AI_GENERATED,gen",
        "NON_AI_GENERATED/non_ai_generated_0.png,NON_AI_GENERATED,museum",
        "AI_GENERATED/missing.png,AI_GENERATED,gen",  # missing file
        "AI_GENERATED/ai_generated_1.png,CAT,gen",  # unknown label
        ",AI_GENERATED,gen",  # empty path
        "AI_GENERATED/bad\x00name.png,AI_GENERATED,gen",  # NUL byte
        "AI_GENERATED/" + "z" * 400 + ".png,AI_GENERATED,gen",  # name too long
        "short_row",
    ]
    (labelled_folder / "manifest.csv").write_text("\n".join(rows) + "\n")
    samples = scan(labelled_folder)
    assert [(s.path.name, s.label, s.source) for s in samples] == [
        ("ai_generated_0.png", "AI_GENERATED", "gen"),
        ("non_ai_generated_0.png", "NON_AI_GENERATED", "museum"),
    ]


# -- the feature cache ----------------------------------------------------------------------------
def entry_files(store: FeatureStore) -> list:
    return sorted(store.root.glob("??/*.npy"))


def test_feature_cache_evicts_least_recently_used(tmp_path, small_classifier):
    probe = FeatureStore(small_classifier, root=tmp_path / "probe")
    probe.compute([synthetic_art(99, True)])
    entry = entry_files(probe)[0].stat().st_size
    store = FeatureStore(small_classifier, root=tmp_path / "cache", cap_bytes=10 * entry + 10)

    old = [synthetic_art(i, True) for i in range(6)]
    feats_old, _ = store.compute(old)
    keys = [store.path(keyed(img)[0]).name for img in old]
    past = time.time() - 1000
    for path in entry_files(store):
        os.utime(path, (past, past))
    feats_hit, _ = store.compute(old[:3])  # cache hits: these become recently used
    np.testing.assert_array_equal(feats_hit, feats_old[:3])
    new = [synthetic_art(100 + i, False) for i in range(5)]
    store.compute(new)  # 11 entries > cap of 10: evict down to 8, oldest first

    left = {p.name for p in entry_files(store)}
    assert len(left) == 8
    assert set(keys[:3]) <= left, "recently read entries are kept"
    assert not set(keys[3:]) & left, "least recently used entries go first"
    assert sum(p.stat().st_size for p in entry_files(store)) <= store.cap


def test_feature_cache_cap_counts_every_model_spec_and_skips_temp_files(tmp_path, small_classifier):
    store = FeatureStore(small_classifier, root=tmp_path, cap_bytes=0)
    other = tmp_path / "224-otherspec" / "ab"
    other.mkdir(parents=True)
    np.save(other / "old.npy", np.zeros(8, np.float32))
    stale, fresh = other / "killed.tmp", other / "writing.tmp"
    stale.write_bytes(b"half an entry")
    fresh.write_bytes(b"being written")
    past = time.time() - 7200
    os.utime(stale, (past, past))
    assert [p.name for _, _, p in store.entries()] == ["old.npy"], "temp files are never entries"
    assert not stale.exists() and fresh.exists(), "stale temp files of killed writers are removed"
    store.compute([synthetic_art(0, True)])
    assert not (other / "old.npy").exists() and entry_files(store) == [], "cap 0 keeps nothing on disk"


def test_corrupted_cache_entries_are_recomputed(tmp_path, small_classifier):
    store = FeatureStore(small_classifier, root=tmp_path)
    img = synthetic_art(5, False)
    fresh, _ = store.compute([img])
    (path,) = entry_files(store)
    good = path.read_bytes()
    for corrupt in (
        good[: len(good) // 2],  # truncated
        b"",  # empty
        np.random.default_rng(0).bytes(len(good)),  # garbage of the right size
        None,  # a valid .npy of the wrong shape
        "nan",  # a valid .npy holding NaN
    ):
        if corrupt is None:
            np.save(path, np.zeros(7, np.float32))
        elif corrupt == "nan":
            np.save(path, np.full(store.shape, np.nan, np.float32))
        else:
            path.write_bytes(corrupt)
        again, errors = store.compute([img])
        assert errors == [None]
        np.testing.assert_allclose(again, fresh, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(np.load(path), fresh[0], rtol=1e-5, atol=1e-5)


def test_bad_files_in_a_batch_do_not_stop_the_rest(tmp_path, small_classifier):
    store = FeatureStore(small_classifier, root=tmp_path)
    items = [synthetic_art(0, True), b"", b"<html>", synthetic_art(1, False), tmp_path / "missing.png"]
    feats, errors = store.compute(items)
    assert [e is None for e in errors] == [True, False, False, True, False]
    assert np.isfinite(feats[[0, 3]]).all() and np.isnan(feats[[1, 2, 4]]).all()
    assert all("\n" not in e for e in errors if e)


# -- the app ----------------------------------------------------------------------------------------
def test_classify_page_reports_every_bad_kind_and_keeps_the_rest(monkeypatch, small_classifier):
    """All kinds of tests/data/test_images.py dropped at once: one line per bad file, a verdict per good one."""
    from streamlit.testing.v1 import AppTest

    from aiart.config import PROJECT_ROOT
    from tests.data.test_images import BAD, GOOD

    monkeypatch.setattr("aiart.app.ui.default_classifier", lambda: small_classifier)
    at = AppTest.from_file(str(PROJECT_ROOT / "streamlit_app.py"), default_timeout=300)
    at.run()
    files = [(f"{kind}.png", data, "image/png") for kind, (data, _) in BAD.items()]
    files += [(f"{kind}.png", make(), "image/png") for kind, (make, _) in GOOD.items()]
    long_name = "Ölgemälde 日本語 🎨 " + "x" * 180 + ".png"
    files.append((long_name, png_bytes(synthetic_art(7, True)), "image/png"))
    at.file_uploader(key="uploader").set_value(files).run()
    assert not at.exception

    (table,) = [d.value for d in at.dataframe]
    rows = dict(zip(table["file"], table.to_dict("records")))
    assert list(rows) == [name for name, _, _ in files], "nothing is lost, nothing reordered"
    for kind, (_, fragment) in BAD.items():
        row = rows[f"{kind}.png"]
        assert row["verdict"] == "could not be read" and row["AI score"] != row["AI score"]  # NaN
        assert fragment.lower() in row["problem"].lower() and "\n" not in row["problem"], row
    for name in [*(f"{kind}.png" for kind in GOOD), long_name]:
        row = rows[name]
        assert row["problem"] == "" and 1 <= row["AI score"] <= 99, row
    shown_errors = [e.value for e in at.error]  # the first page of cards: one-line messages, no tracebacks
    assert shown_errors and all(e.startswith("Could not read this file: ") and "\n" not in e for e in shown_errors)


def test_streamlit_caches_are_bounded():
    """Thirty sessions share the process: every data cache, and every resource cache keyed by
    arguments, must cap its entries (`max_entries`) so memory cannot grow with use."""
    import ast

    from aiart.config import PROJECT_ROOT

    unbounded = []
    for path in sorted([*PROJECT_ROOT.glob("pages/*.py"), *PROJECT_ROOT.glob("aiart/**/*.py")]):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for deco in node.decorator_list:
                call = deco if isinstance(deco, ast.Call) else None
                name = ast.unparse(call.func if call else deco)
                keyed = name.endswith("cache_data") or (name.endswith("cache_resource") and node.args.args)
                if keyed and not (call and any(k.arg == "max_entries" for k in call.keywords)):
                    unbounded.append(f"{path.relative_to(PROJECT_ROOT)}:{node.lineno} {node.name}")
    assert unbounded == [], "caches without max_entries: " + ", ".join(unbounded)
