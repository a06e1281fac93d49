"""Inference shortcuts for the partial non-local block's attention (quadratic in N when exact).

The block keeps its attention branch only at hole cells, through 3 residual blocks (six 3x3
convolutions: a receptive radius of 6 cells). Attention at the hole cells dilated by 6 is all
that the hole outputs read directly; but every instance norm in those blocks takes its statistics
over the whole map, so the other queries matter too, through the means and variances.

What the statistics need was measured (reference configuration, random init, 256 and 512 px,
real crack masks; benchmarks/fast_attention_accuracy.py): the other queries must be close to
exact, with errors that average out. Keys pooled 2 x 2, a random half of the keys, queries on a
stride-2 grid or a rank-128 projection of keys and values (the spectrum is flat) all left errors
of 16-45% of the spatial spread of the attention output and 20-33 dB restores; bfloat16 inputs
(float32 accumulation) leave 0.3% and 69-73 dB, and run about 3x faster on AVX-512 CPUs. So
the exact set is computed in the input precision and the rest in bfloat16.

Pooled keys (huge scans, an approximation): the latent grid is cut into p x p windows; a window's
key and value are those of the mean of its valid (non-hole) cells, and its logit gets
+ log(number of valid cells), so that a window of n identical keys weighs exactly as the n keys
do. As the key and value maps (phi, g) are affine, phi(mean x) = mean phi(x): pooling x first
gives the same keys and never builds the full-resolution key and value maps. With K >= N the
windows are single cells and the result is exact.
"""

import math

import jax.numpy as jnp
from jax import lax

from oldrestore.models.masked_attention import masked_attention_at_queries

RECEPTIVE_RADIUS = 6  # 3 residual blocks x 2 convolutions 3x3 after the attention
QUERY_MODES = ("all", "holes")
CHEAP_DTYPE = jnp.bfloat16


def dilate(cells, radius: int = RECEPTIVE_RADIUS):
    """(B, h, w) bool -> (B, h, w) bool: every cell within Chebyshev distance `radius` of a
    True cell. Reflect padding at the borders only reads cells that are nearer still."""
    window = (1, 2 * radius + 1, 2 * radius + 1)
    return lax.reduce_window(cells, False, lax.bitwise_or, window, (1, 1, 1), "SAME")


def pool_window(h: int, w: int, max_keys: int) -> int:
    """The smallest window side p with ceil(h / p) * ceil(w / p) <= max_keys."""
    p = max(1, math.isqrt(h * w // max(max_keys, 1)))
    while math.ceil(h / p) * math.ceil(w / p) > max_keys:
        p += 1
    return p


def pool_valid_cells(x, valid, window: int):
    """Mean of the valid cells of each window: x (B, h, w, C), valid (B, h, w) ->
    (B, K, C) means (0 where a window has no valid cell) and (B, K) counts."""
    batch, h, w, channels = x.shape
    pad = ((0, 0), (0, -h % window), (0, -w % window))
    valid = jnp.pad(valid.astype(x.dtype), pad)
    x = jnp.pad(x, pad + ((0, 0),)) * valid[..., None]
    rows, cols = valid.shape[1] // window, valid.shape[2] // window
    sums = x.reshape(batch, rows, window, cols, window, channels).sum(axis=(2, 4))
    counts = valid.reshape(batch, rows, window, cols, window).sum(axis=(2, 4))
    means = sums / jnp.maximum(counts, 1)[..., None]
    return means.reshape(batch, rows * cols, channels), counts.reshape(batch, rows * cols)


def attention_in_query_chunks(
    x, query_kernel, query_bias, k, v, key_valid, exact_queries, log_counts=None, *,
    chunk: int, block_q: int, block_k: int,
):
    """Masked attention (B, N, Cv) with the queries x @ query_kernel + query_bias computed chunk
    by chunk (the (N, C) query map is never whole): the `exact_queries` (B, N) in the inputs'
    precision, the others with bfloat16 inputs (float32 accumulation). `log_counts` (B, K), for
    pooled keys, is added to the logits through an extra channel: (q | 1) . (k | log count).
    Inference only."""
    batch, n, _ = x.shape
    if log_counts is not None:
        k = jnp.concatenate([k, log_counts[..., None].astype(k.dtype)], -1)
    cheap_k, cheap_v = k.astype(CHEAP_DTYPE), v.astype(CHEAP_DTYPE)
    blocks = {"block_q": block_q, "block_k": block_k}

    def add_chunk(i, y):
        # The last chunk is shifted back to end at N (recomputing a few queries), so that
        # nothing of size N is padded or copied.
        start = jnp.minimum(i * chunk, n - chunk)
        x_chunk = lax.dynamic_slice_in_dim(x, start, chunk, axis=1)
        exact = lax.dynamic_slice_in_dim(exact_queries, start, chunk, axis=1)
        q = x_chunk @ query_kernel + query_bias
        if log_counts is not None:
            q = jnp.concatenate([q, jnp.ones(q.shape[:-1] + (1,), q.dtype)], -1)
        out = masked_attention_at_queries(q, k, v, key_valid, exact, **blocks)
        cheap = masked_attention_at_queries(
            q.astype(CHEAP_DTYPE), cheap_k, cheap_v, key_valid, ~exact, **blocks
        )
        return lax.dynamic_update_slice_in_dim(y, out + cheap.astype(out.dtype), start, axis=1)

    chunk = min(chunk, n)
    y = jnp.zeros((batch, n, v.shape[-1]), v.dtype)
    return lax.fori_loop(0, -(-n // chunk), add_chunk, y)
