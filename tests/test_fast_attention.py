"""Inference shortcuts of the partial non-local block (fast_attention.py) and the staged restore of
large photos (inference/large_images.py)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from oldrestore.inference.large_images import translate_in_stages
from oldrestore.inference.restore import ChainModules, translate
from oldrestore.models import fast_attention
from oldrestore.models.fast_attention import dilate, pool_valid_cells, pool_window
from oldrestore.models.mapping import ScratchMapping
from oldrestore.models.nonlocal_block import PartialNonLocalBlock
from oldrestore.models.vae import VAE

BLOCKS = {"block_q": 64, "block_k": 64}  # several query chunks and key blocks at N = 1024
pytestmark = pytest.mark.usefixtures("fast_compile")


def _features(seed=0, size=32, channels=64):
    """Post-ReLU features, as the mapping head gives the block."""
    rng = np.random.default_rng(seed)
    return jnp.asarray(np.maximum(rng.normal(size=(1, size, size, channels)), 0), jnp.float32)


def _strokes(size=128):
    mask = np.zeros((1, size, size, 1), np.float32)
    mask[0, 40:44] = 1
    mask[0, :, 10:13] = 1
    return mask


def _apply(params, x, mask, **fields):
    return jax.jit(PartialNonLocalBlock(64, **BLOCKS, **fields).apply)(params, x, mask)


def _block_outputs(mask, **fields):
    x = _features()
    params = jax.jit(PartialNonLocalBlock(64, **BLOCKS).init)(jax.random.key(0), x, mask)
    return x, _apply(params, x, mask), _apply(params, x, mask, **fields)


def test_holes_mode_within_measured_tolerance():
    # Measured at this size and width: RMS error 0.74% of the output's spread (bfloat16 at the
    # cells outside the dilated holes); the reference-width restore: 69-73 dB.
    _, exact, fast = _block_outputs(_strokes(), attention_queries="holes")
    rms = float(jnp.sqrt(jnp.mean(jnp.square(fast - exact))))
    assert 0 < rms < 0.015 * float(jnp.std(exact))


def test_holes_mode_is_exact_where_it_claims(monkeypatch):
    """With the cheap precision set to float32, only the split of the queries is left: the
    result must be the exact one (up to float32 summation order)."""
    monkeypatch.setattr(fast_attention, "CHEAP_DTYPE", jnp.float32)
    _, exact, fast = _block_outputs(_strokes(), attention_queries="holes")
    np.testing.assert_allclose(fast, exact, atol=2e-5)


@pytest.mark.parametrize("fields", [{"attention_queries": "holes"}, {"pooled_keys": 16},
                                    {"attention_queries": "holes", "pooled_keys": 16}])
def test_no_holes_and_all_holes_are_exact(fields):
    x, exact, fast = _block_outputs(np.zeros((1, 128, 128, 1), np.float32), **fields)
    np.testing.assert_array_equal(fast, x)
    np.testing.assert_array_equal(exact, x)
    _, exact, fast = _block_outputs(np.ones((1, 128, 128, 1), np.float32), **fields)
    np.testing.assert_allclose(fast, exact, atol=1e-5)


def test_pooled_keys_of_single_cells_are_exact():
    _, exact, fast = _block_outputs(_strokes(), pooled_keys=32 * 32)
    np.testing.assert_allclose(fast, exact, atol=1e-5)


def test_pooled_window_weighs_as_its_cells():
    """Keys constant over each 2 x 2 window (holes included, which pooling must skip): the
    pooled attention, log-count bias included, equals the exact attention."""
    x = jnp.repeat(jnp.repeat(_features(size=16), 2, axis=1), 2, axis=2)
    mask = _strokes()
    params = jax.jit(PartialNonLocalBlock(64, **BLOCKS).init)(jax.random.key(0), x, mask)
    exact, pooled = _apply(params, x, mask), _apply(params, x, mask, pooled_keys=16 * 16)
    # Measured 3e-4 (float32 through three instance norms); without the log-count bias, which
    # keeps windows cut by a hole from weighing as much as whole ones: 0.56.
    np.testing.assert_allclose(pooled, exact, atol=2e-3)


def test_params_are_the_same_in_every_mode():
    x, mask, key = _features(size=8), _strokes(32), jax.random.key(0)  # params: any size
    trees = [
        PartialNonLocalBlock(64, attention_queries=q, pooled_keys=k).init(key, x, mask)
        for q, k in (("all", 0), ("holes", 0), ("holes", 64))
    ]
    for tree in trees[1:]:
        jax.tree.map(np.testing.assert_array_equal, tree, trees[0])


def test_unknown_query_mode_is_rejected():
    with pytest.raises(ValueError, match="attention_queries"):
        _block_outputs(_strokes(), attention_queries="some")


@pytest.mark.parametrize("h, w, k", [(64, 64, 4096), (64, 64, 1024), (250, 187, 4096), (7, 5, 3)])
def test_pool_window_is_the_smallest_that_fits(h, w, k):
    p = pool_window(h, w, k)
    assert math.ceil(h / p) * math.ceil(w / p) <= k
    assert p == 1 or math.ceil(h / (p - 1)) * math.ceil(w / (p - 1)) > k


def test_pool_valid_cells_means_and_counts():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(1, 5, 7, 3)).astype(np.float32)
    valid = rng.random((1, 5, 7)) < 0.6
    means, counts = pool_valid_cells(jnp.asarray(x), jnp.asarray(valid), 3)
    assert means.shape == (1, 2 * 3, 3)
    for i in range(2):
        for j in range(3):
            cells = valid[0, 3 * i:3 * i + 3, 3 * j:3 * j + 3]
            values = x[0, 3 * i:3 * i + 3, 3 * j:3 * j + 3][cells]
            assert counts[0, 3 * i + j] == cells.sum()
            expected = values.mean(0) if cells.any() else np.zeros(3)
            np.testing.assert_allclose(means[0, 3 * i + j], expected, rtol=1e-5, atol=1e-6)


def test_dilate_is_the_chebyshev_neighbourhood():
    cells = np.zeros((1, 20, 17), bool)
    cells[0, 3, 4] = cells[0, 15, 16] = True
    got = np.asarray(dilate(jnp.asarray(cells), 6))
    rows, cols = np.mgrid[:20, :17]
    near = lambda r, c: (np.abs(rows - r) <= 6) & (np.abs(cols - c) <= 6)  # noqa: E731
    np.testing.assert_array_equal(got[0], near(3, 4) | near(15, 16))


@pytest.mark.parametrize("colour_stats", [False, True])
def test_staged_restore_equals_one_program(colour_stats):
    """Head, non-local block, tail (and colour head) as separate programs (the scratch chain
    covers the quality chain's parts too)."""
    vae = VAE(features=8, n_blocks=1, colour_stats=colour_stats)
    mapping = ScratchMapping(max_channels=128, n_blocks=1, block_q=16, block_k=16,
                             colour_stats=colour_stats)
    modules = ChainModules(vae1=vae, mapping=mapping, vae2=vae)
    photos = jax.random.uniform(jax.random.key(0), (1, 32, 24, 3), minval=-1, maxval=1)
    holes = jnp.zeros((1, 32, 24, 1)).at[:, 10:12].set(1)
    latent = jnp.zeros((1, 8, 6, vae.latent_channels))
    params = {
        "vae1": vae.init(jax.random.key(1), photos)["params"],
        "vae2": vae.init(jax.random.key(2), photos)["params"],
        "mapping": mapping.init(jax.random.key(3), latent, holes)["params"],
    }
    if colour_stats:  # the colour head starts as the identity: give it something to do
        out = params["mapping"]["colour"]["out"]
        out["kernel"] = 0.1 * jax.random.normal(jax.random.key(4), out["kernel"].shape)
    whole = jax.jit(lambda p, x, m: translate(modules, p, x, m))(params, photos, holes)
    staged = translate_in_stages(modules, params, photos, holes)
    for a, b in zip(staged, whole, strict=True):
        np.testing.assert_allclose(a, b, atol=2e-4)
