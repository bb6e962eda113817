"""The Classroom page through AppTest: guess, reveal, score, next image (small classifier patched in)."""

from __future__ import annotations

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from aiart.app import ui
from aiart.config import PROJECT_ROOT
from tests.conftest import open_app, png_bytes, synthetic_art

PAGE = str(PROJECT_ROOT / "pages" / "classroom.py")


@pytest.fixture
def app(monkeypatch, small_classifier, labelled_folder):
    return open_app(PAGE, monkeypatch, small_classifier, labelled_folder)


def verdict_shown(at: AppTest) -> bool:
    return any(m.value.startswith("## The model says") for m in at.markdown)


def test_verdict_hidden_until_the_class_guessed(app):
    assert app.title[0].value.endswith("Classroom")
    assert app.radio(key="classroom_source").value == "dataset"
    rnd = app.session_state["classroom_round"]
    assert rnd.number == 1 and rnd.item.truth in ("AI_GENERATED", "NON_AI_GENERATED")
    assert len(app.image) == 1 and not verdict_shown(app)
    assert app.button(key="classroom-reveal").disabled
    assert [m.value for m in app.metric] == ["0 / 0", "0 / 0", "0 / 0"]


def test_guess_reveal_score_next(app, small_classifier):
    rnd = app.session_state["classroom_round"]
    truth = rnd.item.truth
    app.button(key="classroom-guess-AI_GENERATED").click().run()
    assert not verdict_shown(app) and not app.button(key="classroom-reveal").disabled
    app.button(key="classroom-reveal").click().run()
    assert not app.exception and verdict_shown(app)

    p = float(small_classifier.predict([Image.fromarray(rnd.item.image)])[0])
    model = small_classifier.label(p)
    score = app.session_state["classroom_score"]
    assert (score.rounds, score.known) == (1, 1)
    assert score.class_right == int(truth == "AI_GENERATED") and score.model_right == int(model == truth)
    assert score.agreed == int(model == "AI_GENERATED")
    assert [m.value for m in app.metric] == [
        f"{score.class_right} / 1",
        f"{score.model_right} / 1",
        f"{score.agreed} / 1",
    ]
    assert f"AI score {min(99, max(1, round(100 * p)))}%" in app.markdown[0].value  # never 0% or 100%
    assert any("the answer:" in m.value for m in app.markdown)
    assert len(app.image) == 3  # the image, its heatmap overlay and the colour legend
    assert any(c.value.startswith("What looks") for c in app.caption)

    # A rerun (any click elsewhere) must not score the round again.
    app.run()
    assert app.session_state["classroom_score"].rounds == 1

    app.button(key="classroom-next").click().run()
    assert not verdict_shown(app)
    rnd2 = app.session_state["classroom_round"]
    assert rnd2.number == 2 and rnd2.guess is None and rnd2.p_ai is None
    assert app.session_state["classroom_score"].rounds == 1


def test_samples_count_for_agreement_only_and_reset(app):
    app.radio(key="classroom_source").set_value("samples").run()
    assert app.session_state["classroom_round"].item.name.startswith("sample:")
    app.button(key="classroom-guess-NON_AI_GENERATED").click().run()
    app.button(key="classroom-reveal").click().run()
    score = app.session_state["classroom_score"]
    assert (score.rounds, score.known, score.class_right, score.model_right) == (1, 0, 0, 0)
    assert not any("the answer:" in m.value for m in app.markdown)
    app.button(key="classroom-reset").click().run()
    assert app.session_state["classroom_score"].rounds == 0
    assert app.session_state["classroom_round"].number == 1  # numbering restarts with the score


def test_a_round_never_repeats_an_image_until_all_are_used(app, labelled_folder):
    names = []
    for _ in range(8):  # 8 readable images (one broken file is skipped)
        names.append(app.session_state["classroom_round"].item.name)
        app.button(key="classroom-guess-AI_GENERATED").click().run()
        app.button(key="classroom-reveal").click().run()
        app.button(key="classroom-next").click().run()
    assert len(set(names)) == 8 and not app.exception


def test_file_name_and_answer_only_in_the_presenter_panel(app):
    rnd = app.session_state["classroom_round"]
    shown = [m.value for m in app.markdown] + [c.value for c in app.caption]
    panel = [c.value for c in app.get("popover")[0].caption]
    named = [t for t in shown if ui.escape_md(rnd.item.name) in t or "Right answer" in t]
    assert named and all(t in panel for t in named)  # only inside the (collapsed) presenter panel
    assert not app.sidebar.radio  # nor in the sidebar, which a projector shows


def test_reveal_shows_how_sure_the_origin_and_a_legend(app):
    app.button(key="classroom-guess-AI_GENERATED").click().run()
    app.button(key="classroom-reveal").click().run()
    captions = [c.value for c in app.caption]
    notes = [m.value for m in app.markdown if "From: " in m.value]  # plain text, not small grey print
    assert notes and ("can be wrong" in notes[0] or "with care" in notes[0] or "Too close" in notes[0])
    assert any(c.startswith("Blue: little influence") for c in captions)


def test_uploads_with_presenter_answer_and_a_broken_file(app):
    app.radio(key="classroom_source").set_value("uploads").run()
    assert "Upload images" in app.info[0].value
    files = [
        ("broken.png", b"not an image", "image/png"),
        ("smooth.png", png_bytes(synthetic_art(1, True)), "image/png"),
    ]
    app.file_uploader(key="classroom_uploads").set_value(files).run()
    assert not app.exception
    assert r"broken\.png\: not a recognised image format" in app.warning[0].value  # named (escaped), no traceback
    assert app.session_state["classroom_round"].item.name == "smooth.png"  # skipped to the next readable one
    app.radio(key="classroom_answer").set_value("AI_GENERATED").run()
    app.button(key="classroom-guess-AI_GENERATED").click().run()
    app.button(key="classroom-reveal").click().run()
    score = app.session_state["classroom_score"]
    assert (score.known, score.class_right) == (1, 1)
    assert any("the answer: AI-generated" in m.value for m in app.markdown)


def test_the_reveal_says_what_an_uploaded_files_metadata_says(app):
    import io

    exif, phone = Image.Exif(), io.BytesIO()
    exif[0x010F], exif[0x0110] = "Canon", "EOS R5"
    synthetic_art(2, False).save(phone, "JPEG", exif=exif)
    app.radio(key="classroom_source").set_value("uploads").run()
    app.file_uploader(key="classroom_uploads").set_value([("photo.jpg", phone.getvalue(), "image/jpeg")]).run()
    app.button(key="classroom-guess-NON_AI_GENERATED").click().run()
    assert not any("The file itself says" in m.value for m in app.markdown)  # nothing before the reveal
    app.button(key="classroom-reveal").click().run()
    (note,) = [m.value for m in app.markdown if "The file itself says" in m.value]
    assert "Its EXIF names a camera\\: Canon EOS R5\\." in note and "can be faked" in note


def test_the_reveal_notes_a_close_up_face(app):
    from aiart.app import honesty
    from tests.conftest import portrait

    app.radio(key="classroom_source").set_value("uploads").run()
    files = [("portrait.jpg", png_bytes(portrait(), "JPEG"), "image/jpeg")]
    app.file_uploader(key="classroom_uploads").set_value(files).run()
    app.button(key="classroom-guess-NON_AI_GENERATED").click().run()
    assert not any(honesty.FACE_NOTE in m.value for m in app.markdown)  # nothing before the reveal
    app.button(key="classroom-reveal").click().run()
    assert not app.exception
    assert any(honesty.FACE_NOTE in m.value for m in app.markdown)


def test_routed_from_the_app(monkeypatch, small_classifier, labelled_folder):
    monkeypatch.setattr("aiart.app.ui.default_classifier", lambda: small_classifier)
    monkeypatch.setenv("AIART_DATA", str(labelled_folder))
    at = AppTest.from_file(str(PROJECT_ROOT / "streamlit_app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/classroom.py").run()
    assert not at.exception and at.title[0].value.endswith("Classroom")


def test_classify_uploads_and_the_browse_folder_follow_the_teacher(monkeypatch, small_classifier, labelled_folder):
    """Issue 21: Classroom offers the pictures uploaded on Classify, and its dataset is the folder picked on
    Browse (here a sub-folder of the data folder)."""
    monkeypatch.setattr("aiart.app.ui.default_classifier", lambda: small_classifier)
    monkeypatch.setenv("AIART_DATA", str(labelled_folder.parent))
    at = AppTest.from_file(str(PROJECT_ROOT / "streamlit_app.py"), default_timeout=120).run()
    files = [("mine.png", png_bytes(synthetic_art(5, True)), "image/png")]
    at.file_uploader(key="uploader").set_value(files).run()
    at.switch_page("pages/browse.py").run()
    at.text_input(key="data-dir").set_value(str(labelled_folder)).run()
    at.switch_page("pages/classroom.py").run()
    assert not at.exception
    assert at.radio(key="classroom_source").options == [
        "The dataset (as on Browse and Train)",
        "Pictures uploaded on Classify",
        "My uploads",
        "Pictures drawn by code",
    ]
    assert str(at.session_state["classroom_round"].item.name).endswith(".png")  # drawn from that folder
    at.radio(key="classroom_source").set_value("classify").run()
    assert not at.exception and at.session_state["classroom_round"].item.name == "mine.png"
    assert at.session_state["classroom_round"].number == 1  # a new source does not move the numbering
