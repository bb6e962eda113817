"""The Browse page through Streamlit's AppTest, on the labelled fixture folder with known predictions."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from aiart.config import GET_DATA_HINT, PROJECT_ROOT
from aiart.data.features import content_hash

APP = str(PROJECT_ROOT / "streamlit_app.py")


def open_browse(monkeypatch, small_classifier) -> AppTest:
    monkeypatch.setattr("aiart.app.ui.default_classifier", lambda: small_classifier)
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page("pages/browse.py").run()
    assert not at.exception
    return at


def tiles(at: AppTest) -> set[str]:
    """Keys of the Explain buttons on screen: one per readable tile."""
    return {b.key for b in at.button if b.key.startswith("explain-")}


def explain_keys(folder, *names: str) -> set[str]:
    paths = {p.name: p for p in folder.rglob("*.png")}
    return {f"explain-{content_hash(str(paths[n]).encode())[:12]}" for n in names}


@pytest.fixture
def app(monkeypatch, small_classifier, known_folder):
    monkeypatch.setattr(small_classifier.info, "unsure", 0.1)  # "not sure" between 40% and 60%
    monkeypatch.setenv("AIART_DATA", str(known_folder))
    return open_browse(monkeypatch, small_classifier)


def test_empty_state_without_a_data_folder(monkeypatch, small_classifier):
    monkeypatch.setattr("aiart.config.default_data_dir", lambda: None)
    at = open_browse(monkeypatch, small_classifier)
    assert at.title[0].value.endswith("Browse the dataset")
    assert at.text_input(key="data-dir").value == ""
    assert at.info[0].value == GET_DATA_HINT
    assert not at.metric and not at.error


def test_a_folder_outside_the_data_folder_is_never_read(app, tmp_path, monkeypatch):
    """Issue 21: the box reads only inside AIART_DATA; /etc or ../ elsewhere get a clear refusal."""
    import aiart.browse

    monkeypatch.setattr(aiart.browse, "cached_predictions", lambda *a: pytest.fail("read a folder outside"))
    for outside in ("/etc", str(tmp_path), "../", "AI_GENERATED/../../"):
        app.text_input(key="data-dir").set_value(outside).run()
        assert not app.exception
        assert "outside the data folder" in app.error[0].value and not app.metric


def test_unusable_folder_gets_a_clear_error(app, known_folder):
    app.text_input(key="data-dir").set_value(str(known_folder / "nowhere")).run()
    assert not app.exception
    assert app.error[0].value.startswith("data folder") and "does not exist" in app.error[0].value


def test_metrics_and_all_tiles(app, known_folder):
    assert app.text_input(key="data-dir").value == str(known_folder)
    metrics = {m.label: m.value for m in app.metric}
    assert metrics == {"Pictures checked": "8", "Right": "3 of 6", "Wrong": "3", "Not sure": "2"}
    names = [f"ai_generated_{i}.png" for i in range(4)] + [f"non_ai_generated_{i}.png" for i in range(4)]
    assert tiles(app) == explain_keys(known_folder, *names)
    assert app.error[0].value == "not a recognised image format"  # the broken file's tile
    assert [t.label for t in app.tabs] == ["Labelled AI-generated · 4", "Labelled human-made · 5"]


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("mistakes", ["ai_generated_1.png", "ai_generated_2.png", "non_ai_generated_2.png"]),
        ("confident-mistakes", ["ai_generated_2.png", "non_ai_generated_2.png"]),
        ("unsure", ["non_ai_generated_1.png", "non_ai_generated_3.png"]),
    ],
)
def test_filters_show_the_right_tiles(app, known_folder, kind, expected):
    app.segmented_control(key="filter").set_value(kind).run()
    assert not app.exception
    assert tiles(app) == explain_keys(known_folder, *expected)
    assert not app.error  # unreadable files only appear under "all"


def test_source_filter_scopes_metrics_and_tiles(app, known_folder):
    app.selectbox(key="source").set_value("ai_generated/(folder)").run()
    assert tiles(app) == explain_keys(known_folder, *(f"ai_generated_{i}.png" for i in range(4)))
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Pictures checked"] == "4" and metrics["Right"] == "2 of 4"


def test_sort_orders_tiles_by_p_ai(app, known_folder):
    app.selectbox(key="sort").set_value("-p_ai").run()
    order = [b.key for b in app.button if b.key.startswith("explain-")]
    expected = ["ai_generated_0.png", "ai_generated_3.png", "ai_generated_1.png", "ai_generated_2.png"]
    assert order[:4] == [next(iter(explain_keys(known_folder, n))) for n in expected]


def test_explain_opens_the_grad_cam_card(app, known_folder):
    (key,) = explain_keys(known_folder, "ai_generated_2.png")
    app.button(key=key).click().run()
    assert not app.exception
    verdicts = [m for m in app.metric if m.label == "AI score"]
    assert len(verdicts) == 1
    assert any(m.value.startswith("Dataset label: **AI-generated**") for m in app.markdown)
    assert any(img.captions[0].startswith("What looks") for img in app.image)


def test_uncached_folder_waits_for_the_compute_button(monkeypatch, small_classifier, labelled_folder):
    import aiart.evaluate

    monkeypatch.setenv("AIART_DATA", str(labelled_folder))
    real, calls = aiart.evaluate.predict_folder, []
    monkeypatch.setattr(aiart.evaluate, "predict_folder", lambda *a, **k: calls.append(1) or real(*a, **k))
    at = open_browse(monkeypatch, small_classifier)
    assert not calls and not at.metric  # nothing computed on a first visit
    assert any("**9 images**" in m.value for m in at.markdown)
    button = at.button(key="browse-compute")
    assert button.label.startswith("Compute predictions (about ")
    button.click().run()
    assert not at.exception and calls == [1]
    assert {m.label for m in at.metric} >= {"Right", "Pictures checked"}


def test_folder_and_filter_survive_a_page_switch(app, known_folder, tmp_path):
    other = known_folder / "other"
    app.text_input(key="data-dir").set_value(str(other)).run()
    app.switch_page("pages/classify.py").run()
    app.switch_page("pages/train.py").run()
    assert app.text_input(key="train-data-dir").value == str(other)  # issue 21: the folder follows the teacher
    app.switch_page("pages/browse.py").run()
    assert app.text_input(key="data-dir").value == str(other)
    app.text_input(key="data-dir").set_value(str(known_folder)).run()
    app.segmented_control(key="filter").set_value("mistakes").run()
    app.switch_page("pages/train.py").run()
    app.switch_page("pages/browse.py").run()
    assert app.segmented_control(key="filter").value == "mistakes"


def test_training_images_are_marked_and_left_out_of_metrics(monkeypatch, small_classifier, known_folder):
    monkeypatch.setenv("AIART_DATA", str(known_folder))
    seen = {content_hash((known_folder / "AI_GENERATED" / f"ai_generated_{i}.png").read_bytes()) for i in (0, 1)}
    monkeypatch.setattr(small_classifier, "trained_on", frozenset(seen))
    at = open_browse(monkeypatch, small_classifier)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Pictures checked"] == "6"  # 8 readable, 2 of them seen in training
    assert "trained on 2 of these 9 pictures" in at.info[0].value
    assert sum("seen in training" in m.value for m in at.markdown) == 2  # st.badge is Markdown


def test_a_labelled_zip_instead_of_a_server_folder(monkeypatch, small_classifier, tmp_path):
    import io
    import zipfile

    from tests.conftest import png_bytes, synthetic_art

    monkeypatch.setattr("aiart.config.default_data_dir", lambda: None)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for i in range(2):
            z.writestr(f"set/AI_GENERATED/a{i}.png", png_bytes(synthetic_art(i, True)))
            z.writestr(f"set/non_ai_generated/h{i}.png", png_bytes(synthetic_art(i, False)))
        z.writestr("set/readme.txt", b"hello")
    at = open_browse(monkeypatch, small_classifier)
    at.file_uploader(key="browse-zip").set_value(("class.zip", buf.getvalue(), "application/zip")).run()
    assert not at.exception and any("**4 images**" in m.value for m in at.markdown)
    at.button(key="browse-compute").click().run()
    assert {m.label: m.value for m in at.metric}["Pictures checked"] == "4"
    assert len(tiles(at)) == 4  # both tabs


def test_close_up_faces_only(monkeypatch, small_classifier, labelled_folder):
    """The toggle narrows the tiles and the metrics to the pictures with a close-up face (a real portrait
    here), and stays on across a page switch."""
    from tests.conftest import portrait

    portrait().save(labelled_folder / "NON_AI_GENERATED" / "portrait.jpg")
    monkeypatch.setenv("AIART_DATA", str(labelled_folder))
    at = open_browse(monkeypatch, small_classifier)
    at.button(key="browse-compute").click().run()
    assert len(tiles(at)) == 9
    at.toggle(key="faces-only").set_value(True).run()
    assert not at.exception
    key = f"explain-{content_hash(str(labelled_folder / 'NON_AI_GENERATED' / 'portrait.jpg').encode())[:12]}"
    assert tiles(at) == {key}
    assert {m.label: m.value for m in at.metric}["Pictures checked"] == "1"
    assert any("close-up face" in h.value for h in at.subheader)
    at.switch_page("pages/classify.py").run()
    at.switch_page("pages/browse.py").run()
    assert at.toggle(key="faces-only").value and tiles(at) == {key}
