"""Drawing many random parameters at once: every jax.random call costs compile time (its own
counter-based generator), so each function draws all its scalar parameters in one call."""

import jax
import jax.numpy as jnp


def draw(key, shape=(), **ranges):
    """Independent uniform draws of `shape`, one per named (low, high) range: a dict of arrays."""
    u = jax.random.uniform(key, tuple(shape) + (len(ranges),))
    return {
        name: low + (high - low) * u[..., i] for i, (name, (low, high)) in enumerate(ranges.items())
    }


def as_integer(value, low: int, high: int):
    """A draw from range (low, high + 1) made an integer uniform in [low, high]."""
    return jnp.clip(jnp.floor(value), low, high).astype(jnp.int32)
