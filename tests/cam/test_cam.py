"""Every CAM method x layer x target on a tiny model: the contract, plus one hand check each."""

import contextlib

import numpy as np
import pytest

from aiart.cam import METHODS, GradCAM
from aiart.cam.base import compiled, normalize, split_layers
from aiart.cam.overlay import colorize, overlay

LAYERS = ["conv_a", "conv_b", "conv_a+conv_b"]  # one layer, or several whose maps are averaged


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_shape_range_finite(tiny_model, tiny_input, method, layer, sign):
    maps, logits = METHODS[method](tiny_model, layer)(tiny_input, sign, size=(20, 30))
    assert maps.shape == (1, 20, 30)
    assert np.all(np.isfinite(maps))
    assert maps.min() >= 0.0 and maps.max() <= 1.0
    assert logits.shape == (1,)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_map_changes_with_target(tiny_model, tiny_input, method):
    cam = METHODS[method](tiny_model, "conv_b")
    ai, _ = cam(tiny_input, 1.0)
    human, _ = cam(tiny_input, -1.0)
    assert not np.allclose(ai, human), f"{method} gives the same map for both classes"


@pytest.mark.parametrize("method", sorted(METHODS))
def test_zero_input_gives_no_nan(tiny_model, method):
    maps, _ = METHODS[method](tiny_model, "conv_a")(np.zeros((2, 16, 16, 3), np.float32), 1.0)
    assert maps.shape == (2, 16, 16) and np.all(np.isfinite(maps))


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("layer", LAYERS)
def test_one_call_for_both_targets_matches_one_call_each(tiny_model, tiny_input, method, layer):
    """`for_signs` gives each target the map its own call gives; a linear method (the map for -logit is
    minus the one for +logit before the ReLU) takes one gated pass for both, any other one per target."""
    passes = []
    cam = METHODS[method](tiny_model, layer, gate=lambda p: passes.append(p) or contextlib.nullcontext())
    maps, logits = cam.for_signs(tiny_input, (1.0, -1.0), size=(20, 30))
    separate = [len(passes)]
    for sign in (1.0, -1.0):
        alone, alone_logits = cam(tiny_input, sign, size=(20, 30))
        np.testing.assert_allclose(maps[sign], alone, atol=1e-5)
        np.testing.assert_allclose(logits, alone_logits, rtol=1e-5)
        separate.append(len(passes))
    per_call = np.diff(separate)[0]
    assert separate[0] == (per_call if METHODS[method].linear else 2 * per_call)


def test_between_traces_waits_while_a_graph_is_traced():
    """Streamlit's keras.backend.clear_session, wrapped so, cannot reset Keras's state mid-trace."""
    import threading
    import time

    from aiart.cam.base import _LOCK, between_traces

    done: list[float] = []
    wrapped = between_traces(lambda: done.append(time.monotonic()))
    with _LOCK:  # as every trace holds it
        thread = threading.Thread(target=wrapped)
        thread.start()
        thread.join(0.3)
        assert not done  # it waits for the trace
        released = time.monotonic()
    thread.join(5)
    assert done and done[0] >= released and wrapped.between_traces


def test_linear_methods_are_the_gradient_linear_ones():
    assert {name for name, m in METHODS.items() if m.linear} == {"contribution", "gradcam", "hirescam"}


def test_gradcam_weights_are_mean_gradients(tiny_model, tiny_input):
    (acts,), (grads,), _ = compiled(tiny_model, "conv_b", "grad")(tiny_input, np.float32(1.0))
    acts, grads = acts.numpy(), grads.numpy()
    weights = GradCAM(tiny_model, "conv_b").channel_weights(acts, grads)
    np.testing.assert_allclose(weights, grads.mean(axis=(1, 2)), rtol=1e-6)
    # With GAP + Dense the gradient is the Dense kernel / (h*w), identical at every pixel.
    kernel = tiny_model.get_layer("logit").get_weights()[0][:, 0]
    np.testing.assert_allclose(weights[0], kernel / 256, rtol=1e-5)


def test_signed_gradient_is_negated(tiny_model, tiny_input):
    fn = compiled(tiny_model, "conv_b", "grad")
    _, (g_pos,), _ = fn(tiny_input, np.float32(1.0))
    _, (g_neg,), _ = fn(tiny_input, np.float32(-1.0))
    np.testing.assert_allclose(g_pos.numpy(), -g_neg.numpy())


@pytest.mark.parametrize("method", sorted(METHODS))
def test_several_layers_average_their_maps_from_one_pass(tiny_model, tiny_input, method):
    """Each layer's map at the output size, normalized, averaged, normalized again (pytorch-grad-cam's
    multi-layer aggregation), from one gated pass for activations and gradients."""
    passes = []
    both = METHODS[method](tiny_model, "conv_a+conv_b", gate=lambda p: passes.append(p) or contextlib.nullcontext())
    maps, logits = both(tiny_input, 1.0, size=(20, 30))
    alone = [METHODS[method](tiny_model, layer)(tiny_input, 1.0, size=(20, 30)) for layer in ("conv_a", "conv_b")]
    np.testing.assert_allclose(maps, normalize(np.mean([m for m, _ in alone], axis=0)), atol=1e-5)
    np.testing.assert_allclose(logits, alone[0][1], rtol=1e-5)
    assert passes[0] == 16 * 16 and (method == "scorecam" or len(passes) == 1)
    acts, grads, _ = compiled(tiny_model, "conv_a+conv_b", "grad")(tiny_input, np.float32(1.0))
    assert [a.shape[-1] for a in acts] == [a.shape[-1] for a in grads] and len(acts) == 2


def test_layer_lists_name_each_layer_once():
    assert split_layers("conv_a") == ("conv_a",) and split_layers("conv_a + conv_b") == ("conv_a", "conv_b")
    for bad in ("", "conv_a+", "conv_a+conv_a"):
        with pytest.raises(ValueError, match="each once"):
            split_layers(bad)


def test_rejects_dense_layer_and_bad_sign(tiny_model, tiny_input):
    with pytest.raises(ValueError, match="conv layer"):
        GradCAM(tiny_model, "logit")(tiny_input)
    with pytest.raises(ValueError, match="no layer"):
        GradCAM(tiny_model, "nope")(tiny_input)
    with pytest.raises(ValueError, match="sign"):
        GradCAM(tiny_model, "conv_a")(tiny_input, 0.5)


def test_normalize_keeps_all_negative_map_at_zero():
    out = normalize(-np.ones((1, 3, 3)))
    assert np.all(out == 0)


def test_overlay_checks_ranges_and_blends():
    img = np.full((10, 12, 3), 100, np.uint8)
    heat = np.zeros((5, 6), np.float32)
    heat[2, 3] = 1.0
    out = overlay(img, heat, alpha=0.5)
    assert out.shape == img.shape and out.dtype == np.uint8
    assert not np.array_equal(out, img)
    assert colorize(np.ones((2, 2))).shape == (2, 2, 3)
    with pytest.raises(ValueError):
        overlay(img, heat, alpha=1.5)
    with pytest.raises(ValueError):
        colorize(np.full((2, 2), 2.0))
    with pytest.raises(ValueError):
        overlay(img.astype(np.float32), heat)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_pass_is_held_under_the_gate(tiny_model, tiny_input, method):
    """A server's pixel budget sees each compiled pass, with that pass's own size."""
    import contextlib

    sizes: list[int] = []

    def gate(pixels: int):
        sizes.append(pixels)
        return contextlib.nullcontext()

    METHODS[method](tiny_model, "conv_b", gate=gate)(tiny_input, 1.0)
    assert sizes[0] == 16 * 16  # the pass that gives activations (and gradients)
    if method == "scorecam":  # then the masked copies of the top channels
        assert sum(sizes[1:]) == 8 * 16 * 16
    else:
        assert len(sizes) == 1


def test_scorecam_batches_shrink_to_fit_its_pixels_per_pass(tiny_model, tiny_input):
    import contextlib

    sizes: list[int] = []
    big = METHODS["scorecam"](tiny_model, "conv_b")
    small = METHODS["scorecam"](tiny_model, "conv_b", gate=lambda p: sizes.append(p) or contextlib.nullcontext())
    small.pixels_per_pass = 3 * 16 * 16  # three masked copies a pass instead of all eight
    np.testing.assert_allclose(small(tiny_input, 1.0)[0], big(tiny_input, 1.0)[0], atol=1e-5)
    assert sizes[1:] == [3 * 256, 3 * 256, 2 * 256]
