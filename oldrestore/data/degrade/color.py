"""Luminance and grayscale (ITU-R BT.601 luma, as PIL's convert("L"))."""

import jax.numpy as jnp
import numpy as np

_LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], np.float32)


def luminance(image):
    """H x W x 1 luma of the H x W x 3 `image`."""
    return image @ _LUMA_WEIGHTS[:, None]


def grayscale(image):
    """The luma replicated to three channels, so that the image stays RGB."""
    return jnp.broadcast_to(luminance(image), image.shape)
