"""Running networks on photos of any size: reflect padding up to the networks' size multiple
(cropped back afterwards), and overlapping tiles blended seamlessly."""

import numpy as np


def padded_shape(height: int, width: int, multiple: int) -> tuple[int, int]:
    """The smallest (h, w) >= (height, width) with both sides multiples of `multiple`."""
    return -(-height // multiple) * multiple, -(-width // multiple) * multiple


def reflect_pad_to(array: np.ndarray, height: int, width: int) -> np.ndarray:
    """`array` (H x W [x C]) reflect-padded at the bottom and right to height x width (numpy
    reflects again where the padding is longer than the array)."""
    pad = [(0, height - array.shape[0]), (0, width - array.shape[1])]
    return np.pad(array, pad + [(0, 0)] * (array.ndim - 2), mode="reflect")


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of size min(tile, length) covering [0, length), overlapping by at
    least `overlap`; the last tile ends exactly at the border."""
    if tile >= length:
        return [0]
    last = length - tile
    return list(range(0, last, tile - overlap)) + [last]


def blend_window(size: int, overlap: int) -> np.ndarray:
    """1-D weights: raised-cosine ramps over `overlap` pixels at both ends, 1 in between.

    Positive everywhere, and sin^2 + cos^2 = 1 makes the falling ramp of one tile and the rising
    ramp of the next (offset by size - overlap) sum to exactly one.
    """
    distance_to_edge = np.minimum(np.arange(size), np.arange(size)[::-1])
    ramp = np.minimum(1.0, (distance_to_edge + 0.5) / max(overlap, 1))
    return np.sin(0.5 * np.pi * ramp) ** 2
