"""Deletion/insertion curves: the arithmetic, the batching, and a model whose true evidence is known."""

import io
import json

import keras
import numpy as np
import pytest
from PIL import Image

from aiart import cli
from aiart.model.classifier import Classifier, to_batch
from aiart.model.storage import save_head
from aiart.trust import faithfulness
from aiart.trust.faithfulness import Curves, auc, cell_order, chosen_cells, evaluate, perturbation_curves

REGION = (slice(4, 12), slice(8, 12))  # rows 4..11, cols 8..11: cells (1, 2) and (2, 2) of a 4x4 grid


def region_model() -> keras.Model:
    """logit = 0.5 * mean(relu(high-pass(x))) over REGION - 2: only fine texture inside REGION counts."""
    inp = keras.Input((16, 16, 3), name="image")
    kernel = -np.ones((3, 3, 3, 1), np.float32) / 24
    kernel[1, 1] = 1 / 3
    conv = keras.layers.Conv2D(1, 3, padding="same", activation="relu", name="conv")
    x = conv(inp)
    conv.set_weights([kernel, np.zeros(1, np.float32)])
    x = keras.layers.Cropping2D(((REGION[0].start, 16 - REGION[0].stop), (REGION[1].start, 16 - REGION[1].stop)))(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    dense = keras.layers.Dense(1, name="logit")
    out = dense(x)
    dense.set_weights([np.array([[0.5]], np.float32), np.array([-2.0], np.float32)])
    return keras.Model(inp, out)


class RegionClassifier:
    """Just what `evaluate` uses of a Classifier, around `region_model`."""

    input_size = 16
    keep_aspect = False
    conv_layers = ("conv",)
    threshold = 0.5
    label = Classifier.label
    to_batch = Classifier.to_batch

    def __init__(self):
        self.model = region_model()

    def logits_of_batch(self, batch: np.ndarray) -> np.ndarray:
        return self.model(batch, training=False).numpy()[:, 0]


@pytest.fixture(scope="module")
def region_clf():
    return RegionClassifier()


@pytest.fixture
def noise_image():
    return Image.fromarray(np.random.default_rng(5).integers(0, 256, (16, 16, 3), dtype=np.uint8))


def test_auc_of_simple_curves():
    assert auc(np.ones(9)) == pytest.approx(1.0)
    assert auc(np.linspace(1, 0, 9)) == pytest.approx(0.5)
    assert auc(np.zeros(3)) == 0.0
    c = Curves(np.linspace(1, 0, 5), np.linspace(0, 1, 5))
    assert c.aucs() == {"deletion_auc": pytest.approx(0.5), "insertion_auc": pytest.approx(0.5)}
    np.testing.assert_allclose(c.fractions, [0, 0.25, 0.5, 0.75, 1])


def test_cell_order_puts_hot_cells_first_and_breaks_ties_at_random():
    heat = np.zeros((16, 16))
    heat[REGION] = 1.0
    order = cell_order(heat, 4, np.random.default_rng(0))
    assert sorted(order[:2]) == [6, 10] and sorted(order) == list(range(16))
    flat = [tuple(cell_order(np.zeros((16, 16)), 4, np.random.default_rng(s))) for s in range(3)]
    assert len(set(flat)) == 3, "ties must not fall back to a fixed (top-left first) order"


def test_chosen_cells_grow_in_equal_steps():
    cells = chosen_cells(np.array([3, 1, 0, 2]), steps=4)
    assert cells.shape == (5, 4)
    assert cells.sum(axis=1).tolist() == [0, 1, 2, 3, 4]
    assert cells[1].tolist() == [False, False, False, True]  # cell 3 goes first
    assert np.all(cells[1:] >= cells[:-1])


def test_known_region_map_beats_random(region_clf, noise_image):
    """The true evidence map: deletion falls faster and insertion rises faster than random orders."""
    x = to_batch([noise_image], 16)[0]
    heat = np.zeros((16, 16))
    heat[REGION] = 1.0
    rng = np.random.default_rng(0)
    orders = [cell_order(heat, 4, rng)] + [rng.permutation(16) for _ in range(8)]
    truth, *rand = perturbation_curves(region_clf.logits_of_batch, x, orders, 1.0, grid=4, steps=8)
    assert truth.deletion[0] > 0.9 and truth.deletion[-1] < 0.2  # the model does use the texture
    assert truth.deletion_auc < np.mean([c.deletion_auc for c in rand]) - 0.2
    assert truth.insertion_auc > np.mean([c.insertion_auc for c in rand]) + 0.2
    # The reversed map (least relevant first) is worse than random: the test can tell them apart.
    worst = perturbation_curves(region_clf.logits_of_batch, x, [orders[0][::-1]], 1.0, grid=4, steps=8)[0]
    assert worst.deletion_auc > np.mean([c.deletion_auc for c in rand])


def test_evaluate_hirescam_on_region_model_is_faithful(region_clf, noise_image):
    """HiResCAM (gradient x activation) finds the region; its curves beat the random baseline."""
    res = evaluate(region_clf, noise_image, layer="conv", methods=("hirescam",), grid=4, steps=8, random_orders=8)
    assert res.target == "AI_GENERATED" and res.layer == "conv"
    hires = res.methods["hirescam"]
    assert hires.deletion_auc < res.random.deletion_auc
    assert hires.insertion_auc > res.random.insertion_auc
    # P(NON_AI) = 1 - P(AI): the same images read for the other target give mirrored curves.
    other = evaluate(region_clf, noise_image, layer="conv", methods=(), target="NON_AI_GENERATED", grid=4, steps=8)
    np.testing.assert_allclose(other.random.deletion[[0, -1]], 1 - res.random.deletion[[0, -1]], atol=1e-6)


def test_perturbed_images_go_in_batches_and_duplicates_once(region_clf, noise_image, monkeypatch):
    x = to_batch([noise_image], 16)[0]
    calls = []

    def logits(batch):
        calls.append(len(batch))
        return region_clf.logits_of_batch(batch)

    order = np.arange(16)
    same = perturbation_curves(logits, x, [order, order], 1.0, grid=4, steps=8)
    assert sum(calls) == 2 * 9 and len(calls) == 1  # one forward pass, the repeated order computed once
    np.testing.assert_allclose(same[0].deletion, same[1].deletion)
    calls.clear()
    monkeypatch.setattr(faithfulness, "BATCH", 8)
    perturbation_curves(logits, x, [order, order[::-1]], 1.0, grid=4, steps=8)
    assert max(calls) <= 8 and sum(calls) < 2 * 2 * 9  # shared end points (original, all grey, all blur)


def test_evaluate_on_real_classifier(small_classifier, pattern_image):
    res = evaluate(small_classifier, pattern_image, steps=4, random_orders=2)
    p_ai = float(small_classifier.predict([pattern_image])[0])
    assert res.target == small_classifier.label(p_ai)
    assert res.layer == small_classifier.conv_layers[-1]
    assert set(res.methods) == set(faithfulness.FAST_METHODS)
    for c in [*res.methods.values(), res.random]:
        assert c.deletion.shape == c.insertion.shape == (5,)
        assert np.all((c.deletion >= 0) & (c.deletion <= 1)) and 0 <= c.deletion_auc <= 1
        # Nothing removed and everything restored are both the untouched image.
        assert c.deletion[0] == pytest.approx(res.p_class, abs=1e-5)
        assert c.insertion[-1] == pytest.approx(res.p_class, abs=1e-5)
    expected = p_ai if res.target == "AI_GENERATED" else 1 - p_ai
    assert res.p_class == pytest.approx(expected, abs=1e-5)
    with pytest.raises(ValueError, match="unknown method"):
        evaluate(small_classifier, pattern_image, methods=("nope",))


def test_curves_figure_renders(region_clf, noise_image):
    res = evaluate(region_clf, noise_image, layer="conv", methods=("hirescam", "gradcam"), grid=4, steps=4)
    fig = faithfulness.curves_figure(res)
    assert len(fig.axes) == 2
    assert any("random" in t.get_text() for t in fig.axes[0].get_legend().get_texts())
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    assert Image.open(buf).size[0] > 100
    with_picture = faithfulness.curves_figure(res, picture=np.asarray(noise_image))
    assert len(with_picture.axes) == 3 and with_picture.axes[0].get_images()


def test_image_files_flat_and_nested(tmp_path, labelled_folder):
    (tmp_path / "flat").mkdir()
    for i in range(3):
        Image.new("RGB", (8, 8), (i, 0, 0)).save(tmp_path / "flat" / f"{i}.png")
    (tmp_path / "flat" / "notes.txt").write_text("not an image")
    assert len(faithfulness.image_files(tmp_path / "flat")) == 3
    both = faithfulness.image_files(labelled_folder)
    assert len(both) == 9
    picked = faithfulness.image_files(labelled_folder, limit=4, seed=1)
    assert len(picked) == 4 and picked == faithfulness.image_files(labelled_folder, limit=4, seed=1)
    with pytest.raises(FileNotFoundError):
        faithfulness.image_files(tmp_path / "missing")


def test_cli_json_shape(small_classifier, labelled_folder, tmp_path, capsys):
    head = tmp_path / "head.keras"
    save_head(small_classifier.head, small_classifier.info, head)
    argv = ["--model", str(head), "faithfulness", str(labelled_folder), "--json", "--steps", "3"]
    rc = cli.main([*argv, "--limit", "3", "--methods", "gradcam,hirescam"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert set(out) == {"n", "methods", "random"} and out["n"] == 3
    assert set(out["methods"]) == {"gradcam", "hirescam"}
    for aucs in [*out["methods"].values(), out["random"]]:
        assert set(aucs) == {"deletion_auc", "insertion_auc"}
        assert all(0 <= v <= 1 for v in aucs.values())
    # The broken file is reported on stderr and skipped; the rest still count.
    rc = cli.main([*argv, "--methods", "gradcam", "--target", "AI_GENERATED"])
    captured = capsys.readouterr()
    assert rc == 0 and json.loads(captured.out)["n"] == 8 and "broken.jpg" in captured.err
    assert cli.main([*argv, "--methods", "nope"]) == 2
    assert "unknown method" in capsys.readouterr().err
    assert cli.main([*argv, "--methods", "gradcam", "--random-orders", "0"]) == 2
    assert "random orders at least 1" in capsys.readouterr().err


def test_random_orders_set_the_baseline(small_classifier, pattern_image):
    """The baseline averages `random_orders` seeded orders: more orders, another mean, the same picture."""
    one, five = (evaluate(small_classifier, pattern_image, methods=(), random_orders=n) for n in (1, 5))
    assert one.p_class == five.p_class and not np.allclose(one.random.insertion, five.random.insertion)
    assert five.random.deletion[0] == pytest.approx(five.p_class, abs=1e-6)  # nothing removed yet


def faithfulness_page():
    from aiart.app import trust_ui, ui
    from tests.conftest import synthetic_art

    targets = ["AI_GENERATED", "NON_AI_GENERATED"]  # "Both" on the card: both maps are tested
    trust_ui.faithfulness_panel(ui.default_classifier(), synthetic_art(1, True, (40, 40)), None, "gradcam", targets)


def test_faithfulness_panel_on_request_tests_both_maps_and_stays(monkeypatch, small_classifier):
    from tests.conftest import open_panel

    at = open_panel(faithfulness_page, monkeypatch, small_classifier)
    assert not at.exception and len(at.button) == 1 and not at.metric  # nothing computed until asked
    at.button[0].click().run()
    assert not at.exception
    labels = ["Removing (lower is better)", "Restoring (higher is better)"]
    assert [m.label for m in at.metric] == labels * 2  # issue 21: with "Both", both maps, each named
    assert [m.value for m in at.markdown if m.value.startswith("**Testing")] == [
        "**Testing the 'what looks AI' map**",
        "**Testing the 'what looks human' map**",
    ]
    assert all(m.delta.endswith("vs random") for m in at.metric)
    assert "random regions" in at.caption[0].value
    at.run()  # the answer stays (its request is plain session state, which a page switch keeps)
    assert len(at.metric) == 4


def test_progress_reports_every_batch(small_classifier, pattern_image):
    seen = []
    faithfulness.evaluate(small_classifier, pattern_image, steps=4, random_orders=1, progress=lambda *a: seen.append(a))
    assert seen and seen[-1][0] == seen[-1][1] and [d for d, *_ in seen] == sorted(d for d, *_ in seen)
