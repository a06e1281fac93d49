"""Low resolution: shrink (bicubic, antialiased) to a traced size, then back to the original size
(nearest or bilinear), as PIL does it in the reference, with static shapes throughout."""

import math

import jax
import jax.numpy as jnp

from oldrestore.data.degrade.sampling import as_integer, draw


def _clamped(image, size):
    """Repeats the last row and column inside `size` over the rest of the image, so that reading
    past the valid region clamps at its edge (PIL's border rule)."""
    rows = jnp.minimum(jnp.arange(image.shape[0]), size[0] - 1)
    cols = jnp.minimum(jnp.arange(image.shape[1]), size[1] - 1)
    return image[rows][:, cols]


def low_resolution(image, size, bilinear):
    """Shrinks the H x W x C `image` to `size` = (h, w) (traced ints, at most H and W) and scales it
    back up to H x W, bilinear if `bilinear` else nearest neighbour.

    The small image lives in the top-left h x w corner of an H x W buffer, so shapes stay static.
    """
    height, width, channels = image.shape
    scale = size / jnp.array([height, width], jnp.float32)
    small = jax.image.scale_and_translate(
        image, image.shape, (0, 1), scale, jnp.zeros(2), method="cubic", antialias=True)
    # Clipped like PIL's 8-bit result: bicubic overshoots at edges.
    small = _clamped(jnp.clip(small, 0.0, 1.0), size)
    smooth = jax.image.scale_and_translate(
        small, image.shape, (0, 1), 1.0 / scale, jnp.zeros(2), method="linear", antialias=False)
    # Nearest neighbour as PIL picks it: the source pixel under the output pixel's centre.
    rows = jnp.floor((jnp.arange(height) + 0.5) * scale[0]).astype(jnp.int32)
    cols = jnp.floor((jnp.arange(width) + 0.5) * scale[1]).astype(jnp.int32)
    blocky = small[rows][:, cols]
    return jnp.where(bilinear, smooth, blocky)


def random_low_resolution(key, image, cfg):
    """Low resolution with each side's size and the upscaling method drawn from `cfg`
    (config.unstructured.resize)."""
    height, width = image.shape[:2]
    low_h, low_w = (math.ceil(cfg.min_scale * side) for side in (height, width))
    params = draw(key, height=(low_h, height + 1), width=(low_w, width + 1), method=(0, 1))
    size = jnp.stack([
        as_integer(params["height"], low_h, height), as_integer(params["width"], low_w, width)])
    return low_resolution(image, size, params["method"] < cfg.bilinear_prob)
