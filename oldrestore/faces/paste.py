"""Pasting enhanced faces back into the photo they were aligned from.

As the reference (section 9f of the reference notes): each enhanced face takes the per-channel
tone distribution of the photo's own aligned face (histogram specification), is warped back
(bicubic) and blended through the whole canvas square eroded by 12 px and blurred (25 x 25
Gaussian, sigma 4.1). Differences, each fixing a flaw of the reference: erosion and blur are
measured on the canvas (at 256; scaled for other sizes), so the feather keeps its proportion on
small and large faces alike; histograms count only crop pixels inside the photo; and overlapping
squares are blended by weight, each face's weight falling off from its own centre, instead of the
later face covering the earlier one.
"""

import functools

import cv2
import numpy as np

from oldrestore.faces.align import (
    inside_photo,
    square_bounds,
    template,
    translation,
    warp_region,
    warp_to_canvas,
)

EROSION_AT_256 = 12  # a 25 x 25 erosion
BLUR_SIGMA_AT_256 = 4.1  # OpenCV's sigma for a 25 x 25 kernel
CENTRE_FALLOFF_AT_256 = 32.0  # pixels; only matters where squares overlap


@functools.cache
def feather_mask(size: int) -> np.ndarray:
    """size x size float32 alpha: the square eroded from its edges, then blurred."""
    scale = size / 256
    inset = round(EROSION_AT_256 * scale)
    mask = np.zeros((size, size), np.float32)
    mask[inset:size - inset, inset:size - inset] = 1.0
    kernel = 2 * inset + 1  # 25 at 256, as the reference's
    return cv2.GaussianBlur(mask, (kernel, kernel), BLUR_SIGMA_AT_256 * scale,
                            borderType=cv2.BORDER_CONSTANT)


@functools.cache
def centre_weight(size: int) -> np.ndarray:
    """size x size float32, 1 at the centre of the template's points, Gaussian fall-off."""
    cx, cy = template(size).mean(axis=0)
    y, x = np.mgrid[:size, :size]
    falloff = CENTRE_FALLOFF_AT_256 * size / 256
    return np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / falloff**2).astype(np.float32)


def match_histograms(source: np.ndarray, reference: np.ndarray,
                     mask: np.ndarray | None = None) -> np.ndarray:
    """Per channel, source level v -> the smallest reference level r with CDF_ref(r) >=
    CDF_src(v), CDFs over the pixels where `mask` is set; uint8 in, uint8 out."""
    out = np.empty_like(source)
    for c in range(source.shape[2]):
        src, ref = source[..., c], reference[..., c]
        if mask is not None:
            src, ref = src[mask], ref[mask]
        cdf_src = np.cumsum(np.bincount(src.ravel(), minlength=256)) / max(src.size, 1)
        cdf_ref = np.cumsum(np.bincount(ref.ravel(), minlength=256)) / max(ref.size, 1)
        lut = np.minimum(np.searchsorted(cdf_ref, cdf_src, side="left"), 255).astype(np.uint8)
        out[..., c] = lut[source[..., c]]
    return out


def paste_back(image: np.ndarray, faces, matrices, match_colours: bool = True) -> np.ndarray:
    """`image` (uint8 H x W x 3) with each enhanced face (uint8 size x size x 3, aligned by the
    3 x 3 crop -> photo matrix `align_face` returned for it) blended in."""
    height, width = image.shape[:2]
    weighted = np.zeros((height, width, 3), np.float32)
    weights = np.zeros((height, width), np.float32)
    uncovered = np.ones((height, width), np.float32)  # product of (1 - alpha)
    for face, matrix in zip(faces, matrices, strict=True):
        size = face.shape[0]
        if face.dtype != np.uint8 or face.shape != (size, size, 3):
            raise ValueError(f"expected a square uint8 RGB face, got {face.dtype} {face.shape}")
        if match_colours:
            face = _match_to_photo(face, image, matrix)
        top, left, bottom, right = square_bounds(matrix, size, image.shape)
        if bottom <= top or right <= left:
            continue
        to_canvas = np.linalg.inv(translation(-left, -top) @ matrix)
        shape = (bottom - top, right - left)
        alpha = warp_region(feather_mask(size), to_canvas, shape, order=1)
        weight = alpha * warp_region(centre_weight(size), to_canvas, shape, order=1)
        region = np.s_[top:bottom, left:right]
        weighted[region] += weight[..., None] * warp_region(face, to_canvas, shape, order=3)
        weights[region] += weight
        uncovered[region] *= 1 - alpha
    covered = weights > 0
    blended = image.astype(np.float32)
    faces_colour = weighted[covered] / weights[covered][:, None]
    alpha = (1 - uncovered[covered])[:, None]
    blended[covered] = alpha * faces_colour + (1 - alpha) * blended[covered]
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)


def _match_to_photo(face: np.ndarray, image: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """The enhanced face with the tones of the photo's own crop, counting only crop pixels that
    fall inside the photo."""
    size = face.shape[0]
    inside = inside_photo(matrix, size, image.shape)
    if not inside.any():
        return face
    return match_histograms(face, warp_to_canvas(image, matrix, size), inside)
