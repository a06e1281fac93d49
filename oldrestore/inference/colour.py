"""The input's colours on the restored photo's detail (model.inference_chroma_sigma, a cpu
deviation; configs/mapping.py says why and what it measured).

The cpu-scale chain gets each photo's colour statistics right but washes out local hues: greens
and yellows come back brown, as if toned sepia. Noise, scratches, blur and JPEG blocks live in
the fine detail, which the chain restores; the colours of a photo are coarse, and survive them.
So the restored photo keeps its luminance (BT.601 Y) and takes its chroma (Cb, Cr) from the
input, smoothed by a Gaussian that skips the defect mask's pixels (the white paint of a scratch
has no colour of its own), then moved to the chain's mean chroma, which holds its colour cast
correction.
"""

import numpy as np
from scipy.ndimage import gaussian_filter

from oldrestore.data.degrade.color import RGB_TO_YCBCR, YCBCR_TO_RGB

_MIN_WEIGHT = 1e-3  # below: too far from any pixel outside the mask; the chain's chroma stays


def _smoothed_outside(values, keep, sigma: float):
    """values [H, W, C] averaged over a Gaussian window, counting only `keep` pixels; with the
    weight that those pixels had."""
    weight = gaussian_filter(keep, sigma)
    total = gaussian_filter(values * keep[..., None], (sigma, sigma, 0))
    return total / np.maximum(weight, _MIN_WEIGHT)[..., None], weight


def with_input_chroma(restored, photo, mask, sigma: float):
    """restored, photo: H x W x 3 float in [0, 1]; mask: H x W, nonzero = defect, or None.
    Returns restored's luminance with photo's chroma, smoothed by `sigma` pixels outside the
    mask and shifted to restored's mean chroma, as float32 in [0, 1]."""
    restored_ycc = np.asarray(restored, np.float32) @ RGB_TO_YCBCR.T
    input_chroma = (np.asarray(photo, np.float32) @ RGB_TO_YCBCR.T)[..., 1:]
    keep = np.ones(input_chroma.shape[:2], np.float32) if mask is None else (
        ~np.asarray(mask, bool)).astype(np.float32)
    chroma, weight = _smoothed_outside(input_chroma, keep, sigma)
    chroma = np.where((weight > _MIN_WEIGHT)[..., None], chroma, restored_ycc[..., 1:])
    chroma += restored_ycc[..., 1:].mean(axis=(0, 1)) - chroma.mean(axis=(0, 1))
    out = np.concatenate([restored_ycc[..., :1], chroma], axis=-1) @ YCBCR_TO_RGB.T
    return np.clip(out, 0.0, 1.0)
