"""The partial non-local block of the scratch mapping network, and its mask-to-latent rules.

Reference: `NonLocalBlock2D_with_mask_Res(in, inter, mode="combine", re_norm=True,
temperature=1.0, use_self=False, cosin=False)` (docs/reference-implementation.md, section 3b).
For features x (B, h, w, C) and a full-resolution hole mask (B, H, W, 1), 1 = hole:

    A   = softmax over the valid keys of theta(x) . phi(x) / temperature   (masked_attention.py)
    y   = A g(x);  r = 3 x ResBlock(W(y))
    out = valid * x + (1 - valid) * r        (clean positions pass through unchanged)

Note that r is not a per-position function of y: its 3x3 convolutions and instance norms mix
positions, so attention outputs at clean queries do influence the holes, and all queries must be
computed for the reference's result. `attention_queries="holes"` (inference) computes them exactly
only where the hole outputs read them, and approximately elsewhere (fast_attention.py).
"""

import flax.linen as nn
import jax.numpy as jnp
import numpy as np

from oldrestore.models.fast_attention import (
    QUERY_MODES,
    attention_in_query_chunks,
    dilate,
    pool_valid_cells,
    pool_window,
)
from oldrestore.models.layers import ResBlock, conv_weight_init, torch_bias_init
from oldrestore.models.masked_attention import (
    DEFAULT_BLOCK_K,
    DEFAULT_BLOCK_Q,
    masked_attention,
    masked_attention_weights,
)

MASK_RULES = ("reference", "any")
ATTENTION_KINDS = ("blockwise", "dense")


def _bilinear_taps(in_size: int, out_size: int):
    """PyTorch bilinear, align_corners=False, no antialiasing: two source indices and weights."""
    scale = in_size / out_size
    src = np.maximum((np.arange(out_size) + 0.5) * scale - 0.5, 0.0)
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, in_size - 1)
    frac = src - lo
    return lo, hi, 1.0 - frac, frac


def resize_bilinear(x, size):
    """(B, H, W, C) -> (B, h, w, C) like F.interpolate(mode='bilinear') with its defaults."""
    for axis, out_size in zip((1, 2), size, strict=True):
        lo, hi, w_lo, w_hi = _bilinear_taps(x.shape[axis], out_size)
        shape = [1, 1, 1, 1]
        shape[axis] = out_size
        x = jnp.take(x, lo, axis=axis) * w_lo.reshape(shape).astype(x.dtype) + jnp.take(
            x, hi, axis=axis
        ) * w_hi.reshape(shape).astype(x.dtype)
    return x


def _nearest_legacy_index(in_size: int, out_size: int):
    # PyTorch's legacy "nearest": floor(i * scale) with scale = in/out computed in float32.
    scale = np.float32(in_size) / np.float32(out_size)
    src = np.floor(np.arange(out_size, dtype=np.float32) * scale).astype(np.int64)
    return np.minimum(src, in_size - 1)


def resize_nearest_legacy(x, size):
    """(B, H, W, C) -> (B, h, w, C) like F.interpolate(mode='nearest') (not 'nearest-exact')."""
    for axis, out_size in zip((1, 2), size, strict=True):
        x = jnp.take(x, _nearest_legacy_index(x.shape[axis], out_size), axis=axis)
    return x


def _covering_window(in_size: int, out_size: int):
    """For each output cell, the indices of the input pixels that overlap it (padded by repeats).

    Cell i spans [i, i + 1) * in/out in pixel units; pixel p overlaps it if p < (i + 1) * in/out
    and p + 1 > i * in/out. With non-divisible sizes a pixel can overlap two cells.
    """
    starts = np.arange(out_size) * in_size // out_size
    stops = -(-(np.arange(1, out_size + 1) * in_size) // out_size)  # ceiling division
    width = int(np.max(stops - starts))
    return np.minimum(starts[:, None] + np.arange(width), stops[:, None] - 1)


def resize_any(x, size):
    """(B, H, W, C) -> (B, h, w, C): the max over all input pixels overlapping each output cell."""
    for axis, out_size in zip((1, 2), size, strict=True):
        window = _covering_window(x.shape[axis], out_size)
        x = jnp.max(jnp.take(x, window, axis=axis), axis=axis + 1)
    return x


def latent_valid_mask(mask, size, rule: str = "reference"):
    """Hole mask (B, H, W, 1), 1 = hole -> latent validity (B, h, w, 1), 1 = clean.

    "reference": the reference's rule, blind spots included: a cell is a hole if its bilinear
    sample is > 0 or its legacy-nearest sample is 1. At 4x it looks at image rows and columns
    4i+1, 4i+2 (bilinear) and at pixel (4i, 4j) (nearest) only, so a 1-pixel scratch on rows or
    columns 4i+3 is ignored.
    "any": a cell is a hole if any image pixel overlapping it is a hole (> 0).
    """
    mask = jnp.asarray(mask)
    if rule == "reference":
        clean_bilinear = (resize_bilinear(mask, size) <= 0).astype(mask.dtype)
        return clean_bilinear * resize_nearest_legacy(1 - mask, size)
    if rule == "any":
        return (resize_any(mask, size) <= 0).astype(mask.dtype)
    raise ValueError(f"mask_rule must be one of {MASK_RULES}, got {rule!r}")


def _conv1x1(features: int, fan_in: int, name: str, zero_bias: bool = False):
    """A 1x1 convolution on NHWC (a Dense on the channels), initialised like the reference."""
    bias_init = nn.initializers.zeros if zero_bias else torch_bias_init(fan_in)
    return nn.Dense(features, kernel_init=conv_weight_init, bias_init=bias_init, name=name)


class PartialNonLocalBlock(nn.Module):
    """Masked non-local attention + 3 residual blocks, fused with the input by the mask.

    Params: theta, phi, g, W (1x1 convs as Dense, kernel (in, out)), res_block_{0,1,2}.
    `attention="dense"` builds the N x N matrix like the reference (sown as intermediate
    "attention"); "blockwise" is the memory-linear kernel. Both compute the same function.
    The latent validity is sown as intermediate "valid_mask". The mask is expected binary: a
    latent cell is either a valid key or not (the reference would weight keys by a soft value).

    Inference shortcuts (fast_attention.py; same params in every mode):
    `attention_queries="holes"` computes the attention exactly at the hole cells dilated by the
    6-cell receptive field of the residual blocks, and in bfloat16 at the other cells, which
    reach the hole outputs only through the instance-norm statistics ("all", the default, is
    the reference's function). `pooled_keys=K` (0: off) pools the keys to at most K positions,
    an approximation for scans where even "holes" is too slow.
    """

    features: int
    inter_features: int | None = None  # the reference uses inter = features
    temperature: float = 1.0
    mask_rule: str = "reference"
    attention: str = "blockwise"
    block_q: int = DEFAULT_BLOCK_Q
    block_k: int = DEFAULT_BLOCK_K
    attention_queries: str = "all"
    pooled_keys: int = 0

    @nn.compact
    def __call__(self, x, mask):
        if self.attention not in ATTENTION_KINDS:
            raise ValueError(f"attention must be one of {ATTENTION_KINDS}, got {self.attention!r}")
        if self.attention_queries not in QUERY_MODES:
            raise ValueError(
                f"attention_queries must be one of {QUERY_MODES}, got {self.attention_queries!r}"
            )
        if self.attention == "dense" and (self.attention_queries != "all" or self.pooled_keys):
            raise ValueError("attention='dense' computes every query over every key")
        batch, h, w, channels = x.shape
        inter = self.inter_features or self.features
        valid = latent_valid_mask(mask.astype(x.dtype), (h, w), self.mask_rule)
        self.sow("intermediates", "valid_mask", valid)

        flat = x.reshape(batch, h * w, channels)
        theta, phi, g = (_conv1x1(inter, channels, name) for name in ("theta", "phi", "g"))
        valid_cells = valid[..., 0] > 0
        if self.attention_queries == "all" and not self.pooled_keys:  # the reference's function
            query, key, value = theta(flat) / self.temperature, phi(flat), g(flat)
            key_valid = valid_cells.reshape(batch, h * w)
            if self.attention == "dense":
                weights = masked_attention_weights(query, key, key_valid)
                self.sow("intermediates", "attention", weights)
                y = jnp.einsum("bqk,bkc->bqc", weights, value)
            else:
                y = masked_attention(
                    query, key, value, key_valid, block_q=self.block_q, block_k=self.block_k
                )
        else:
            y = self._inference_attention(flat, valid_cells, theta, phi, g)

        # The reference zero-initialises W, but its later weights_init re-draws the weight.
        r = _conv1x1(self.features, inter, "W", zero_bias=True)(y).reshape(batch, h, w, -1)
        for i in range(3):
            r = ResBlock(self.features, name=f"res_block_{i}")(r)
        return valid * x + (1 - valid) * r


    def _inference_attention(self, flat, valid_cells, theta, phi, g):
        """The shortcuts of the class docstring: (B, N, inter)."""
        batch, h, w = valid_cells.shape
        log_counts = None
        if self.pooled_keys:
            window = pool_window(h, w, self.pooled_keys)
            pooled_x, counts = pool_valid_cells(flat.reshape(batch, h, w, -1), valid_cells, window)
            key, value, key_valid = phi(pooled_x), g(pooled_x), counts > 0
            log_counts = jnp.log(jnp.maximum(counts, 1))
        else:
            key, value, key_valid = phi(flat), g(flat), valid_cells.reshape(batch, h * w)
        if self.attention_queries == "holes":
            exact = dilate(~valid_cells).reshape(batch, h * w)
        else:
            exact = jnp.ones((batch, h * w), bool)
        theta(flat[:, :1])  # binds theta's params (creates them at init) for the chunked queries
        params = theta.variables["params"]
        return attention_in_query_chunks(
            flat, params["kernel"] / self.temperature, params["bias"] / self.temperature,
            key, value, key_valid, exact, log_counts,
            chunk=16 * self.block_q, block_q=self.block_q, block_k=self.block_k,
        )
