"""The Train page through AppTest: a tiny training with curves and comparison, Stop, and session isolation."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from aiart.app import honesty, ui
from aiart.config import PROJECT_ROOT
from aiart.data.dataset import scan
from aiart.model.classifier import head_version
from aiart.training import recipe

PAGE = str(PROJECT_ROOT / "pages" / "train.py")


@pytest.fixture
def page(monkeypatch, small_classifier, labelled_folder):
    """A factory of fresh sessions on the Train page, with the small model as the default one and as the
    feature base sessions train on."""
    monkeypatch.setattr("aiart.app.ui.default_classifier", lambda: small_classifier)
    monkeypatch.setattr("aiart.app.train.run.feature_base", lambda: small_classifier)
    ui.settle_heap()  # as the real loader does: each AppTest run ends with two full garbage collections
    monkeypatch.setenv("AIART_DATA", str(labelled_folder))

    def new() -> AppTest:
        at = AppTest.from_file(PAGE, default_timeout=60).run()
        assert not at.exception, at.exception
        return at

    return new


def good_holdout(folder) -> list[str]:
    """One random part of each class whose images all decode, so validation has both classes."""
    samples, _ = recipe.random_parts(scan(folder))
    bad = {s.source for s in samples if s.path.name == "broken.jpg"}
    return [
        next(src for src in sorted({s.source for s in samples if s.label == label}) if src not in bad)
        for label in ("AI_GENERATED", "NON_AI_GENERATED")
    ]


def wait_done(at: AppTest, timeout: float = 90, on_running=None) -> None:
    """Rerun the page like the fragment's timer does, until the background run has ended."""
    end = time.monotonic() + timeout
    while at.session_state["train-run"].snapshot().running:
        assert time.monotonic() < end, "training did not finish"
        if on_running:
            on_running(at)
        time.sleep(0.1)
        at.run()
        assert not at.exception, at.exception
    at.run()
    assert not at.exception, at.exception


def test_tiny_training_shows_curves_comparison_and_keeps_model(page, labelled_folder, small_classifier):
    at = page()
    assert at.text_input(key="train-data-dir").value == str(labelled_folder)
    at.multiselect[0].set_value(good_holdout(labelled_folder))
    at.slider(key="train-epochs").set_value(2)
    at.button(key="train-go").click().run()
    assert not at.exception, at.exception
    seen = set()
    wait_done(at, on_running=lambda a: seen.update(w.key for w in a.button))
    snap = at.session_state["train-run"].snapshot()
    assert snap.phase == "done", snap.error
    assert [h["epoch"] for h in snap.history] == [1, 2]
    assert "Trained all 2 epochs" in at.success[0].value
    assert len(at.get("vega_lite_chart")) == 2  # loss and accuracy, training and validation
    assert "New model vs the default model" in [s.value for s in at.subheader]
    tables = at.dataframe
    assert len(tables) == 3  # metrics side by side, then one confusion matrix per model
    metrics = tables[0].value
    assert list(metrics.columns) == ["metric", "default", "new"]
    assert {"calibration error, ECE (lower is better)", "right when it gives a verdict"} <= set(metrics["metric"])
    clf = snap.result.clf  # its "not sure" band, fitted on the held-out sources, is said beside the table
    said = f"({honesty.band_words(clf)})" if clf.info.unsure else "(none)"
    assert any(f"*not sure* band {said}" in c.value for c in at.caption), [c.value for c in at.caption]
    assert at.session_state["train-run"].snapshot().result.comparison is not None
    if snap.result.disagreements:  # each disagreement: one Grad-CAM overlay per model
        assert any("Where they disagree" in m.value for m in at.markdown)
        assert len(at.get("image")) == 2 * len(snap.result.disagreements)
    else:
        assert any("agree on every" in c.value for c in at.caption)
    assert not at.get("download_button")[0].proto.disabled
    assert any("(None, 896)" in c.value for c in at.caption)  # the head's input/output shapes

    before = head_version(small_classifier.head, small_classifier.info)
    at.button(key="train-use").click().run()
    kept = at.session_state["session_classifier"]
    assert kept is snap.result.clf and kept.version != small_classifier.version
    assert any("your own model" in i.value for i in at.info)

    other = page()  # a second browser session
    assert "session_classifier" not in other.session_state
    assert head_version(small_classifier.head, small_classifier.info) == before  # shared model untouched

    at.button(key="train-reset").click().run()
    assert "session_classifier" not in at.session_state


def test_stop_ends_training_and_keeps_best(page, labelled_folder, monkeypatch):
    from aiart.training import live

    log_epoch = live.EpochLog.on_epoch_end

    def slow(self, epoch, logs=None):  # slow epochs down so Stop lands long before early stopping
        time.sleep(0.3)
        log_epoch(self, epoch, logs)

    monkeypatch.setattr(live.EpochLog, "on_epoch_end", slow)
    at = page()
    at.multiselect[0].set_value(good_holdout(labelled_folder))
    at.slider(key="train-epochs").set_value(200)
    at.button(key="train-go").click().run()

    pressed = []

    def press_stop(a: AppTest) -> None:
        """Once the live fragment shows curves, press its Stop button."""
        if a.get("vega_lite_chart") and not pressed:
            a.button(key="train-stop").click().run()
            assert a.session_state["train-run"].flag.is_set()
            pressed.append(len(a.session_state["train-run"].snapshot().history))

    wait_done(at, on_running=press_stop)
    snap = at.session_state["train-run"].snapshot()
    assert pressed and snap.phase == "stopped"
    # At most: an epoch whose batches had finished but whose log was still being written, then the
    # epoch during which the flag was seen (exact next-batch behaviour: test_train.py).
    assert len(snap.history) <= pressed[0] + 2
    assert snap.result.result.info.training["epochs_run"] == len(snap.history)
    assert "Stopped by you" in at.success[0].value


def test_bad_folder_and_empty_state(page, monkeypatch):
    at = page()
    at.text_input(key="train-data-dir").set_value("/nonexistent/folder").run()
    assert not at.exception and "outside the data folder" in at.error[0].value
    at.text_input(key="train-data-dir").set_value("nonexistent").run()  # relative to the data folder
    assert not at.exception and "does not exist" in at.error[0].value
    at.text_input(key="train-data-dir").set_value("").run()
    assert "No pictures yet" in at.info[0].value


def test_uploaded_model_file_is_checked_and_used(page, tmp_path, small_classifier):
    import keras

    from aiart.model.storage import save_head

    at = page()
    wrong = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    wrong.save(tmp_path / "wrong.keras")
    at.file_uploader(key="train-load").set_value(("wrong.keras", (tmp_path / "wrong.keras").read_bytes(), "x")).run()
    assert not at.exception and "an aiart head must map" in at.error[0].value and "896" in at.error[0].value
    at.file_uploader(key="train-load").set_value(("junk.keras", b"not a zip", "x")).run()
    assert "not a \\.keras model file" in at.error[0].value and "/tmp" not in at.error[0].value
    save_head(small_classifier.head, small_classifier.info, tmp_path / "good.keras")
    at.file_uploader(key="train-load").set_value(("good.keras", (tmp_path / "good.keras").read_bytes(), "x")).run()
    assert not at.error and "(None, 896) → (None, 1)" in at.success[0].value
    at.button(key="train-use-loaded").click().run()
    assert at.session_state["session_classifier"].version == small_classifier.version


def test_training_on_uploaded_images(page):
    from tests.conftest import png_bytes, synthetic_art
    from tests.training.test_train import zip_of

    at = page()
    at.button_group(key="train-mode").set_value("upload").run()
    assert "Upload some images" in at.info[0].value
    ai = [(f"ai{i}.png", png_bytes(synthetic_art(i, True)), "image/png") for i in range(4)]
    human = zip_of({f"set/h{i}.png": png_bytes(synthetic_art(i, False)) for i in range(4)} | {"readme.txt": b"hi"})
    at.file_uploader(key="upload-AI_GENERATED").set_value(ai).run()
    assert "Add human-made images" in at.warning[0].value
    at.file_uploader(key="upload-NON_AI_GENERATED").set_value([("human.zip", human, "application/zip")]).run()
    assert not at.exception, at.exception
    assert any("1 uploaded files left out" in e.label for e in at.expander)
    holdout = at.multiselect[0]
    assert all("random part" in o for o in holdout.options)
    assert len(holdout.value) == 2
    at.slider(key="train-epochs").set_value(2)
    at.button(key="train-go").click().run()
    wait_done(at)
    snap = at.session_state["train-run"].snapshot()
    assert snap.phase == "done", snap.error
    assert snap.result.result.info.training["n_train"] == 6


def test_uploads_survive_a_page_switch(monkeypatch, small_classifier, labelled_folder):
    from tests.conftest import open_app, png_bytes, synthetic_art

    monkeypatch.setattr("aiart.app.train.run.feature_base", lambda: small_classifier)
    at = open_app(str(PROJECT_ROOT / "streamlit_app.py"), monkeypatch, small_classifier, labelled_folder)
    at.switch_page("pages/train.py").run()
    at.button_group(key="train-mode").set_value("upload").run()
    for label, is_ai in (("AI_GENERATED", True), ("NON_AI_GENERATED", False)):
        files = [(f"{label}{i}.png", png_bytes(synthetic_art(i, is_ai)), "image/png") for i in range(3)]
        at.file_uploader(key=f"upload-{label}").set_value(files).run()
    at.switch_page("pages/classify.py").run()
    at.switch_page("pages/train.py").run()
    assert not at.exception and at.button_group(key="train-mode").value == "upload"
    assert any("6 uploaded images kept from before" in c.value for c in at.caption)
    assert not at.info and at.button(key="train-go")  # ready to train on them
    at.button(key="clear-train-uploads").click().run()
    assert "Upload some images" in at.info[0].value


def test_fine_tune_mode_trains_block_then_loads_back(page, labelled_folder, tmp_path):
    from aiart.model.storage import save_head

    at = page()
    assert not at.warning  # the slow option is off by default
    at.toggle(key="train-finetune").set_value(True).run()
    assert "Slow on this CPU" in at.warning[0].value and "runs block3 forward" in at.warning[0].value
    tuned_images = at.warning[0].value.split(" images")[0].rsplit(" ", 1)[-1]
    at.radio(key="train-augment").set_value("degraded").run()  # what the shipped model learned from
    assert at.radio(key="train-augment").options == ["None", "Mirrored copies", "Degraded copies"]
    assert f"on {2 * int(tuned_images)} images" in at.warning[0].value
    assert any("plus their degraded copies" in m.value for m in at.markdown)
    at.multiselect[0].set_value(good_holdout(labelled_folder))
    at.slider(key="train-epochs").set_value(2)
    at.slider(key="train-finetune-epochs").set_value(2)
    at.select_slider(key="train-finetune-lr").set_value(1e-4)
    at.button(key="train-go").click().run()
    messages = set()
    wait_done(at, timeout=180, on_running=lambda a: messages.add(a.session_state["train-run"].snapshot().message))
    snap = at.session_state["train-run"].snapshot()
    assert snap.phase == "done", snap.error
    assert [h["stage"] for h in snap.history][-2:] == ["fine-tuning"] * 2
    assert (
        snap.history[0]["stage"] == "training"
        and [h["epoch"] for h in snap.history] == [1, 2, 3, 4][: len(snap.history)]
    )
    clf = snap.result.clf
    assert clf.tuned == ("block3_conv1", "block3_conv2", "block3_conv3")
    assert clf.info.training["augmentation"] == "degraded"
    assert clf.info.training["augmented_copies"] == clf.info.training["n_train"]
    assert any("block3 is fine-tuned with the head" in c.value for c in at.caption), [c.value for c in at.caption]
    assert any("fine-tuned block3_conv1" in c.value for c in at.caption)  # what the download holds
    assert snap.result.comparison is not None

    save_head(clf.head, clf.info, tmp_path / "tuned.keras")
    at.file_uploader(key="train-load").set_value(("tuned.keras", (tmp_path / "tuned.keras").read_bytes(), "x")).run()
    assert not at.error and "with a fine-tuned block3_conv1" in at.success[-1].value
    at.button(key="train-use-loaded").click().run()
    assert at.session_state["session_classifier"].tuned == clf.tuned
