"""aiart/browse.py: filters, sorting, paging, metrics, the predictions disk cache, and `aiart browse`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from aiart import browse
from aiart.config import UNSURE
from aiart.data import dataset
from aiart.data.dataset import Sample
from aiart.data.features import content_hash
from aiart.data.images import ImageError

AI, HUMAN = "AI_GENERATED", "NON_AI_GENERATED"


@pytest.fixture
def banded(small_classifier, monkeypatch):
    """`small_classifier` with a "not sure" band of 0.5 +- 0.1 (the shipped model's is in weights/head.json)."""
    monkeypatch.setattr(small_classifier.info, "unsure", 0.1)
    return small_classifier


@pytest.fixture
def records(banded) -> list[browse.Record]:
    """Known probabilities: a0 right, a1 wrong (70% sure), a2 wrong (95%), h0 right, h1 not sure (55%),
    h2 wrong (80%), h3 not sure (42%), bad unreadable."""
    rows = [
        ("a0", AI, "s1", 0.9),
        ("a1", AI, "s1", 0.3),
        ("a2", AI, "s1", 0.05),
        ("h0", HUMAN, "s2", 0.1),
        ("h1", HUMAN, "s2", 0.55),
        ("h2", HUMAN, "s2", 0.8),
        ("h3", HUMAN, "s3", 0.42),
        ("bad", HUMAN, "s3", np.nan),
    ]
    samples = [Sample(Path(name), label, source) for name, label, source, _ in rows]
    p = np.array([r[3] for r in rows])
    errors = [None] * 7 + ["not a recognised image format"]
    digests = [f"hash-{name}" for name, *_ in rows]
    return browse.make_records(samples, p, errors, digests, banded.verdict)


def names(rows: list[browse.Record]) -> list[str]:
    return [r.path for r in rows]


def test_records_carry_verdicts(records):
    a1 = records[1]
    assert (a1.predicted, a1.correct, a1.error) == (HUMAN, False, None)
    assert a1.confidence == pytest.approx(0.7)
    bad = records[-1]
    assert (bad.p_ai, bad.predicted, bad.correct, bad.confidence) == (None, None, None, None)
    assert bad.error == "not a recognised image format"
    assert set(a1.to_dict()) == {
        "path",
        "label",
        "source",
        "p_ai",
        "predicted",
        "correct",
        "error",
        "digest",
        "generator",
    }


def test_filters_return_the_right_files(records):
    assert names(browse.select(records)) == ["a0", "a1", "a2", "h0", "h1", "h2", "h3", "bad"]
    assert names(browse.select(records, "mistakes")) == ["a1", "a2", "h2"]  # "not sure" is never a mistake
    assert names(browse.select(records, "confident-mistakes")) == ["a2", "h2"]  # most confident first
    assert names(browse.select(records, "unsure")) == ["h1", "h3"]  # nearest 0.5 first
    assert names(browse.select(records, "all", source="s2")) == ["h0", "h1", "h2"]
    assert names(browse.select(records, "mistakes", source="s2")) == ["h2"]
    assert browse.select(records, "mistakes", source="nowhere") == []


def test_sort_by_p_ai_puts_unreadable_last(records):
    assert names(browse.select(records, sort="-p_ai")) == ["a0", "h2", "h1", "h3", "a1", "h0", "a2", "bad"]
    assert names(browse.select(records, sort="p_ai")) == ["a2", "h0", "a1", "h3", "h1", "h2", "a0", "bad"]
    assert names(browse.select(records, "confident-mistakes", sort="p_ai")) == ["a2", "h2"]


def test_unknown_filter_or_sort_is_refused(records):
    with pytest.raises(ValueError, match="unknown filter"):
        browse.select(records, "wrong")
    with pytest.raises(ValueError, match="unknown sort"):
        browse.select(records, sort="name")


def test_sources_and_paging(records):
    assert browse.sources(records) == ["s1", "s2", "s3"]
    rows = list(range(45))
    assert browse.paginate(rows, 1, 20) == (list(range(20)), 3)
    assert browse.paginate(rows, 3, 20) == (list(range(40, 45)), 3)
    assert browse.paginate(rows, 9, 20) == (list(range(40, 45)), 3)  # clamped
    assert browse.paginate(rows, 0, 20)[0] == list(range(20))
    assert browse.paginate([], 1, 20) == ([], 1)


def test_summary_counts_readable_files_only(records):
    s = browse.summary(records)
    assert s["n"] == 7 and s["unreadable"] == 1
    assert s["accuracy"] == pytest.approx(3 / 7)  # a0, h0, h3
    assert s["confusion"] == [[1, 2], [2, 2]]  # rows true AI/human, cols predicted AI/human at 50%
    assert s["per_class"][AI]["recall"] == pytest.approx(1 / 3)
    assert (s["right"], s["wrong"], s["not_sure"]) == (2, 3, 2)  # the verdicts as shown
    assert s["verdicts"] == {AI: {AI: 1, HUMAN: 2, UNSURE: 0}, HUMAN: {AI: 1, HUMAN: 1, UNSURE: 2}}


def test_unsure_filter_is_exactly_the_models_not_sure_verdicts(records, banded):
    """Issue 21: the filter, the records and `Classifier.verdict` (what `predict` reports) agree, band and all."""
    scored = [r for r in records if r.p_ai is not None]
    assert {r.path for r in browse.select(records, "unsure")} == {
        r.path for r in scored if banded.verdict(r.p_ai) == UNSURE
    }
    assert all(r.correct is None and r.confidence is None for r in records if r.unsure)


def test_reliability_figure_shows_ece(records):
    scored = [r for r in records if r.p_ai is not None]
    p = np.array([r.p_ai for r in scored])
    y = np.array([r.label == AI for r in scored], int)
    fig = browse.reliability_figure(p, y)
    title = fig.axes[0].get_title()
    assert title.startswith("Reliability (calibration error, ECE = ") and f"{browse.metrics.ece(p, y):.1%}" in title


def test_tile_is_square_and_unstretched(labelled_folder):
    tile = browse.tile_image(labelled_folder / "AI_GENERATED" / "ai_generated_0.png", 64)
    assert tile.shape == (64, 64, 3)
    # the 48x40 (h x w) image is letterboxed left and right with the background colour
    assert tuple(tile[32, 0]) == (243, 240, 250) and tuple(tile[0, 32]) != (243, 240, 250)
    with pytest.raises(ImageError):
        browse.tile_image(labelled_folder / "NON_AI_GENERATED" / "broken.jpg")


def test_predictions_are_computed_once_then_read_from_disk(labelled_folder, small_classifier, monkeypatch):
    calls = []
    first = browse.predictions(small_classifier, labelled_folder, progress=lambda *a: calls.append(a))
    assert calls and calls[-1][:2] == (9, 9)
    assert len(first) == 9 and sum(r.error is not None for r in first) == 1
    good = [r for r in first if r.p_ai is not None]
    expected = small_classifier.predict([Path(r.path) for r in good])
    np.testing.assert_allclose([r.p_ai for r in good], expected, atol=1e-4)

    import aiart.evaluate

    def must_not_run(*args, **kwargs):
        raise AssertionError("predictions were recomputed although the folder did not change")

    monkeypatch.setattr(aiart.evaluate, "predict_folder", must_not_run)
    assert browse.predictions(small_classifier, labelled_folder) == first

    changed = labelled_folder / "AI_GENERATED" / "ai_generated_0.png"
    os.utime(changed, ns=(0, changed.stat().st_mtime_ns + 10**9))
    with pytest.raises(AssertionError, match="recomputed"):
        browse.predictions(small_classifier, labelled_folder)


def test_cached_predictions_never_compute(labelled_folder, small_classifier):
    assert browse.cached_predictions(small_classifier, labelled_folder) is None  # nothing scored yet
    first = browse.predictions(small_classifier, labelled_folder)
    assert browse.cached_predictions(small_classifier, labelled_folder) == first
    digests = {Path(r.path).name: r.digest for r in first}
    image = labelled_folder / "AI_GENERATED" / "ai_generated_0.png"
    assert digests[image.name] == content_hash(image.read_bytes())


def test_overview_and_time_estimate(labelled_folder):
    samples = dataset.scan(labelled_folder)
    view = browse.overview(samples)
    assert view["n"] == 9 and view["per_class"] == {"AI_GENERATED": 4, "NON_AI_GENERATED": 5}
    assert sum(view["per_source"].values()) == 9
    assert browse.minutes_to_score(1) == 1 and browse.minutes_to_score(2303) >= 8
    assert browse.minutes_to_score(2303, 448) >= 4 * browse.minutes_to_score(2303) - 1


def test_source_names_use_the_manifests_generator():
    rows = [
        browse.Record(f"{i}", AI, "user/repo", 0.9, AI, True, None, None, "Midjourney v6 (web, 2024)") for i in (1, 2)
    ]
    rows.append(browse.Record("3", HUMAN, "wiki/art", 0.1, HUMAN, True, None, None, ""))
    assert browse.source_names(rows) == {"user/repo": "Midjourney v6 · user/repo", "wiki/art": "wiki/art"}


def test_split_seen_separates_training_images(records):
    unseen, seen = browse.split_seen(records, frozenset({"hash-a0", "hash-h1"}))
    assert names(seen) == ["a0", "h1"] and len(unseen) == len(records) - 2


def test_damaged_cache_is_recomputed(labelled_folder, small_classifier):
    first = browse.predictions(small_classifier, labelled_folder)
    caches = list((browse.cache_dir() / "predictions" / small_classifier.version).glob("*.json"))
    for path in caches:
        path.write_text("{not json")
    assert browse.predictions(small_classifier, labelled_folder) == first


def test_cli_browse_json(known_folder, small_classifier, tmp_path, capsys):
    from aiart.cli import main
    from aiart.model.storage import save_head

    head = tmp_path / "head.keras"
    save_head(small_classifier.head, small_classifier.info, head)
    args = ["--model", str(head), "browse", str(known_folder), "--json"]

    assert main([*args, "--filter", "confident-mistakes"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [Path(r["path"]).name for r in out["records"]] == ["ai_generated_2.png", "non_ai_generated_2.png"]
    first = out["records"][0]
    assert first == {
        "path": str(known_folder / "AI_GENERATED" / "ai_generated_2.png"),
        "label": AI,
        "source": "ai_generated/(folder)",
        "p_ai": 0.05,
        "predicted": HUMAN,
        "correct": False,
        "error": None,
        "digest": content_hash((known_folder / "AI_GENERATED" / "ai_generated_2.png").read_bytes()),
        "generator": "",
    }
    summary = out["summary"]
    assert (summary["n"], summary["unreadable"], summary["matched"]) == (8, 1, 2)
    assert summary["accuracy"] == pytest.approx(0.5)

    assert main([*args, "--sort=-p_ai", "--limit", "3"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["p_ai"] for r in out["records"]] == [0.9, 0.8, 0.7]
    assert out["summary"]["matched"] == 9

    assert main([*args, "--filter", "all", "--source", "non_ai_generated/(folder)"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["records"]) == 5 and out["records"][0]["error"] == "not a recognised image format"
    assert out["summary"]["n"] == 4

    assert main([*args, "--source", "nowhere"]) == 2
    assert "unknown source 'nowhere'" in capsys.readouterr().err


def test_time_left_ignores_images_that_were_already_cached():
    from aiart.data.features import TimeLeft

    left = TimeLeft()
    assert left(90, 100, 0.0) is None  # 90 cached, nothing computed yet
    assert left(95, 100, 10.0) == pytest.approx(10.0)  # 5 computed in 10 s: 5 more take 10 s, not 0.5 s


@pytest.fixture
def face_folder(labelled_folder):
    """`labelled_folder` plus a real portrait photo among the human-made pictures."""
    from tests.conftest import portrait

    portrait().save(labelled_folder / "NON_AI_GENERATED" / "portrait.jpg")
    return labelled_folder


def test_close_up_faces_of_a_folder_are_found_once_and_cached(face_folder, monkeypatch):
    from aiart.trust import faces as fc

    found = browse.close_up_faces(face_folder)
    by_name = {Path(p).name: n for p, n in found.items()}
    assert by_name.pop("portrait.jpg") == 1 and by_name.pop("broken.jpg") is None
    assert set(by_name.values()) == {0}  # the pictures drawn by code show no face
    monkeypatch.setattr(fc, "close_up_faces", lambda image: pytest.fail("searched again"))
    assert browse.close_up_faces(face_folder) == found  # from the disk cache
    (face_folder / "NON_AI_GENERATED" / "portrait.jpg").unlink()
    monkeypatch.undo()
    assert len(browse.close_up_faces(face_folder)) == len(found) - 1  # a changed folder is searched again


def test_select_keeps_only_the_pictures_with_a_face(records):
    faces = {"a1": 1, "h2": 2, "h0": 0, "bad": None}
    assert names(browse.select(records, "all", faces=faces)) == ["a1", "h2"]
    assert names(browse.select(records, "confident-mistakes", faces=faces)) == ["h2"]
    assert names(browse.select(records, "all", source="s1", faces=faces)) == ["a1"]
    assert browse.select(records, "all", faces={}) == []


def test_cli_browse_faces(face_folder, small_classifier, tmp_path, capsys):
    from aiart.cli import main
    from aiart.model.storage import save_head

    head = tmp_path / "head.keras"
    save_head(small_classifier.head, small_classifier.info, head)
    assert main(["--model", str(head), "browse", str(face_folder), "--faces", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [Path(r["path"]).name for r in out["records"]] == ["portrait.jpg"]
    assert (out["summary"]["n"], out["summary"]["matched"]) == (1, 1)  # the summary is of the faces too
    assert main(["--model", str(head), "browse", str(face_folder), "--faces"]) == 0
    assert "close-up faces: n=1" in capsys.readouterr().err
