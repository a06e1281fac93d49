"""Training pairs made inside the step: clean crops and the same crops through the degradation
model (the pair turns grey together, as degrade_pair does)."""

import jax
import jax.numpy as jnp

from oldrestore.data import degrade


def degraded_pairs(config, batch, key):
    """(degraded, clean): [-1, 1] images of the batch's uint8 crops, one key per example."""
    images = batch["image"].astype(jnp.float32) / 255.0
    keys = jax.random.split(key, images.shape[0])
    clean, degraded, _ = jax.vmap(
        lambda k, image: degrade.degrade_pair(k, image, config.degradation))(keys, images)
    return degraded * 2.0 - 1.0, clean * 2.0 - 1.0
