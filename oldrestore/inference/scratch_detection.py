"""Scratch masks for photos of any size with the detection U-Net.

Two modes:
* 'working' does what the reference's `detection.py` does: grayscale (ITU-R 601 luma, PIL "L"),
  resize so the short side is about `working_short_side` with both sides multiples of 16, run the
  net, bring the probabilities back to full size and threshold them. Differences: the resizes here
  are bilinear with antialiasing when shrinking (PIL), where the reference resizes the input
  bilinearly without antialiasing and the probabilities back with *nearest*, which gives blocky
  mask edges on large photos.
* 'tiled' runs at native resolution, so thin scratches on large scans are not averaged away:
  overlapping tiles, each reflect-padded to multiples of 16, blended with a raised-cosine window
  whose ramps of adjacent tiles sum to one across the overlap, so no seam shows.

The network is jit-compiled once per input shape (jax.jit's cache): all full tiles share a shape,
and so do photos with the same working size.
"""

import functools

import jax
import numpy as np
import scipy.ndimage
from PIL import Image

from oldrestore.inference.tiling import blend_window, padded_shape, reflect_pad_to, tile_starts
from oldrestore.models.scratch_unet import ScratchUNet, unet_for

SIZE_MULTIPLE = 16  # 2**depth of the reference U-Net
MODES = ("working", "tiled")


@functools.partial(jax.jit, static_argnames="model")
def _network_probabilities(model: ScratchUNet, params, batch_stats, image):
    logits = model.apply({"params": params, "batch_stats": batch_stats}, image[None, :, :, None])
    return jax.nn.sigmoid(logits[0, :, :, 0])


def _probabilities(params, batch_stats, gray) -> np.ndarray:
    """Scratch probability per pixel of a [-1, 1] grayscale array of any size.

    The array is reflect-padded at the bottom and right up to multiples of the network's stride.
    """
    model = unet_for(params)
    multiple = 2**model.depth
    height, width = gray.shape
    padded = reflect_pad_to(gray, *padded_shape(height, width, multiple))
    probabilities = _network_probabilities(model, params, batch_stats, padded)
    return np.asarray(probabilities)[:height, :width]


def _grayscale(image) -> np.ndarray:
    """uint8 RGB (or already gray) -> float32 in [-1, 1], luma as PIL's "L" (the reference's)."""
    gray = np.asarray(Image.fromarray(np.asarray(image, np.uint8)).convert("L"), np.float32)
    return gray / 127.5 - 1.0


def _resize(array, size) -> np.ndarray:
    """Bilinear resize of a float32 H x W array to size (h, w); antialiased when shrinking."""
    if array.shape == tuple(size):
        return array
    image = Image.fromarray(array.astype(np.float32))
    return np.asarray(image.resize(size[::-1], Image.Resampling.BILINEAR))


def working_size(height: int, width: int, short_side: int) -> tuple[int, int]:
    """(h, w) with the short side about `short_side`, aspect kept, both multiples of 16."""
    scale = short_side / min(height, width)
    return tuple(
        max(SIZE_MULTIPLE, round(side * scale / SIZE_MULTIPLE) * SIZE_MULTIPLE)
        for side in (height, width)
    )


def _tiled_probabilities(params, batch_stats, gray, tile: int, overlap: int) -> np.ndarray:
    height, width = gray.shape
    tile_h, tile_w = min(tile, height), min(tile, width)
    window = np.outer(blend_window(tile_h, overlap), blend_window(tile_w, overlap))
    weighted_sum = np.zeros(gray.shape, np.float64)
    weight_sum = np.zeros(gray.shape, np.float64)
    for top in tile_starts(height, tile, overlap):
        for left in tile_starts(width, tile, overlap):
            region = np.s_[top:top + tile_h, left:left + tile_w]
            weighted_sum[region] += window * _probabilities(params, batch_stats, gray[region])
            weight_sum[region] += window
    return (weighted_sum / weight_sum).astype(np.float32)


def dilate(mask, iterations: int) -> np.ndarray:
    """Grow a boolean mask by `iterations` 3x3 dilations (the reference's mask dilation)."""
    if iterations == 0:  # scipy would read 0 as "until nothing changes"
        return mask
    return scipy.ndimage.binary_dilation(mask, np.ones((3, 3), bool), iterations=iterations)


def detect_scratches(
    params,
    batch_stats,
    image_rgb_uint8,
    *,
    mode: str = "working",
    working_short_side: int = 256,
    tile: int = 512,
    overlap: int = 64,
    threshold: float = 0.4,
    dilation: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """(scratch probability H x W float32 in [0, 1], mask H x W bool) for an H x W x 3 photo.

    mode 'working' runs the net once at about `working_short_side` on the short side; 'tiled' at
    native resolution in `tile` x `tile` tiles overlapping by at least `overlap` pixels (module
    docstring). mask = probability >= threshold (the reference's 0.4), then grown by `dilation`
    3x3 dilations. params and batch_stats are those of any ScratchUNet (width and depth are read
    from them); they are put on the device once per call, so pass device arrays for many photos.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if not 0 <= overlap < tile:
        raise ValueError(f"need 0 <= overlap < tile, got overlap={overlap}, tile={tile}")
    if dilation < 0:
        raise ValueError(f"dilation must be >= 0, got {dilation}")
    params, batch_stats = jax.device_put((params, batch_stats))  # once, not once per tile
    gray = _grayscale(image_rgb_uint8)
    if mode == "working":
        small = _resize(gray, working_size(*gray.shape, working_short_side))
        probabilities = _resize(_probabilities(params, batch_stats, small), gray.shape)
    else:
        probabilities = _tiled_probabilities(params, batch_stats, gray, tile, overlap)
    # Resampling weights are convex, but float rounding may step a hair outside [0, 1].
    probabilities = np.clip(probabilities, 0.0, 1.0)
    return probabilities, dilate(probabilities >= threshold, dilation)
