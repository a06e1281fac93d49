"""Anti-aliased coverage maps (in [0, 1]) of defect shapes over a grid of pixel centres: bent
strokes for scratches, wobbly ellipses for blotches and dust."""

import jax.numpy as jnp

_CURVE_SEGMENTS = 8  # a quadratic Bezier bent by at most a third of its chord looks smooth at 8


def pixel_grid(height: int, width: int, corner=(0, 0)):
    """(rows, cols) of the pixel centres of a height x width window at `corner`, broadcastable to
    height x width."""
    rows = jnp.arange(height, dtype=jnp.float32)[:, None] + corner[0]
    cols = jnp.arange(width, dtype=jnp.float32)[None] + corner[1]
    return rows, cols


def curve_coverage(rows, cols, start, control, end, width):
    """A stroke along the quadratic Bezier curve start -> end bent towards `control` ((row, col)
    points), `width` pixels wide in its middle and tapering towards its ends."""
    t = jnp.linspace(0.0, 1.0, _CURVE_SEGMENTS + 1)[:, None]
    points = (1 - t) ** 2 * start + 2 * (1 - t) * t * control + t**2 * end
    seg_start, seg = points[:-1, :, None, None], (points[1:] - points[:-1])[:, :, None, None]
    d_row, d_col = rows - seg_start[:, 0], cols - seg_start[:, 1]  # segments x H x W
    seg_len2 = jnp.maximum(seg[:, 0] ** 2 + seg[:, 1] ** 2, 1e-6)
    along = jnp.clip((d_row * seg[:, 0] + d_col * seg[:, 1]) / seg_len2, 0.0, 1.0)
    distance = jnp.hypot(d_row - along * seg[:, 0], d_col - along * seg[:, 1])
    t_nearest = (jnp.arange(_CURVE_SEGMENTS)[:, None, None] + along) / _CURVE_SEGMENTS
    half_width = 0.5 * width * (0.35 + 0.65 * jnp.sin(jnp.pi * t_nearest))
    # One pixel of linear falloff across the edge: partial coverage, as an anti-aliased stroke.
    return jnp.max(jnp.clip(half_width + 0.5 - distance, 0.0, 1.0), axis=0)


def blob_coverage(rows, cols, centre, radii, angle, wobble, phases, softness):
    """An ellipse with `radii` (along `angle`, across it) around `centre`, its outline wobbling:
    the radius is scaled by 1 + sum_k wobble[k] cos((k + 2) theta + phases[k]) at polar angle
    theta. The edge fades over `softness` pixels."""
    d_row, d_col = rows - centre[0], cols - centre[1]
    cos, sin = jnp.cos(angle), jnp.sin(angle)
    u = (d_row * cos + d_col * sin) / radii[0]
    v = (d_col * cos - d_row * sin) / radii[1]
    radius = jnp.hypot(u, v)
    # Powers of the unit complex number (u + iv) / radius give cos and sin of k theta without
    # trigonometry at every pixel.
    unit_re, unit_im = u / jnp.maximum(radius, 1e-6), v / jnp.maximum(radius, 1e-6)
    power_re, power_im = unit_re, unit_im
    outline = 1.0
    for k in range(wobble.shape[0]):
        power_re, power_im = (
            power_re * unit_re - power_im * unit_im, power_re * unit_im + power_im * unit_re)
        outline += wobble[k] * (power_re * jnp.cos(phases[k]) - power_im * jnp.sin(phases[k]))
    # (outline - radius) times the mean radius: roughly the depth inside the edge, in pixels.
    depth = (outline - radius) * jnp.sqrt(radii[0] * radii[1])
    return jnp.clip(depth / softness + 0.5, 0.0, 1.0)
