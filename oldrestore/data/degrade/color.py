"""Luminance and grayscale (ITU-R BT.601 luma, as PIL's convert("L")), and the JFIF colour
transform that the JPEG degradation and the restorer's colour step (inference/colour.py) share."""

import jax.numpy as jnp
import numpy as np

# JFIF colour transform: rows give Y, Cb, Cr from R, G, B (Cb and Cr centred on 0 here).
RGB_TO_YCBCR = np.array([
    [0.299, 0.587, 0.114],
    [-0.168736, -0.331264, 0.5],
    [0.5, -0.418688, -0.081312],
], np.float32)
YCBCR_TO_RGB = np.array([
    [1.0, 0.0, 1.402],
    [1.0, -0.344136, -0.714136],
    [1.0, 1.772, 0.0],
], np.float32)
_LUMA_WEIGHTS = RGB_TO_YCBCR[0]


def luminance(image):
    """H x W x 1 luma of the H x W x 3 `image`."""
    return image @ _LUMA_WEIGHTS[:, None]


def grayscale(image):
    """The luma replicated to three channels, so that the image stays RGB."""
    return jnp.broadcast_to(luminance(image), image.shape)
