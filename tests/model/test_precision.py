"""The passes' number format: chosen by CPU flags or AIART_PRECISION, and answers that agree with float32."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from aiart.model import precision
from aiart.model.classifier import Classifier, to_batch
from tests.conftest import synthetic_art


@pytest.fixture
def no_override(monkeypatch):
    monkeypatch.delenv("AIART_PRECISION", raising=False)


def test_cpu_flags_read_from_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse avx512f avx512_bf16 amx_tile\n\nprocessor\t: 1\n")
    assert {"avx512_bf16", "amx_tile", "fpu"} <= precision.cpu_flags(info)
    assert precision.cpu_flags(tmp_path / "missing") == frozenset()


@pytest.mark.parametrize(
    ("flags", "native"),
    [
        ({"avx512f", "avx512_bf16"}, True),
        ({"amx_bf16"}, True),
        ({"avx2", "avx512f", "avx512_vnni"}, False),
        (set(), False),
    ],
)
def test_native_bfloat16_needs_a_bf16_flag(flags, native):
    assert precision.native_bfloat16(frozenset(flags)) is native


def test_default_follows_the_cpu(monkeypatch, no_override):
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"avx2"}))
    assert precision.default_precision() == "float32"
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"avx512_bf16"}))
    assert precision.default_precision() == "bfloat16"


def test_override_and_bad_values(monkeypatch):
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"avx512_bf16"}))
    monkeypatch.setenv("AIART_PRECISION", "FLOAT32")
    assert precision.default_precision() == "float32"
    monkeypatch.setenv("AIART_PRECISION", "int4")
    with pytest.raises(ValueError, match="unknown precision 'int4'"):
        precision.default_precision()


def test_cpu_without_bfloat16_runs_float32(monkeypatch, no_override, small_classifier):
    """A CPU with no bfloat16 flag builds and runs the plain float32 graph."""
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset())
    clf = Classifier(small_classifier.head, small_classifier.info)
    assert clf.precision == "float32"
    assert {clf.model.get_layer(n).dtype_policy.name for n in clf.conv_layers} == {"float32"}
    assert np.isfinite(clf.predict([synthetic_art(0, True)])).all()


@pytest.fixture(scope="module")
def pair(small_classifier):
    """The same head at both precisions."""
    return {p: Classifier(small_classifier.head, small_classifier.info, precision=p) for p in precision.PRECISIONS}


def test_bfloat16_graph_keeps_statistics_and_head_in_float32(pair):
    clf = pair["bfloat16"]
    assert {clf.model.get_layer(n).dtype_policy.name for n in clf.conv_layers} == {"mixed_bfloat16"}
    assert clf.features_model.output.dtype == "float32"
    assert clf.model.output.dtype == "float32"


def test_features_agree_with_float32(pair):
    images = [synthetic_art(i, i % 2 == 0, (32, 32)) for i in range(6)]
    f32, bf16 = (pair[p].features_of_batch(to_batch(images, 32)) for p in ("float32", "bfloat16"))
    assert np.abs(bf16 - f32).mean() / np.abs(f32).mean() < 0.01


@pytest.fixture(scope="module")
def shipped_pair():
    from aiart.model.storage import load_classifier

    return {p: load_classifier(precision=p) for p in precision.PRECISIONS}


def test_shipped_model_answers_agree_with_float32(shipped_pair):
    """The shipped head at 448 px: the same P(AI) to within 0.02 and the same verdicts, in both formats."""
    images = [synthetic_art(i, i % 2 == 0, size) for i, size in enumerate([(300, 400), (480, 320), (256, 256)])]
    p32, pbf = (shipped_pair[p].predict(images) for p in ("float32", "bfloat16"))
    assert np.abs(p32 - pbf).max() < 0.02
    clf = shipped_pair["float32"]
    assert [clf.verdict(p) for p in p32] == [clf.verdict(p) for p in pbf]


def test_heatmaps_agree_with_float32(shipped_pair, pattern_image):
    from aiart.explain import explain

    image = pattern_image.resize((320, 240))
    maps = [explain(shipped_pair[p], image).heatmap for p in ("float32", "bfloat16")]
    assert maps[1].dtype == np.float32
    assert spearmanr(maps[0].ravel(), maps[1].ravel()).statistic > 0.95


def test_precisions_never_share_cache_keys(pair):
    from aiart.data.features import FeatureStore

    stores = [FeatureStore(pair[p]) for p in ("float32", "bfloat16")]
    assert stores[0].root != stores[1].root
    assert pair["float32"].version != pair["bfloat16"].version


def test_bench_counts_vgg16_work_and_lists_native_formats(monkeypatch, capsys):
    from aiart.bench import precision as bench

    assert bench.vgg16_macs(224, 224) == 15_346_630_656  # VGG16's published 15.3 GMAC for its convs
    assert bench.vgg16_macs(448, 448) == 4 * bench.vgg16_macs(224, 224)
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"avx2"}))
    assert bench.available_precisions() == ["float32"]
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"amx_bf16"}))
    assert bench.available_precisions() == ["float32", "bfloat16"]
    times = {"bare224": 0.15, "bare448": 0.6, "predict": 0.6, "heatmap": 0.7, "browse": 0.5}
    bench.print_table({"float32": times, "bfloat16": {k: v / 4 for k, v in times.items()}})
    out = capsys.readouterr().out
    assert "bfloat16 bare 448 forward / float32: 0.25x" in out
    assert "102 GMAC/s" in out and "409 GMAC/s" in out  # 15.35 GMAC in 150 ms, then 4x faster


def test_describe_names_the_running_format(monkeypatch, no_override):
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"amx_bf16"}))
    assert "bfloat16 (this CPU multiplies bfloat16 natively)" in precision.describe("bfloat16")
    assert "AIART_PRECISION asks for it" in precision.describe("float32")
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset())
    assert "no native bfloat16" in precision.describe("float32")
