"""Robustness probes: one row per probe, probabilities in range, one forward pass."""

import json

import numpy as np
import pytest
from PIL import Image

from aiart import cli
from aiart.model.storage import save_head
from aiart.trust import robustness
from aiart.trust.robustness import PROBES, probe


def test_probes_do_what_they_say(pattern_image):
    w, h = pattern_image.size
    fns = {name: fn for name, (_, fn) in PROBES.items()}
    for name in ("jpeg90", "jpeg50", "resize0.5", "resize0.25", "blur1", "blur2"):
        out = fns[name](pattern_image)
        assert out.size == (w, h) and out.mode == "RGB"
        assert not np.array_equal(np.asarray(out), np.asarray(pattern_image)), name
    assert fns["crop80"](pattern_image).size == (round(w * 0.8), round(h * 0.8))
    assert fns["crop60"](pattern_image).size == (round(w * 0.6), round(h * 0.6))
    assert fns["screenshot"](pattern_image).size == (round(w * 2 / 3), round(h * 2 / 3))
    # Lower JPEG quality loses more.
    err = {
        q: np.abs(np.asarray(fns[f"jpeg{q}"](pattern_image), float) - np.asarray(pattern_image)).mean()
        for q in (90, 50)
    }
    assert err[50] > err[90]
    assert fns["crop60"](Image.new("RGB", (1, 1))).size == (1, 1)


def test_table_has_one_row_per_probe_in_one_forward_pass(small_classifier, pattern_image, monkeypatch):
    calls = []
    real = small_classifier.logits_of_batch
    monkeypatch.setattr(small_classifier, "logits_of_batch", lambda b: calls.append(len(b)) or real(b))
    res = probe(small_classifier, pattern_image)
    assert calls == [1 + len(PROBES)]
    assert [r.probe for r in res.rows] == list(PROBES)
    p0 = float(small_classifier.predict([pattern_image])[0])
    assert res.p_ai == pytest.approx(p0, abs=1e-6) and res.label == small_classifier.verdict(p0)
    for r in res.rows:
        assert 0.0 <= r.p_ai <= 1.0
        assert r.change == pytest.approx(r.p_ai - res.p_ai)
        assert r.flips == (small_classifier.verdict(r.p_ai) != res.label)
    assert res.flips == sum(r.flips for r in res.rows)


def test_flip_is_reported_when_the_threshold_is_crossed(small_classifier, pattern_image, monkeypatch):
    """With the threshold between the original's P(AI) and a probe's, that probe flips."""
    res = probe(small_classifier, pattern_image)
    far = max(res.rows, key=lambda r: abs(r.change))
    monkeypatch.setattr(small_classifier, "threshold", (res.p_ai + far.p_ai) / 2)
    flipped = {r.probe: r.flips for r in probe(small_classifier, pattern_image).rows}
    assert flipped[far.probe]


def test_moving_inside_the_not_sure_band_is_no_change(small_classifier, pattern_image, monkeypatch):
    """Issue 21: 61% -> 47.6% is "not sure" both times with the shipped band, so it is no change; what
    counts is `Classifier.verdict`, the band included, never the bare 50% threshold."""
    res = probe(small_classifier, pattern_image)
    widest = max(abs(r.p_ai - 0.5) for r in [*res.rows, res]) + 0.01
    monkeypatch.setattr(small_classifier.info, "unsure", widest)  # every probe lands inside the band
    again = probe(small_classifier, pattern_image)
    assert again.label == "UNSURE" and again.flips == 0


def test_cli_robustness_json(small_classifier, pattern_image, tmp_path, capsys):
    head = tmp_path / "head.keras"
    save_head(small_classifier.head, small_classifier.info, head)
    pattern_image.save(tmp_path / "img.png")
    assert cli.main(["--model", str(head), "robustness", str(tmp_path / "img.png"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["probe"] for r in out["probes"]] == list(robustness.PROBES)
    assert all(set(r) == {"probe", "description", "p_ai", "change", "flips"} for r in out["probes"])
    assert cli.main(["--model", str(head), "robustness", str(tmp_path / "img.png")]) == 0
    assert "screenshot" in capsys.readouterr().out


def robustness_page():
    from aiart.app import trust_ui, ui
    from tests.conftest import synthetic_art

    trust_ui.robustness_panel(ui.default_classifier(), synthetic_art(3, True, (40, 40)))


def test_robustness_panel_on_request(monkeypatch, small_classifier):
    from tests.conftest import open_panel

    at = open_panel(robustness_page, monkeypatch, small_classifier)
    assert not at.exception and not at.dataframe
    at.button[0].click().run()
    assert not at.exception
    (table,) = [d.value for d in at.dataframe]
    assert len(table) == len(PROBES) and list(table.columns) == ["change", "P(AI)", "vs original", "verdict"]
    assert table["P(AI)"].between(0, 1).all()
    assert "stayed the same under" in at.caption[0].value and "100%" not in at.caption[0].value


def test_a_labelled_folder_gets_accuracy_per_probe_and_skips_broken_files(small_classifier, labelled_folder):
    from aiart.data import dataset

    samples = dataset.scan(labelled_folder)
    seen = []
    out = robustness.folder_scores(small_classifier, samples, progress=lambda done, total, _: seen.append(total))
    assert out["n"] == 8 and list(out["errors"]) == [str(labelled_folder / "NON_AI_GENERATED" / "broken.jpg")]
    assert list(out["probes"]) == ["original", *PROBES] and len(seen) == len(samples)
    good = [s for s in samples if s.path.name != "broken.jpg"]
    p = small_classifier.predict([s.path for s in good])
    truth = np.array([s.y for s in good], bool)
    original = out["probes"]["original"]
    assert original["accuracy"] == pytest.approx(np.mean((p >= small_classifier.threshold) == truth))
    assert original["changed"] == 0 and original["mean_change"] == 0
    per_image = [probe(small_classifier, s.path) for s in good]
    for j, name in enumerate(PROBES):
        rows = [res.rows[j] for res in per_image]
        assert out["probes"][name]["changed"] == pytest.approx(np.mean([r.flips for r in rows]))
        assert out["probes"][name]["mean_change"] == pytest.approx(np.mean([r.change for r in rows]), abs=1e-6)
        right = np.mean([(r.p_ai >= small_classifier.threshold) == t for r, t in zip(rows, truth)])
        assert out["probes"][name]["accuracy"] == pytest.approx(right)


def test_a_seeded_sample_is_the_same_every_time_and_keeps_folder_order(labelled_folder):
    from aiart.data import dataset

    samples = dataset.scan(labelled_folder)
    some = dataset.seeded_sample(samples, 4, seed=3)
    assert some == dataset.seeded_sample(samples, 4, seed=3) and len(some) == 4
    assert some == sorted(some, key=lambda s: str(s.path)) and dataset.seeded_sample(samples, None) == samples


def test_cli_robustness_on_a_folder(small_classifier, labelled_folder, tmp_path, capsys):
    head = tmp_path / "head.keras"
    save_head(small_classifier.head, small_classifier.info, head)
    assert cli.main(["--model", str(head), "robustness", str(labelled_folder), "--limit", "5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n"] + len(out["errors"]) == 5 and set(out["probes"]["jpeg50"]) >= {"accuracy", "changed"}
    assert cli.main(["--model", str(head), "robustness", str(labelled_folder)]) == 0
    text = capsys.readouterr().out
    assert "original" in text and "screenshot" in text and "skipped" in text and "broken.jpg" in text
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli.main(["--model", str(head), "robustness", str(empty)]) != 0  # a clear error, no traceback
    assert "no images found" in capsys.readouterr().err
    for limit in ("0", "-3"):  # a clear line, not "none of the images could be read" or random's own words
        assert cli.main(["--model", str(head), "robustness", str(labelled_folder), "--limit", limit]) == 2
        assert f"error: --limit must be at least 1, got {limit}" in capsys.readouterr().err
