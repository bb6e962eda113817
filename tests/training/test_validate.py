"""The yardstick: whole sources held out, calibration never fit on a fold's own sources, the band."""

import numpy as np
import pytest

from aiart.training import validate
from aiart.training.probe import fit_probe, probe_fitter, probe_head


def toy(n_sources: int = 12, per: int = 15, seed: int = 0):
    """Two classes told apart by feature 0, plus a per-source offset the model must not memorise."""
    rng = np.random.default_rng(seed)
    x, y, groups = [], [], []
    for s in range(n_sources):
        label = s % 2
        offset = rng.normal(0, 1, 6)
        for _ in range(per):
            v = rng.normal(0, 1, 6) + offset
            v[0] += 2.0 * (label - 0.5) * 2
            x.append(v)
            y.append(label)
            groups.append(f"src{s}")
    return np.array(x), np.array(y), np.array(groups)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_source_folds_keep_sources_whole_and_balanced(seed):
    _, _, groups = toy()
    fold = validate.source_folds(groups, k=4, seed=seed)
    for g in set(groups):
        assert len(set(fold[groups == g])) == 1
    sizes = np.bincount(fold, minlength=4)
    assert sizes.min() > 0 and sizes.max() - sizes.min() <= 15


def test_seeds_give_different_splits():
    _, _, groups = toy()
    assert not np.array_equal(validate.source_folds(groups, 4, 0), validate.source_folds(groups, 4, 1))


def test_a_folds_own_labels_never_change_its_calibrated_p():
    x, y, groups = toy()
    fold = validate.source_folds(groups, k=3, seed=0)
    fit = probe_fitter(1.0)
    w = validate.source_weights(groups)
    p, half = validate.calibrated(x, y, fold, fit, validate.out_of_fold(x, y, fold, fit), w)
    flipped = np.where(fold == 0, 1 - y, y)
    q, half_q = validate.calibrated(x, flipped, fold, fit, validate.out_of_fold(x, flipped, fold, fit), w)
    np.testing.assert_allclose(p[fold == 0], q[fold == 0])
    np.testing.assert_allclose(half[fold == 0], half_q[fold == 0])  # nor its "not sure" band
    assert not np.allclose(p[fold != 0], q[fold != 0])


def test_inner_folds_fit_each_pair_of_held_out_folds_once():
    x, y, groups = toy()
    fold = validate.source_folds(groups, k=4, seed=0)
    seen: list[frozenset] = []

    def fit(xs, ys):
        seen.append(frozenset(np.unique(fold[np.isin(x[:, 1], xs[:, 1])]).tolist()))
        return probe_fitter(1.0)(xs, ys)

    validate.calibrated(x, y, fold, fit, np.zeros(len(y)))
    assert len(seen) == 6 == len(set(seen))  # 4 outer folds x 3 inner ones, each pair fit once
    assert all(len(kept) == 2 for kept in seen)
    for f in range(4):  # what the inner fits of outer fold f saw: never f itself
        rest = np.flatnonzero(fold != f)
        naive = np.zeros(len(y))
        for g in np.unique(fold[rest]):
            train = rest[fold[rest] != g]
            naive[fold == g] = probe_fitter(1.0)(x[train], y[train])(x[fold == g])
        without = validate.pair_models(x, y, fold, probe_fitter(1.0))
        for g in np.unique(fold[rest]):
            np.testing.assert_allclose(without(f, g)(x[fold == g]), naive[fold == g])


def test_yardstick_reports_mean_and_spread_and_tables():
    x, y, groups = toy()
    kinds = np.where(y == 1, "AI a", "human b")
    report = validate.yardstick(x, y, groups, probe_fitter(1.0), k=3, seeds=(0, 1), by={"kind": kinds})
    assert report.logits.shape == report.p.shape == (2, len(y))
    assert report.summary["accuracy"][0] > 0.8 and report.summary["auc"][0] > 0.9
    assert 0 <= report.summary["ece"][0] <= 1 and report.summary["accuracy"][1] >= 0
    assert set(report.tables["kind"]) == {"AI a", "human b"}
    assert set(report.summary) == set(validate.SCORES)
    for name in ("ece_by_source", "coverage", "accuracy_when_sure_by_source"):
        assert 0 <= report.summary[name][0] <= 1
    assert report.as_dict()["seeds"] == [0, 1]


def test_with_copies_learns_from_both_rows_and_scores_the_stored_picture():
    x, y, _ = toy()
    copies = x + np.random.default_rng(1).normal(0, 0.5, x.shape)
    pairs = np.stack([x, copies], axis=1)
    seen = []

    def fit(rows, labels):
        seen.append((rows, labels))
        return probe_fitter(1.0)(rows, labels)

    score = validate.with_copies(fit)(pairs[:100], y[:100])
    rows, labels = seen[0]
    np.testing.assert_array_equal(rows, np.concatenate([x[:100], copies[:100]]))
    np.testing.assert_array_equal(labels, np.concatenate([y[:100], y[:100]]))
    held = pairs[100:].copy()
    held[:, 1] = np.nan  # a held-out picture's copy is never read
    np.testing.assert_allclose(score(held), probe_fitter(1.0)(rows, labels)(x[100:]))


def test_unsure_band_is_the_narrowest_that_reaches_the_target():
    p = np.array([0.05, 0.1, 0.45, 0.55, 0.9, 0.95, 0.48, 0.52])
    y = np.array([0, 0, 1, 0, 1, 1, 1, 0])  # the four near 0.5 are all wrong
    band = validate.unsure_band(p, y, target=0.9)
    assert band["half_width"] == pytest.approx(0.06) and band["coverage"] == 0.5
    assert band["accuracy_when_sure"] == 1.0
    assert validate.unsure_band(p[:2], y[:2])["half_width"] == 0.0


def test_temperature_recovers_a_known_scale_and_keeps_the_threshold():
    rng = np.random.default_rng(0)
    z = rng.normal(0, 3, 5000)
    y = (rng.random(5000) < 1 / (1 + np.exp(-0.5 * z))).astype(int)
    a, b = validate.temperature(z, y)
    assert abs(a - 0.5) < 0.08 and b == 0.0
    skewed = (rng.random(5000) < 1 / (1 + np.exp(-(0.5 * z - 1.0)))).astype(int)
    assert validate.temperature(z, skewed)[1] == 0.0  # a class-mix shift never moves the verdict


def test_probe_head_gives_the_probes_logits():
    x, y, _ = toy()
    x = x * np.array([1, 10, 0.1, 1, 1, 5]) + 3
    pipe = fit_probe(x, y, 0.1)
    head = probe_head(pipe)
    got = head.predict(x.astype(np.float32), verbose=0)[:, 0]
    np.testing.assert_allclose(got, pipe.decision_function(x), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("midjourney v5.2", "midjourney"),
        ("dall-e 3 (ChatGPT; blog post)", "dall-e 3"),
        ("dalle2", "dall-e 2"),
        ("stable-diffusion-xl (base 1.0)", "stable diffusion xl"),
        ("stable-diffusion-1.5 (Deliberate 2.0)", "stable diffusion 1.x / LDM"),
        ("Kandinsky 3.1", "other diffusion"),
        ("", "unknown"),
    ],
)
def test_generator_families(text, want):
    from aiart.data.families import family

    assert family(text) == want


def test_source_weights_make_every_source_count_alike():
    groups = ["big"] * 6 + ["small"] * 2
    w = validate.source_weights(groups)
    assert w.mean() == pytest.approx(1.0)
    assert w[:6].sum() == pytest.approx(w[6:].sum())


def test_source_weighted_temperature_follows_the_small_sources():
    """A big confident source and many small overconfident ones: weighing sources alike calibrates
    for the typical new source, weighing images alike for the big one."""
    rng = np.random.default_rng(1)
    z = rng.normal(0, 3, 6000)
    big = np.arange(6000) < 3000
    scale = np.where(big, 1.0, 0.3)  # the small sources' true P is much flatter than their logits say
    y = (rng.random(6000) < 1 / (1 + np.exp(-scale * z))).astype(int)
    groups = np.where(big, "big", np.char.add("s", (np.arange(6000) % 300).astype(str)))
    a_images, _ = validate.temperature(z, y)
    a_sources, _ = validate.temperature(z, y, validate.source_weights(groups))
    assert a_sources < a_images
    assert abs(a_sources - 0.3) < abs(a_images - 0.3)


def test_unsure_band_with_weights_counts_sources_not_images():
    p = np.array([0.9] * 8 + [0.6, 0.4])
    y = np.array([1] * 8 + [0, 1])  # eight right from one source, two wrong near 0.5 from two others
    groups = ["a"] * 8 + ["b", "c"]
    assert validate.unsure_band(p, y, target=0.8)["half_width"] == 0.0  # 80% right counting images
    weighted = validate.unsure_band(p, y, target=0.8, weights=validate.source_weights(groups))
    assert weighted["half_width"] == pytest.approx(0.1) and weighted["coverage"] == pytest.approx(1 / 3)


def held_out_logits(seed: int = 0):
    """Logits of a held-out set: 8 sources, a scale the calibration must find, some mistakes."""
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1] * 4, 10)
    groups = np.repeat([f"src{s}" for s in range(8)], 10)
    return 3.0 * (2 * y - 1 + rng.normal(0, 1.2, len(y))), y, groups


def test_held_out_calibration_keeps_the_fit_on_all_and_reports_one_that_chose_nothing():
    z, y, groups = held_out_logits()
    held = validate.held_out_calibration(z, y, groups)
    w = validate.source_weights(groups)
    assert held.cross_fitted
    assert held.a == pytest.approx(validate.temperature(z, y, w)[0])
    assert held.band == validate.unsure_band(validate.metrics.sigmoid(held.a * z), y, weights=w)
    # each half's numbers come from the other half: its own labels never move them
    fold = validate.source_folds(groups, 2)
    flipped = np.where(fold == 0, 1 - y, y)
    other = validate.held_out_calibration(z, flipped, groups)
    np.testing.assert_allclose(held.p[fold == 0], other.p[fold == 0])
    np.testing.assert_allclose(held.half[fold == 0], other.half[fold == 0])
    assert not np.allclose(held.p[fold == 1], other.p[fold == 1])
    report = held.summary(y)
    assert report["cross_fitted"] and report["band"] == held.band
    assert (report["coverage"], report["accuracy_when_sure"]) == validate.metrics.when_sure(held.p, y, held.half)


def test_held_out_calibration_without_both_classes_in_each_half_says_so():
    z, y, groups = held_out_logits()
    keep = np.isin(groups, ["src0", "src1", "src2"])  # one AI source: some half lacks a class
    held = validate.held_out_calibration(z[keep], y[keep], groups[keep])
    assert not held.cross_fitted
    np.testing.assert_allclose(held.p, validate.metrics.sigmoid(held.a * z[keep]))
    assert set(held.half) == {held.band["half_width"]}
