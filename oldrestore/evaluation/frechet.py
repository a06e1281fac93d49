"""The Frechet distance (2-Wasserstein distance between Gaussians) of two sets of feature vectors:

    |mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr((S_a^1/2 S_b S_a^1/2)^1/2)

The trace term is computed from symmetric eigendecompositions (the square roots of positive
semi-definite matrices, negative round-off eigenvalues clipped to zero) rather than from the
square root of the non-symmetric S_a S_b: it is exact for singular covariances, so it works with
fewer samples than dimensions. Eigenvalues below round-off (relative to the largest) count as 0.
"""

import numpy as np


def gaussian_fit(features) -> tuple[np.ndarray, np.ndarray]:
    """(mean [D], unbiased covariance [D, D]) of features [N, D], N >= 2."""
    features = np.asarray(features, np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"need at least two feature vectors [N, D], got shape {features.shape}")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def _sqrt_of_psd_eigenvalues(values: np.ndarray) -> np.ndarray:
    round_off = len(values) * np.finfo(np.float64).eps * max(np.max(np.abs(values)), 1e-300)
    return np.sqrt(np.where(values > round_off, values, 0.0))


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * _sqrt_of_psd_eigenvalues(values)) @ vectors.T


def gaussian_frechet_distance(mean_a, cov_a, mean_b, cov_b) -> float:
    root_a = _psd_sqrt(cov_a)
    cross = root_a @ cov_b @ root_a
    trace_sqrt = np.sum(_sqrt_of_psd_eigenvalues(np.linalg.eigvalsh((cross + cross.T) / 2)))
    distance = (np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b)
                - 2 * trace_sqrt)
    return float(max(distance, 0.0))


def frechet_distance(features_a, features_b) -> float:
    """Frechet distance between Gaussians fitted to features [N_a, D] and [N_b, D]."""
    return gaussian_frechet_distance(*gaussian_fit(features_a), *gaussian_fit(features_b))
