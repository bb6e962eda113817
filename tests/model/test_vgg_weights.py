"""The offline VGG16 weights are the real ImageNet ones, and our graph computes what ONNX does."""

import numpy as np
import pytest

from aiart.model.vgg_weights import CONV_LAYERS, load_vgg16_weights, locate_onnx, read_onnx, sha256_file

REFERENCE = [0.42947057, 0.11727387, 0.03401296, 0.35422093]  # Keras's own download, block1_conv1


def test_kernels_match_reference_values():
    weights = load_vgg16_weights()
    assert list(weights) == list(CONV_LAYERS)
    np.testing.assert_allclose(weights["block1_conv1"][0][0, 0, 0, :4], REFERENCE, rtol=1e-6)
    assert weights["block1_conv1"][0].shape == (3, 3, 3, 64)
    assert weights["block5_conv3"][0].shape == (3, 3, 512, 512)


def test_cached_copy_equals_fresh_conversion_and_is_not_converted_again(monkeypatch):
    from aiart.model import vgg_weights

    cached = load_vgg16_weights()
    fresh = read_onnx(locate_onnx())

    def convert(*_):
        raise AssertionError("converted again although the cache holds the weights")

    monkeypatch.setattr(vgg_weights, "read_onnx", convert)
    monkeypatch.setattr(vgg_weights, "read_keras_h5", convert)
    again = load_vgg16_weights()
    for name in CONV_LAYERS:
        np.testing.assert_array_equal(cached[name][0], fresh[name][0])
        np.testing.assert_array_equal(again[name][1], fresh[name][1])


def test_damaged_cache_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("AIART_CACHE", str(tmp_path))
    (tmp_path / "vgg16_notop_imagenet.npz").write_bytes(b"not an npz")
    weights = load_vgg16_weights()
    np.testing.assert_allclose(weights["block1_conv1"][0][0, 0, 0, :4], REFERENCE, rtol=1e-6)


def test_sha256_is_checked(tmp_path):
    from aiart.model.vgg_weights import WeightsUnavailable

    fake = tmp_path / "fake.onnx"
    fake.write_bytes(b"x")
    assert sha256_file(fake) != ""
    with pytest.raises(WeightsUnavailable, match="sha256"):
        read_onnx(fake)


@pytest.mark.slow
@pytest.mark.parametrize("layer", ["block1_conv2", "block3_conv3", "block5_conv3"])
def test_conv_output_matches_onnxruntime(layer):
    import onnx
    import onnxruntime as ort

    from aiart.model.backbone import build_backbone

    model = onnx.load(str(locate_onnx()))
    name = f"functional_1/{layer}_1/Relu:0"
    model.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).uniform(-120, 150, (1, 240, 240, 3)).astype(np.float32)
    expected = session.run([name], {"input": x})[0].transpose(0, 2, 3, 1)  # NCHW -> NHWC
    ours = build_backbone(240)(x)[layer].numpy()
    assert ours.shape == expected.shape
    rel = np.abs(ours - expected).max() / np.abs(expected).max()
    assert rel < 1e-4, f"{layer}: max relative difference {rel:.2e}"
