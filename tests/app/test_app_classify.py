"""The Classify page through Streamlit's AppTest, with the small classifier patched in (fast)."""

from __future__ import annotations

import importlib

import pytest
from streamlit.testing.v1 import AppTest

from aiart.config import PROJECT_ROOT
from aiart.explain import DEFAULT_METHOD
from tests.conftest import open_app, png_bytes, portrait, synthetic_art

APP = str(PROJECT_ROOT / "streamlit_app.py")


@pytest.fixture
def app(monkeypatch, small_classifier, labelled_folder):
    return open_app(APP, monkeypatch, small_classifier, labelled_folder)


@pytest.fixture
def passes(small_classifier, monkeypatch) -> list[int]:
    """Pixels of each gated VGG16 pass from here on, with no heatmap cached (a spy: the passes run)."""
    from aiart.app import ui

    ui._heatmaps.clear()
    seen: list[int] = []
    real_gate = small_classifier.gate
    monkeypatch.setattr(small_classifier, "gate", lambda n: seen.append(n) or real_gate(n))
    return seen


def overlays(at: AppTest) -> dict[str, str]:
    """Caption -> media URL of every overlay image (URLs are content hashes of the rendered PNG)."""
    return {img.captions[0]: img.value[0] for img in at.image if img.captions[0].startswith("What looks")}


def card_key(at: AppTest, prefix: str) -> str:
    (key,) = [w.key for w in at.selectbox if w.key.startswith(prefix)]
    return key


def test_loads_with_empty_state(app):
    assert app.title[0].value.endswith("Classify artwork")
    assert app.caption[0].value  # the one-line explanation
    assert "Drop one or more images" in app.info[0].value
    uploader = app.file_uploader(key="uploader")
    assert uploader.accept_multiple_files and set(uploader.allowed_type) >= {".png", ".jpg", ".webp", ".tiff"}


def test_sample_gets_a_verdict(app, small_classifier):
    from PIL import Image

    from aiart.app import ui

    app.pills(key="samples").set_value(["Sunset"]).run()
    assert not app.exception
    sample = ui.sample_images()["Sunset"]
    p = float(small_classifier.predict([Image.fromarray(sample.image)])[0])
    (metric,) = app.metric
    assert metric.label == "AI score" and metric.value == f"{min(99, max(1, round(100 * p)))}%"
    assert any(m.value.startswith("Looks **") for m in app.markdown)
    assert len(overlays(app)) == 1


def test_upload_batch_with_a_broken_file(app, small_classifier):
    files = [
        ("art.png", png_bytes(synthetic_art(1, True)), "image/png"),
        ("<b>bad</b>*name*.jpg", b"not an image at all", "image/jpeg"),
        ("strokes.png", png_bytes(synthetic_art(2, False)), "image/png"),
    ]
    app.file_uploader(key="uploader").set_value(files).run()
    assert not app.exception
    assert [m.label for m in app.metric] == ["AI score"] * 2
    (error,) = app.error
    assert error.value == "Could not read this file: not a recognised image format"
    assert r"**\<b\>bad\</b\>\*name\*\.jpg**" in [m.value for m in app.markdown]  # the name is shown as text
    (table,) = [d.value for d in app.dataframe]
    assert list(table["file"]) == [f[0] for f in files]
    assert table["verdict"][1] == "could not be read" and table["problem"][1] == "not a recognised image format"
    assert table["AI score"][0] == min(99, max(1, round(100 * float(small_classifier.predict([files[0][1]])[0]))))
    assert table["picture"][0].startswith("data:image/png;base64,") and table["problem"][0] == ""
    assert app.download_button(key="csv").label == "Download results (CSV)"


def test_layer_method_target_and_opacity(app, monkeypatch):
    explain_module = importlib.import_module("aiart.explain")  # `aiart.explain` is the function
    runs = []
    real = explain_module.explain_targets
    monkeypatch.setattr(explain_module, "explain_targets", lambda *a, **k: runs.append(k) or real(*a, **k))

    app.pills(key="samples").set_value(["Waves"]).run()
    before = overlays(app)
    layer_key = card_key(app, "layer-")
    suffix = layer_key.removeprefix("layer-")
    assert app.selectbox(key=layer_key).value == "block3_conv3"  # the deepest layer this model has
    assert app.selectbox(key=layer_key).options == [
        "Block 1 · conv1 (fine detail)",
        "Block 1 · conv2 (fine detail)",
        "Block 2 · conv1 (small textures)",
        "Block 2 · conv2 (small textures)",
        "Block 3 · conv1 (textures)",
        "Block 3 · conv2 (textures)",
        "Block 3 · conv3 (textures)",
    ]

    app.selectbox(key=layer_key).set_value("block1_conv2").run()
    assert not app.exception
    after = overlays(app)
    assert after.keys() == before.keys() and after != before  # another layer, another heatmap
    assert runs[-1]["layer"] == "block1_conv2"

    computed = len(runs)
    app.slider(key=f"opacity-{suffix}").set_value(0.8).run()
    assert overlays(app) != after  # the overlay is redrawn...
    assert len(runs) == computed  # ...from the cached heatmap: the network did not run

    app.selectbox(key=f"method-{suffix}").set_value("layercam").run()
    assert runs[-1]["method"] == "layercam"

    app.segmented_control(key=f"target-{suffix}").set_value("both").run()
    assert set(overlays(app)) == {"What looks AI", "What looks human"}
    assert {b.key for b in app.download_button} == {f"png-{suffix}-AI_GENERATED", f"png-{suffix}-NON_AI_GENERATED"}


def test_one_picture_one_pass_for_verdict_and_both_maps(app, passes):
    """A full card's verdict comes from its heatmap's pass, and that pass of the default (linear) method
    serves both classes' maps: one pass, however the class to explain is switched."""
    app.pills(key="samples").set_value(["Sunset"]).run()
    assert not app.exception and len(passes) == 1
    suffix = card_key(app, "layer-").removeprefix("layer-")
    for choice in ("both", "NON_AI_GENERATED", "AI_GENERATED"):
        app.segmented_control(key=f"target-{suffix}").set_value(choice).run()
        assert not app.exception
    assert set(overlays(app)) == {"What looks AI"} and len(passes) == 1
    app.selectbox(key=f"method-{suffix}").set_value("layercam").run()  # not linear: a pass per class
    app.segmented_control(key=f"target-{suffix}").set_value("both").run()
    assert len(passes) == 3  # (layercam, AI), (layercam, human)


def test_explanations_differ_between_layers(small_classifier):
    from aiart.app import ui

    item = ui.sample_images()["Brush strokes"]
    deep = ui.explanation(small_classifier, item, "block3_conv3", "gradcam", "AI_GENERATED")
    early = ui.explanation(small_classifier, item, "block1_conv2", "gradcam", "AI_GENERATED")
    assert deep.heatmap.shape == early.heatmap.shape == item.image.shape[:2]
    assert not (deep.heatmap == early.heatmap).all()
    assert deep.p_ai == pytest.approx(early.p_ai, abs=1e-5)


def test_random_dataset_image_shows_its_label(app):
    app.button(key="random-dataset").click().run()
    assert not app.exception
    labels = [m.value for m in app.markdown if m.value.startswith("Dataset label:")]
    errors = [e.value for e in app.error]
    assert len(labels) + len(errors) == 1  # the fixture folder holds one broken file too
    app.button(key="clear-dataset").click().run()
    assert "Drop one or more images" in app.info[0].value


def test_uploads_survive_a_page_switch_until_cleared(app):
    files = [(f"art{i}.png", png_bytes(synthetic_art(i, True)), "image/png") for i in range(2)]
    app.file_uploader(key="uploader").set_value(files).run()
    app.switch_page("pages/train.py").run()
    app.switch_page("pages/classify.py").run()
    assert not app.exception
    assert [m.label for m in app.metric] == ["AI score"] * 2  # the app kept them, the widget did not
    assert any("2 uploaded image(s) kept" in c.value for c in app.caption)
    app.button(key="clear-uploader").click().run()
    assert not app.metric and "Drop one or more images" in app.info[0].value


def test_a_batch_reads_as_a_grid_with_details(app):
    files = [(f"art{i}.png", png_bytes(synthetic_art(i, i % 2 == 0)), "image/png") for i in range(6)]
    app.file_uploader(key="uploader").set_value(files).run()
    assert not app.exception and not app.metric  # compact cards: no full card until Details
    details = [b for b in app.button if b.key.startswith("details-")]
    assert len(details) == 6
    details[0].click().run()
    assert not app.exception and [m.label for m in app.metric] == ["AI score"]


def test_a_cards_layer_method_and_checks_survive_a_page_switch(app):
    """Issue 21: after visiting Browse, the chosen layer and method and the trust checks' answers were gone."""
    app.file_uploader(key="uploader").set_value([("art.png", png_bytes(synthetic_art(3, True)), "image/png")]).run()
    (layer,) = [s for s in app.selectbox if s.key.startswith("layer-")]
    (method,) = [s for s in app.selectbox if s.key.startswith("method-")]
    assert method.value == DEFAULT_METHOD == "contribution"  # the method the faithfulness check chose
    chosen = "block2_conv1" if layer.value != "block2_conv1" else "block1_conv2"
    layer.set_value(chosen)
    method.set_value("gradcam++").run()
    sanity = next(b for b in app.button if b.key.startswith("sanity-"))
    sanity.click().run()
    assert not app.exception and len(app.table) == 1
    app.switch_page("pages/browse.py").run()
    app.switch_page("pages/classify.py").run()
    assert not app.exception
    assert next(s for s in app.selectbox if s.key.startswith("layer-")).value == chosen
    assert next(s for s in app.selectbox if s.key.startswith("method-")).value == "gradcam++"
    assert len(app.table) == 1  # the sanity check's answer is back without running again


def test_a_mistyped_precision_setting_gets_one_clear_message(monkeypatch, small_classifier, labelled_folder):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setattr("aiart.app.ui.default_classifier", lambda: small_classifier)
    monkeypatch.setenv("AIART_PRECISION", "int4")
    at = AppTest.from_file(str(PROJECT_ROOT / "streamlit_app.py"), default_timeout=120).run()
    assert not at.exception
    assert "unknown precision 'int4'" in at.error[0].value and "AIART_PRECISION" in at.error[0].value


def test_the_score_breakdown_adds_up_to_the_move_from_the_average_picture(app, small_classifier, passes):
    """Under the heatmap: a bar per block and view, and a caption with the whole move, from aiart.breakdown,
    whose numbers come from the card's own pass: opening it runs nothing."""
    from PIL import Image

    from aiart.app import ui
    from aiart.breakdown import breakdown

    app.pills(key="samples").set_value(["Sunset"]).run()
    assert not app.exception
    (closed,) = [e for e in app.expander if e.label == "Where does the score come from?"]
    assert not closed.get("vega_lite_chart")  # nothing is computed while it is closed
    key = card_key(app, "layer-").replace("layer-", "breakdown-")
    app.session_state[key] = True  # what opening it does
    app.run()
    assert len(passes) == 1  # the card's pass: verdict, both heatmaps and this breakdown
    (expander,) = [e for e in app.expander if e.label == "Where does the score come from?"]
    parts = breakdown(small_classifier, Image.fromarray(ui.sample_images()["Sunset"].image))
    move = parts.logit - parts.average
    (caption,) = [c.value for c in expander.caption]
    assert f"moved the evidence by {abs(move):.2f}" in caption
    assert ("towards AI" if move >= 0 else "towards human-made") in caption
    assert len(expander.get("vega_lite_chart")) == 1


def test_a_soft_picture_gets_a_warning_beside_its_verdict(app, small_classifier, monkeypatch):
    """The shipped model stores its pool's sharpness level; a picture below it is flagged, a sharp one not."""
    import dataclasses

    from PIL import ImageFilter

    from aiart.app import honesty
    from aiart.trust.softness import sharpness

    sharp = synthetic_art(41, False, (96, 96))
    soft = sharp.filter(ImageFilter.GaussianBlur(2))
    level = 0.9 * sharpness(sharp, small_classifier.input_size)
    info = dataclasses.replace(small_classifier.info, metrics={"sharpness": {"soft_below": level}})
    monkeypatch.setattr(small_classifier, "info", info)
    files = [("sharp.png", png_bytes(sharp), "image/png"), ("soft.png", png_bytes(soft), "image/png")]
    app.file_uploader(key="uploader").set_value(files).run()
    assert not app.exception
    warned = [w for w in app.warning if w.value == honesty.SOFT_WARNING]
    assert len(warned) == 1  # the soft copy only


def test_a_close_up_face_gets_a_warning_beside_its_verdict(app):
    """A real portrait photo is flagged (the model leans towards AI on faces); a picture without a face
    is not."""
    from aiart.app import honesty

    files = [("portrait.jpg", png_bytes(portrait(), "JPEG"), "image/jpeg")]
    files.append(("art.png", png_bytes(synthetic_art(5, False, (96, 96))), "image/png"))
    app.file_uploader(key="uploader").set_value(files).run()
    assert not app.exception
    warned = [w for w in app.warning if w.value == honesty.FACE_WARNING]
    assert len(warned) == 1 and warned[0].icon == ":material/face:"


def test_what_the_file_says_stands_apart_from_the_verdict(app):
    """A phone photo's camera EXIF and a generator's PNG settings are listed on their cards, with the
    caveat; a picture without metadata shows nothing of the kind. Metadata in a file is shown escaped."""
    import io

    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    from aiart.app import honesty

    exif, phone = Image.Exif(), io.BytesIO()
    exif[0x010F], exif[0x0110] = "Apple", "iPhone *13*"
    synthetic_art(51, False, (64, 64)).save(phone, "JPEG", exif=exif)
    settings, made = PngInfo(), io.BytesIO()
    settings.add_text("parameters", "a castle, Steps: 20")
    synthetic_art(52, True, (64, 64)).save(made, "PNG", pnginfo=settings)
    files = [
        ("phone.jpg", phone.getvalue(), "image/jpeg"),
        ("made.png", made.getvalue(), "image/png"),
        ("plain.png", png_bytes(synthetic_art(53, True)), "image/png"),
    ]
    app.file_uploader(key="uploader").set_value(files).run()
    assert not app.exception
    said = [m.value for m in app.markdown if m.value.startswith("**The file itself says**")]
    assert len(said) == 2  # not for the picture drawn by code
    assert "Apple iPhone \\*13\\*" in said[0]  # escaped: the file's own words cannot format the page
    assert "Stable Diffusion generation settings" in said[1]
    assert sum(c.value == honesty.METADATA_NOTE for c in app.caption) == 2
