"""The whole degradation model: clean photo -> (degraded photo, defect mask)."""

import jax
import jax.numpy as jnp

from oldrestore.data.degrade.color import grayscale
from oldrestore.data.degrade.defects import structured
from oldrestore.data.degrade.old_print import old_print
from oldrestore.data.degrade.unstructured import unstructured


def degrade_pair(key, image, cfg, textures=None):
    """Degrades the H x W x 3 float32 `image` (in [0, 1]) into a training pair.

    Returns (target, degraded, mask): the target is `image`, turned grey together with the
    degraded image (probability cfg.grayscale_prob), as the reference does for its pairs; the
    H x W x 1 mask marks the structured defects. The print ages first, then it is captured
    (unstructured), then defects are drawn on top, so that the mask stays exact.
    """
    print_key, capture_key, defect_key, gray_key = jax.random.split(key, 4)
    degraded = old_print(print_key, image, cfg, textures)
    degraded = unstructured(capture_key, degraded, cfg)
    degraded, mask = structured(defect_key, degraded, cfg)
    gray = jax.random.bernoulli(gray_key, cfg.grayscale_prob)
    target = jnp.where(gray, grayscale(image), image)
    return target, jnp.where(gray, grayscale(degraded), degraded), mask


def degrade(key, image, cfg, textures=None):
    """(degraded, mask) for one H x W x 3 image; see degrade_pair. Pure and deterministic for a
    key; to jit, close over `cfg` (e.g. functools.partial(degrade, cfg=cfg))."""
    _, degraded, mask = degrade_pair(key, image, cfg, textures)
    return degraded, mask


def degrade_batch(key, images, cfg, textures=None):
    """degrade over an N x H x W x 3 batch, example i with key jax.random.split(key, N)[i]."""
    keys = jax.random.split(key, images.shape[0])
    return jax.vmap(lambda k, image: degrade(k, image, cfg, textures))(keys, images)
