"""The reference's released degradation (online_add_degradation_v2): blur, noise, low resolution
and JPEG, each applied with its own probability, in a random order drawn per image."""

import functools

import jax
import jax.numpy as jnp

from oldrestore.data.degrade.batching import per_example
from oldrestore.data.degrade.blur import random_blur
from oldrestore.data.degrade.jpeg import random_jpeg
from oldrestore.data.degrade.noise import random_noise
from oldrestore.data.degrade.resize import random_low_resolution
from oldrestore.data.degrade.sampling import draw

# (config section of config.unstructured, operation)
_OPERATIONS = (
    ("blur", random_blur),
    ("noise", random_noise),
    ("resize", random_low_resolution),
    ("jpeg", random_jpeg),
)


def unstructured(key, image, cfg):
    """Degrades the H x W x 3 `image` with the operations of `cfg.unstructured` (the full
    degradation config); the image itself when `cfg.unstructured.enabled` is off."""
    ucfg = cfg.unstructured
    if not ucfg.enabled:
        return image
    apply = per_example(functools.partial(_in_random_order, cfg=ucfg), cfg.loop_over_examples)
    return apply(key, image)


def _in_random_order(key, image, cfg):
    count = len(_OPERATIONS)
    keys = jax.random.split(key, 1 + count)
    plan_key, op_keys = keys[0], keys[1:]
    plan = draw(plan_key, (count,), rank=(0, 1), apply=(0, 1))
    order = jnp.argsort(plan["rank"])  # a uniformly random permutation
    applied = plan["apply"] < jnp.array([cfg[name].prob for name, _ in _OPERATIONS])
    skip = count  # the index of the identity branch
    branches = [functools.partial(op, cfg=cfg[name]) for name, op in _OPERATIONS]
    branches.append(lambda key, image: image)

    def apply_at(position, x):
        op = order[position]
        return jax.lax.switch(jnp.where(applied[op], op, skip), branches, op_keys[op], x)

    return jax.lax.fori_loop(0, count, apply_at, image)
