"""Scratch detection on whole photos: any size, working and tiled modes, threshold and dilation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from oldrestore.inference import scratch_detection
from oldrestore.inference.scratch_detection import detect_scratches, dilate, working_size
from oldrestore.inference.tiling import blend_window, tile_starts
from oldrestore.models.scratch_unet import ScratchUNet


@pytest.fixture(scope="module")
def variables():
    """A small U-Net (wf=3) with weights drawn by numpy: jit-compiling flax's threefry init takes
    ~20 s on XLA:CPU. Kernels scaled by 1/sqrt(fan-in) keep the probabilities away from 0 and 1."""
    model = ScratchUNet(wf=3, depth=4)
    shapes = jax.eval_shape(model.init, jax.random.key(0), jnp.zeros((1, 16, 16, 1)))
    rng = np.random.default_rng(0)

    def draw(leaf):
        std = 1.0 / np.sqrt(np.prod(leaf.shape[:-1])) if leaf.ndim == 4 else 0.1
        return rng.normal(0.0, std, leaf.shape).astype(np.float32)

    params = jax.tree.map(draw, shapes["params"])
    batch_stats = jax.tree.map(lambda s: np.ones(s.shape, np.float32), shapes["batch_stats"])
    return params, batch_stats


def photo(height, width, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def gray_photo(height, width, seed=0):
    """R = G = B, so that its luma is exactly the shared channel."""
    return np.repeat(photo(height, width, seed)[:, :, :1], 3, axis=2)


@jax.jit
def _network(params, batch_stats, padded_gray):
    logits = ScratchUNet(wf=3).apply({"params": params, "batch_stats": batch_stats},
                                     padded_gray[None, :, :, None])
    return jax.nn.sigmoid(logits[0, :, :, 0])


def network_probabilities(params, batch_stats, image):
    """One plain pass over a gray photo, reflect-padded at bottom and right to multiples of 16."""
    gray = image[:, :, 0] / np.float32(127.5) - 1.0
    h, w = gray.shape
    padded = np.pad(gray, ((0, -h % 16), (0, -w % 16)), mode="reflect")
    return np.asarray(_network(params, batch_stats, padded))[:h, :w]


@pytest.mark.parametrize("size", [(37, 53), (300, 1001)])
def test_working_mode_returns_full_size(variables, size):
    probabilities, mask = detect_scratches(*variables, photo(*size), working_short_side=48)
    assert probabilities.shape == mask.shape == size
    assert probabilities.dtype == np.float32 and mask.dtype == bool
    assert 0.0 <= probabilities.min() < probabilities.max() <= 1.0


def test_working_size():
    assert working_size(300, 1001, 256) == (256, 848)
    assert working_size(1001, 300, 32) == (112, 32)
    assert working_size(5, 5000, 256) == (256, 256000)


def test_tiled_mode_on_odd_size_compiles_once(variables):
    compiled = scratch_detection._network_probabilities
    before = compiled._cache_size()
    probabilities, mask = detect_scratches(*variables, photo(100, 150), mode="tiled",
                                           tile=64, overlap=16)
    assert probabilities.shape == mask.shape == (100, 150)
    assert 0.0 <= probabilities.min() <= probabilities.max() <= 1.0
    assert compiled._cache_size() == before + 1  # six tiles, all 64 x 64


@pytest.mark.parametrize("size", [(48, 64), (40, 57), (3, 2)])
def test_a_tile_covering_the_photo_is_a_single_pass(variables, size):
    image = gray_photo(*size, seed=1)
    tiled, _ = detect_scratches(*variables, image, mode="tiled", tile=64, overlap=16)
    np.testing.assert_allclose(tiled, network_probabilities(*variables, image), atol=1e-5)


def test_working_mode_at_native_size_equals_tiled(variables):
    image = photo(48, 64, seed=2)
    working, _ = detect_scratches(*variables, image, working_short_side=48)
    tiled, _ = detect_scratches(*variables, image, mode="tiled", tile=64, overlap=0)
    np.testing.assert_allclose(working, tiled, atol=1e-6)


def test_threshold_and_dilation(variables):
    image = photo(48, 64, seed=3)
    detect = lambda **options: detect_scratches(*variables, image, working_short_side=48, **options)
    probabilities, _ = detect()
    threshold = float(np.median(probabilities))
    _, mask = detect(threshold=threshold)
    np.testing.assert_array_equal(mask, probabilities >= threshold)
    assert 0 < mask.sum() < mask.size
    np.testing.assert_array_equal(detect(threshold=threshold, dilation=2)[1], dilate(mask, 2))
    assert detect(threshold=0.0)[1].all()


def test_dilate_grows_by_one_pixel_per_iteration():
    mask = np.zeros((9, 9), bool)
    mask[4, 4] = True
    np.testing.assert_array_equal(dilate(mask, 0), mask)
    assert dilate(mask, 1).sum() == 9 and dilate(mask, 1)[3:6, 3:6].all()
    assert dilate(mask, 2).sum() == 25 and dilate(mask, 2)[2:7, 2:7].all()


def test_tiles_cover_and_blend_to_one():
    assert tile_starts(150, 64, 16) == [0, 48, 86]
    assert tile_starts(40, 64, 16) == [0]
    assert tile_starts(16, 64, 16) == [0]  # tile clipped to the photo, as large as the overlap
    window = blend_window(64, 16)
    assert window.min() > 0 and window[16:48].min() == 1.0
    # Falling ramp of a tile + rising ramp of the next one (offset 64 - 16) = 1 over the overlap.
    np.testing.assert_allclose(window[48:] + window[:16], 1.0, atol=1e-12)


def test_rejects_bad_options(variables):
    with pytest.raises(ValueError, match="mode"):
        detect_scratches(*variables, photo(16, 16), mode="full")
    with pytest.raises(ValueError, match="overlap"):
        detect_scratches(*variables, photo(16, 16), mode="tiled", tile=64, overlap=64)
