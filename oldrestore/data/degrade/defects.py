"""Structured defects (scratches, blotches and stains, dust specks) and the binary mask of the
pixels they change. Each family draws its count from a range and always lays out its maximum
count of items, the extra ones switched off, so that shapes stay static."""

import functools
import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from oldrestore.data.degrade.batching import per_example
from oldrestore.data.degrade.blend import blend, composite
from oldrestore.data.degrade.sampling import as_integer, draw
from oldrestore.data.degrade.shapes import blob_coverage, curve_coverage, pixel_grid

# Anti-aliased fringes fainter than this are dropped, so that every masked pixel changes by a
# clearly representable amount.
_MIN_COVERAGE = 0.1
# Outline harmonics 2, 3, 4 of blobs, weighted 1/k (smoother) and summing to 1 (so that the
# outline's radius stays within 1 +- irregularity).
_HARMONIC_WEIGHTS = (1 / np.arange(2, 5)) / np.sum(1 / np.arange(2, 5))


def _grey(brightness):
    return jnp.repeat(brightness[:, None], 3, axis=1)


def _scratch_ranges(cfg, image_shape):
    height, width = image_shape
    return {
        "row": (0, height), "col": (0, width), "angle": (0, np.pi), "length": cfg.length_range,
        "bend": (-cfg.bend_range, cfg.bend_range), "width": cfg.width_range,
        "tone": cfg.brightness_range,
    }


def _scratches(p, cfg, image_shape):
    """Bent strokes centred anywhere in the image, grey."""
    centre = jnp.stack([p["row"], p["col"]], axis=-1)
    length = p["length"] * max(image_shape)
    direction = jnp.stack([jnp.sin(p["angle"]), jnp.cos(p["angle"])], axis=-1)
    normal = jnp.stack([jnp.cos(p["angle"]), -jnp.sin(p["angle"])], axis=-1)
    half_chord = 0.5 * length[:, None] * direction
    shape = {
        "start": centre - half_chord,
        "control": centre + (p["bend"] * length)[:, None] * normal,
        "end": centre + half_chord,
        "width": p["width"],
    }
    return shape, _grey(p["tone"])


def _blob_ranges(cfg, image_shape):
    harmonics = range(len(_HARMONIC_WEIGHTS))
    return {
        "row": (0, image_shape[0]), "col": (0, image_shape[1]), "radius": cfg.radius_range,
        "aspect": cfg.aspect_range, "angle": (0, np.pi), "softness": cfg.softness_range,
        **{f"wobble{k}": (0, cfg.irregularity) for k in harmonics},
        **{f"phase{k}": (0, 2 * np.pi) for k in harmonics},
    }


def _blobs(p, radius_unit):
    """Wobbly ellipses scattered over the image, radii in units of `radius_unit` pixels."""
    harmonics = range(len(_HARMONIC_WEIGHTS))
    radius = p["radius"] * radius_unit
    return {
        "centre": jnp.stack([p["row"], p["col"]], axis=-1),
        "radii": jnp.stack([radius, radius * p["aspect"]], axis=-1),
        "angle": p["angle"],
        "wobble": jnp.stack([p[f"wobble{k}"] for k in harmonics], axis=-1) * _HARMONIC_WEIGHTS,
        "phases": jnp.stack([p[f"phase{k}"] for k in harmonics], axis=-1),
        "softness": p["softness"],
    }


def _blob_reach(cfg, radius_unit):
    """How far from its centre a blob can cover pixels: its outline reaches (1 + irregularity)
    long radii, its soft edge half its softness further (stretched along the long axis)."""
    outline = cfg.radius_range[1] * radius_unit * (1 + cfg.irregularity)
    return outline + cfg.softness_range[1] / (2 * math.sqrt(cfg.aspect_range[0]))


def _blotches(p, cfg, image_shape):
    """Stains: blobs sized relative to the short side, in one of the configured tints."""
    tint = as_integer(p["tone"], 0, len(cfg.tints) - 1)
    return _blobs(p, min(image_shape)), jnp.array(cfg.tints)[tint]


def _dust(p, cfg, image_shape):
    """Specks: blobs sized in pixels, grey."""
    return _blobs(p, 1.0), _grey(p["tone"])


class _Family(NamedTuple):
    ranges: Callable  # (cfg, image_shape) -> {name: (low, high)} drawn for each item
    items: Callable  # (draws, cfg, image_shape) -> (shape parameters, RGB tones) of the items
    coverage: Callable  # (rows, cols, **shape parameters of one item) -> coverage
    reach: Callable  # (cfg, image_shape) -> pixels from its centre an item can cover


# Painted in this order: stains on the print first, then scratches, then dust on top.
_FAMILIES = {
    "blotches": _Family(
        lambda cfg, shape: _blob_ranges(cfg, shape) | {"tone": (0, len(cfg.tints))},
        _blotches, blob_coverage, lambda cfg, shape: _blob_reach(cfg, min(shape))),
    "scratches": _Family(
        _scratch_ranges, _scratches, curve_coverage, lambda cfg, shape: max(shape)),  # anywhere
    "dust": _Family(
        lambda cfg, shape: _blob_ranges(cfg, shape) | {"tone": cfg.brightness_range},
        _dust, blob_coverage, lambda cfg, shape: _blob_reach(cfg, 1.0)),
}


def _paint(key, image, mask, count, family, cfg, min_change):
    """Paints `count` items of `family` one after the other, each inside a window around it (the
    whole image for items that can reach anywhere), adding the pixels they cover to `mask`."""
    image_shape = image.shape[:2]
    slots = cfg.count_range[1]
    p = draw(
        key, (slots,), **family.ranges(cfg, image_shape), opacity=cfg.opacity_range,
        mode=(0, len(cfg.modes)), dark=(0, 1))
    shape, tone = family.items(p, cfg, image_shape)
    items = {
        "shape": shape,
        "tone": tone,
        "opacity": p["opacity"],
        "mode": as_integer(p["mode"], 0, len(cfg.modes) - 1),
        "dark": p["dark"] < cfg.dark_prob,
        "on": jnp.arange(slots) < count,
    }
    half = math.ceil(family.reach(cfg, image_shape)) + 1
    window = tuple(min(2 * half + 1, side) for side in image_shape)
    whole_image = window == image_shape

    def paint(carry, item):
        image, mask = carry
        if whole_image:
            corner = jnp.zeros(2, jnp.int32)
        else:
            centre = jnp.round(item["shape"]["centre"]).astype(jnp.int32)
            corner = jnp.clip(centre - half, 0, jnp.array(image_shape) - jnp.array(window))
        patch = jax.lax.dynamic_slice(image, (corner[0], corner[1], 0), window + (3,))
        patch_mask = jax.lax.dynamic_slice(mask, (corner[0], corner[1], 0), window + (1,))
        coverage = family.coverage(*pixel_grid(*window, corner), **item["shape"])
        alpha = jnp.where(coverage >= _MIN_COVERAGE, coverage * item["opacity"], 0.0)[..., None]
        target = blend(patch, item["tone"], item["mode"], item["dark"], cfg.modes)
        patch = composite(patch, alpha, target, min_change)
        patch_mask = jnp.maximum(patch_mask, (alpha > 0).astype(mask.dtype))
        image = jax.lax.dynamic_update_slice(image, patch, (corner[0], corner[1], 0))
        mask = jax.lax.dynamic_update_slice(mask, patch_mask, (corner[0], corner[1], 0))
        return image, mask

    def paint_if_on(carry, item):
        return jax.lax.cond(item["on"], paint, lambda carry, item: carry, carry, item), None

    (image, mask), _ = jax.lax.scan(paint_if_on, (image, mask), items)
    return image, mask


def structured(key, image, cfg):
    """Adds the defects of `cfg.structured` (the full degradation config) to the H x W x 3 `image`.

    Returns (image, mask): the H x W x 1 float32 mask is 1 exactly at the pixels that a defect
    changed. With probability `no_defect_prob`, or when the family is off, the image comes back
    unchanged with an all-zero mask.
    """
    scfg = cfg.structured
    if not scfg.enabled:
        return image, jnp.zeros(image.shape[:2] + (1,), jnp.float32)
    paint = per_example(functools.partial(_defects, cfg=scfg), cfg.loop_over_examples)
    return paint(key, image)


def _defects(key, image, cfg):
    mask = jnp.zeros(image.shape[:2] + (1,), jnp.float32)
    plan_key, *family_keys = jax.random.split(key, 1 + len(_FAMILIES))
    counts = {name: (cfg[name].count_range[0], cfg[name].count_range[1] + 1) for name in _FAMILIES}
    plan = draw(plan_key, none=(0, 1), **counts)
    present = plan["none"] >= cfg.no_defect_prob
    for family_key, (name, family) in zip(family_keys, _FAMILIES.items(), strict=True):
        low, high = cfg[name].count_range
        if high > 0:
            count = jnp.where(present, as_integer(plan[name], low, high), 0)
            image, mask = _paint(
                family_key, image, mask, count, family, cfg[name], cfg.min_change)
    return image, mask
