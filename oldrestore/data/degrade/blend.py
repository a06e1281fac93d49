"""Blending a defect layer over an image, so that every pixel a defect covers visibly changes."""

import jax
import jax.numpy as jnp

from oldrestore.data.degrade.color import luminance

# Layer of colour `tone` over `image`, as in image editors.
BLEND_MODES = {
    "normal": lambda image, tone: jnp.broadcast_to(tone, image.shape),
    "add": lambda image, tone: jnp.minimum(image + tone, 1.0),
    "screen": lambda image, tone: 1.0 - (1.0 - image) * (1.0 - tone),
    "lighten": jnp.maximum,
}


def blend(image, tone, mode, dark, modes):
    """The layer `tone` (3 values) blended over `image` with the mode `modes[mode]` (traced index
    into a static tuple of names). A `dark` layer blends over the negative of the image, so that
    add becomes subtract, screen multiply, lighten darken, and normal paints 1 - tone."""
    negative = lambda values: jnp.where(dark, 1.0 - values, values)
    branches = [BLEND_MODES[name] for name in modes]
    return negative(jax.lax.switch(mode, branches, negative(image), tone))


def composite(image, alpha, target, min_change):
    """image + alpha (target - image) with the H x W x 1 `alpha` in [0, 1].

    Pixels with alpha > 0 always change: where the target is within `min_change` of the pixel (a
    white scratch over white), the pixel moves by `min_change` away from its nearer extreme, the
    faint mark a scratch's groove leaves on white paper.
    """
    delta = target - image
    shows = jnp.max(jnp.abs(delta), axis=-1, keepdims=True) >= min_change
    away = jnp.where(luminance(image) > 0.5, -min_change, min_change)
    return jnp.clip(image + alpha * jnp.where(shows, delta, away), 0.0, 1.0)
