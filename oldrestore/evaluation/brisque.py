"""BRISQUE (Mittal, Moorthy and Bovik, "No-Reference Image Quality Assessment in the Spatial
Domain", 2012), as the authors' MATLAB release computes it, with its LIVE SVR model: lower is
better (about 0 to 100).

36 features of the grey image, 18 at full and 18 at half resolution (MATLAB bicubic): a GGD fit of
the MSCN coefficients and AGGD fits of their products with 4 neighbours. They are scaled to
[-1, 1] with the model's ranges (libsvm's svm-scale) and fed to its RBF-kernel SVR.
"""

import functools
from pathlib import Path

import numpy as np

from oldrestore.evaluation import natural_scene_statistics as nss

PARAMS_PATH = Path(__file__).parent / "params" / "brisque_live_svm.npz"
# circshift offsets (rows, columns) of the release: horizontal, vertical and both diagonals.
SHIFTS = ((0, 1), (1, 0), (1, 1), (-1, 1))


@functools.cache
def svr_model() -> dict[str, np.ndarray]:
    with np.load(PARAMS_PATH, allow_pickle=False) as params:
        return {name: params[name].astype(np.float64) for name in params.files}


def features(image) -> np.ndarray:
    """[36] BRISQUE features of an RGB uint8 (or grey [H, W]) image."""
    grey = nss.grey(image)
    values = []
    for _ in range(2):
        coefficients, _ = nss.mscn(grey, border="constant")
        alpha, std = nss.fit_ggd(coefficients.ravel())
        values += [alpha, std**2]
        for shift in SHIFTS:
            pairs = coefficients * np.roll(coefficients, shift, axis=(0, 1))
            alpha, left, right = nss.fit_aggd(pairs.ravel())
            scale = nss.std_to_scale(alpha)
            values += [alpha, nss.aggd_mean(alpha, left * scale, right * scale), left**2,
                       right**2]
        grey = nss.imresize(grey, 0.5)
    return np.array(values, np.float64)


def score_features(feature_vector: np.ndarray) -> float:
    """The SVR's prediction for one [36] feature vector."""
    model = svr_model()
    scaled = -1.0 + 2.0 * (feature_vector - model["feat_min"]) / model["feat_range"]
    distances = np.sum((model["sv"] - scaled) ** 2, axis=1)
    return float(model["sv_coef"] @ np.exp(-model["gamma"] * distances) - model["rho"])


def brisque(image) -> float:
    """BRISQUE of an RGB uint8 (or grey [H, W]) image."""
    return score_features(features(image))
