"""NIQE (Mittal, Soundararajan and Bovik, "Making a Completely Blind Image Quality Analyzer",
2013), as the authors' MATLAB release computes it, with its pristine model: lower is better.

The grey image is cut into 96x96 patches (the part beyond whole patches dropped); each patch gives
18 AGGD features of its MSCN coefficients and of their products with 4 neighbours, at full and at
half resolution (MATLAB bicubic); a Gaussian fitted to the patches is compared with the pristine
one: sqrt((mu_p - mu)^T pinv((cov_p + cov) / 2) (mu_p - mu)).
"""

import functools
from pathlib import Path

import numpy as np

from oldrestore.evaluation import natural_scene_statistics as nss

PATCH = 96
PARAMS_PATH = Path(__file__).parent / "params" / "niqe_pris_params.npz"
# circshift offsets (rows, columns) of the release: horizontal, vertical and both diagonals.
SHIFTS = ((0, 1), (1, 0), (1, 1), (1, -1))


@functools.cache
def pristine_model() -> tuple[np.ndarray, np.ndarray]:
    """(mean [36], covariance [36, 36]) of the pristine patches."""
    with np.load(PARAMS_PATH, allow_pickle=False) as params:
        return params["mu_pris_param"][0], params["cov_pris_param"]


def _blocks(image: np.ndarray, size: int) -> np.ndarray:
    """[N, size, size] non-overlapping blocks of an image whose sides are multiples of size."""
    rows, cols = image.shape[0] // size, image.shape[1] // size
    return image.reshape(rows, size, cols, size).transpose(0, 2, 1, 3).reshape(-1, size, size)


def _block_features(blocks: np.ndarray) -> np.ndarray:
    """[N, 18] features of MSCN blocks [N, b, b]; the neighbour products wrap within a block."""
    flat = blocks.reshape(len(blocks), -1)
    alpha, left, right = nss.fit_aggd(flat)
    scale = nss.std_to_scale(alpha)
    features = [alpha, (left + right) * scale / 2]
    for shift in SHIFTS:
        pairs = (blocks * np.roll(blocks, shift, axis=(1, 2))).reshape(len(blocks), -1)
        alpha, left, right = nss.fit_aggd(pairs)
        scale = nss.std_to_scale(alpha)
        features += [alpha, nss.aggd_mean(alpha, left * scale, right * scale),
                     left * scale, right * scale]
    return np.stack(features, axis=1)


def patch_features(image) -> np.ndarray:
    """[patches, 36] features of an RGB uint8 (or grey [H, W]) image."""
    grey = nss.grey(image)
    rows, cols = grey.shape[0] // PATCH, grey.shape[1] // PATCH
    if rows * cols < 2:
        raise ValueError(f"NIQE needs at least two {PATCH}x{PATCH} patches; image is "
                         f"{grey.shape[1]}x{grey.shape[0]}")
    grey = grey[:rows * PATCH, :cols * PATCH]
    per_scale = []
    for scale in (1, 2):
        coefficients, _ = nss.mscn(grey, border="nearest")
        per_scale.append(_block_features(_blocks(coefficients, PATCH // scale)))
        grey = nss.imresize(grey, 0.5)
    return np.concatenate(per_scale, axis=1)


def score_features(features: np.ndarray) -> float:
    """NIQE from patch features [patches, 36]; patches with an undefined feature are left out
    (the release's nanmean / nancov)."""
    features = features[~np.isnan(features).any(axis=1)]
    mu_pristine, cov_pristine = pristine_model()
    difference = mu_pristine - features.mean(axis=0)
    pooled = (cov_pristine + np.cov(features, rowvar=False)) / 2
    return float(np.sqrt(difference @ np.linalg.pinv(pooled) @ difference))


def niqe(image) -> float:
    """NIQE of an RGB uint8 (or grey [H, W]) image of at least two 96x96 patches."""
    return score_features(patch_features(image))
