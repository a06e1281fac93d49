"""The memory-linear masked attention kernel against the dense reference."""

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from oldrestore.models.masked_attention import (
    masked_attention,
    masked_attention_at_queries,
    masked_attention_reference,
    masked_attention_weights,
)

BATCH, CHANNELS = 2, 8
# Compiled once for the whole module (the shapes repeat across tests).
blockwise = jax.jit(partial(masked_attention, block_q=16, block_k=16))
at_queries = jax.jit(partial(masked_attention_at_queries, block_q=16, block_k=16))
reference = jax.jit(masked_attention_reference)


def _inputs(n, seed=0, value_channels=CHANNELS):
    rng = np.random.default_rng(seed)
    # Logits of std ~2: a peaked softmax, yet every key keeps far more than the reference's
    # 1e-12 renormalisation eps of softmax mass (below it the two definitions differ).
    q, k = (jnp.asarray(rng.normal(size=(BATCH, n, CHANNELS)) * 0.7, jnp.float32) for _ in "qk")
    v = jnp.asarray(rng.normal(size=(BATCH, n, value_channels)), jnp.float32)
    return q, k, v


def _key_masks(n, seed=1):
    rng = np.random.default_rng(seed)
    single = np.zeros((BATCH, n), bool)
    single[:, n // 3] = True
    return {
        "random": rng.random((BATCH, n)) < 0.6,
        "no_hole": np.ones((BATCH, n), bool),
        "all_hole": np.zeros((BATCH, n), bool),
        "single_clean_key": single,
        "mixed": np.stack([rng.random(n) < 0.3, np.zeros(n, bool)]),  # one example all holes
    }


@pytest.mark.parametrize("n", [37, 64])
@pytest.mark.parametrize("mask_name", list(_key_masks(1)))
def test_blockwise_equals_reference(n, mask_name):
    q, k, v = _inputs(n, value_channels=5)
    key_valid = _key_masks(n)[mask_name]
    expected = reference(q, k, v, key_valid)
    out = blockwise(q, k, v, key_valid)
    assert out.shape == (BATCH, n, 5) and out.dtype == jnp.float32
    np.testing.assert_allclose(out, expected, atol=1e-5, rtol=1e-5)
    no_key = ~key_valid.any(axis=1)
    assert np.all(np.asarray(out)[no_key] == 0)  # exactly zero, no NaN


def test_reference_weights_rows_sum_to_one_or_zero():
    q, k, _ = _inputs(37)
    key_valid = _key_masks(37)["mixed"]
    weights = np.asarray(masked_attention_weights(q, k, key_valid))
    np.testing.assert_allclose(weights[0].sum(-1), 1, rtol=1e-6)
    assert np.all(weights[1] == 0)
    assert np.all(weights[0][:, ~key_valid[0]] == 0)


def _gradients(attention):
    """jit(d/d(q, k, v) of sum(attention(q, k, v, key_valid) * cotangent))."""
    loss = lambda q, k, v, key_valid, cotangent: jnp.sum(attention(q, k, v, key_valid) * cotangent)
    return jax.jit(jax.grad(loss, (0, 1, 2)))


reference_gradients = _gradients(masked_attention_reference)
blockwise_gradients = _gradients(blockwise)


@pytest.mark.parametrize("mask_name", ["random", "all_hole", "single_clean_key", "mixed"])
def test_gradients_equal_reference(mask_name):
    n = 37
    q, k, v = _inputs(n)
    key_valid = _key_masks(n)[mask_name]
    cotangent = jnp.asarray(np.random.default_rng(2).normal(size=v.shape), jnp.float32)
    expected = reference_gradients(q, k, v, key_valid, cotangent)
    grads = blockwise_gradients(q, k, v, key_valid, cotangent)
    for grad, ref in zip(grads, expected, strict=True):
        assert np.all(np.isfinite(grad))
        np.testing.assert_allclose(grad, ref, atol=2e-5, rtol=1e-4)


@pytest.mark.parametrize("mask_name", ["random", "no_hole", "all_hole", "mixed"])
def test_at_queries_equals_full_on_active_rows(mask_name):
    n = 37
    q, k, v = _inputs(n)
    key_valid = _key_masks(n)[mask_name]
    rng = np.random.default_rng(3)
    # Active queries: a few (fewer than one block), many, none at all.
    query_active = np.stack([rng.random(n) < 0.15, rng.random(n) < 0.8])
    full = blockwise(q, k, v, key_valid)
    for active in (query_active, np.zeros_like(query_active)):
        out = at_queries(q, k, v, key_valid, active)
        np.testing.assert_allclose(out, np.where(active[..., None], full, 0), atol=1e-6)


def test_bfloat16_inputs_accumulate_in_float32():
    n = 64
    q, k, v = _inputs(n)
    key_valid = _key_masks(n)["random"]
    low = [x.astype(jnp.bfloat16) for x in (q, k, v)]
    out = blockwise(*low, key_valid)
    assert out.dtype == jnp.bfloat16
    expected = reference(*[x.astype(jnp.float32) for x in low], key_valid)
    np.testing.assert_allclose(out.astype(jnp.float32), expected, atol=3e-2, rtol=3e-2)
    grads = jax.jit(jax.grad(lambda q: jnp.sum(blockwise(q, *low[1:], key_valid))))(low[0])
    assert grads.dtype == jnp.bfloat16 and np.all(np.isfinite(grads.astype(jnp.float32)))


def _temp_bytes(fn, n, channels=512):
    """Compiled (not run) temporary memory of fn(q, k, v, key_valid) for one example."""
    x = jax.ShapeDtypeStruct((1, n, channels), jnp.float32)
    mask = jax.ShapeDtypeStruct((1, n), jnp.bool_)
    return jax.jit(fn).lower(x, x, x, mask).compile().memory_analysis().temp_size_in_bytes


def _grad_of_sum(q, k, v, key_valid):
    return jax.grad(lambda *a: jnp.sum(masked_attention(*a, key_valid)), (0, 1, 2))(q, k, v)


@pytest.mark.parametrize("fn", [masked_attention, _grad_of_sum], ids=["forward", "gradient"])
def test_memory_is_linear_in_positions(fn):
    gib = 2**30
    # N = 65,536 latent positions = a 1024 x 1024 photo; its N x N float32 affinity is 16 GiB.
    large = _temp_bytes(fn, 65_536)
    assert large < gib
    # 4x the positions costs at most ~4x the memory (quadratic would be 16x).
    assert large <= 4.5 * _temp_bytes(fn, 16_384)
