"""Model-randomization sanity check: maps must change, the shared classifier must not."""

import json

import numpy as np
import pytest

from aiart import cli
from aiart.cam import METHODS
from aiart.model.storage import save_head
from aiart.trust.sanity import THRESHOLD, SanityResult, copy_classifier, sanity_check, spearman, stages


def test_spearman_ranks_not_values():
    a = np.arange(16.0).reshape(4, 4)
    assert spearman(a, a**3) == pytest.approx(1.0)
    assert spearman(a, -a) == pytest.approx(-1.0)
    assert spearman(a, np.zeros((4, 4))) == 0.0  # a constant map ranks nothing
    rng = np.random.default_rng(0)
    assert abs(spearman(rng.random(10_000), rng.random(10_000))) < 0.05


def test_stages_go_head_then_blocks_top_down(small_classifier):
    plan = stages(small_classifier)
    assert [name for name, _ in plan] == ["head", "block3", "block2", "block1"]
    assert plan[0][1] == ["logit", "hidden"]
    assert plan[1][1] == ["block3_conv3", "block3_conv2", "block3_conv1"]


def test_copy_predicts_the_same_and_shares_nothing(small_classifier, pattern_image):
    copy = copy_classifier(small_classifier)
    np.testing.assert_allclose(copy.predict([pattern_image]), small_classifier.predict([pattern_image]), atol=1e-6)
    own = {id(v) for v in small_classifier.model.weights}
    assert not own & {id(v) for v in copy.model.weights}


def test_randomizing_changes_gradcam_and_leaves_shared_model_alone(small_classifier, pattern_image):
    before = [w.copy() for w in small_classifier.model.get_weights()]
    p_before = small_classifier.predict([pattern_image])
    res = sanity_check(small_classifier, pattern_image, methods=("gradcam", "hirescam"), blocks=1)
    assert res.stages == ["original", "head", "block3"]
    assert res.layer == "block3_conv3" and res.target == small_classifier.label(float(p_before[0]))
    for m in ("gradcam", "hirescam"):
        assert len(res.maps[m]) == 3 and len(res.correlations[m]) == 2
        assert res.maps[m][0].shape == (32, 32)
        assert all(-1 <= c <= 1 for c in res.correlations[m])
        assert not np.allclose(res.maps[m][0], res.maps[m][1]), f"{m}: randomizing the head changed nothing"
    assert res.correlations["gradcam"][0] < 0.9
    for a, b in zip(before, small_classifier.model.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(small_classifier.predict([pattern_image]), p_before)


def test_same_seed_same_result(small_classifier, pattern_image):
    a = sanity_check(small_classifier, pattern_image, methods=("gradcam",), blocks=0, seed=7)
    b = sanity_check(small_classifier, pattern_image, methods=("gradcam",), blocks=0, seed=7)
    assert a.correlations == b.correlations


def test_flagging_uses_the_threshold_at_any_stage():
    maps = {"a": [], "b": [], "c": []}
    corr = {"a": [0.1, 0.2], "b": [0.9, 0.1], "c": [0.2, THRESHOLD + 0.01]}
    res = SanityResult("l", "AI_GENERATED", THRESHOLD, ["original", "head", "block5"], maps, corr)
    assert res.flagged == {"a": False, "b": True, "c": True}
    summary = res.summary()
    assert summary["methods"]["b"] == {"spearman": {"head": 0.9, "block5": 0.1}, "flagged": True}
    json.dumps(summary)


def test_cli_sanity_json(small_classifier, pattern_image, tmp_path, capsys):
    head = tmp_path / "head.keras"
    save_head(small_classifier.head, small_classifier.info, head)
    pattern_image.save(tmp_path / "img.png")
    rc = cli.main(["--model", str(head), "sanity", str(tmp_path / "img.png"), "--json", "--methods", "gradcam"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["stages"] == ["head", "block3", "block2", "block1"]
    assert set(out["methods"]) == {"gradcam"} and isinstance(out["methods"]["gradcam"]["flagged"], bool)
    assert cli.main(["--model", str(head), "sanity", str(tmp_path / "img.png"), "--methods", "gradcam"]) == 0
    assert "gradcam" in capsys.readouterr().out
    assert cli.main(["--model", str(head), "sanity", str(tmp_path / "nope.png")]) == 2


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_method_runs_through_the_check(small_classifier, pattern_image, method):
    res = sanity_check(small_classifier, pattern_image, methods=(method,), blocks=0)
    assert np.isfinite(res.correlations[method][0])


def sanity_page():
    from aiart.app import trust_ui, ui
    from tests.conftest import synthetic_art

    trust_ui.sanity_panel(ui.default_classifier(), synthetic_art(2, False, (40, 40)), None, "gradcam", ["AI_GENERATED"])


def test_sanity_panel_on_request(monkeypatch, small_classifier):
    from tests.conftest import open_panel

    at = open_panel(sanity_page, monkeypatch, small_classifier)
    assert not at.exception and not at.table
    at.button[0].click().run()
    assert not at.exception
    (table,) = [d.value for d in at.table]  # a table, not a scrolling grid: nothing cut off at 1280 px
    # not "+ block3": a leading "+" renders as a list bullet ("• block3")
    assert list(table.columns) == ["head random", "and block3", "and block2", "and block1", "verdict"]
    assert table.index[0] == "gradcam" and "scorecam" not in table.index  # Score-CAM only when chosen
    assert len(at.image) == 1  # the row of maps for the chosen method
    at.run()  # the result stays on screen after another rerun
    assert len(at.table) == 1
