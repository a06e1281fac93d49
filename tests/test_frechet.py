"""The Frechet distance against the plain formula with scipy's sqrtm, and in the regime where
that formula is unreliable (fewer samples than dimensions) against exact values; FD-VGG16."""

import numpy as np
import pytest
from scipy import linalg

from oldrestore.data.images import load_rgb
from oldrestore.data.sources import embedded_photo_paths
from oldrestore.evaluation import fd_vgg16
from oldrestore.evaluation.frechet import frechet_distance


def _plain_formula(a, b) -> float:
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    cross = linalg.sqrtm(cov_a @ cov_b).real
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a + cov_b - 2 * cross))


def _gaussian(rng, n, d, shift=0.0):
    mixing = rng.normal(size=(d, d)) / np.sqrt(d)
    return rng.normal(size=(n, d)) @ mixing + shift


@pytest.mark.parametrize("d", [4, 32])
def test_matches_the_plain_formula_on_random_gaussians(d):
    rng = np.random.default_rng(d)
    a, b = _gaussian(rng, 500, d), _gaussian(rng, 400, d, shift=0.3)
    assert frechet_distance(a, b) == pytest.approx(_plain_formula(a, b), rel=1e-6)


def test_exact_with_fewer_samples_than_dimensions():
    # Same samples shifted by c: the covariances are equal (and singular: 10 samples, 64
    # dimensions), so the distance is exactly |c|^2.
    rng = np.random.default_rng(0)
    a = rng.normal(size=(10, 64))
    shift = rng.normal(size=64)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)
    assert frechet_distance(a, a + shift) == pytest.approx(np.sum(shift**2), rel=1e-9)
    b = rng.normal(size=(12, 64)) * 2
    assert frechet_distance(a, b) == pytest.approx(frechet_distance(b, a), rel=1e-9)


def test_needs_two_samples():
    with pytest.raises(ValueError, match="two feature vectors"):
        frechet_distance(np.zeros((1, 3)), np.zeros((5, 3)))


def test_fd_vgg16_features_and_ordering():
    photos = np.stack([fd_vgg16.resize_for_vgg(load_rgb(p)) for p in embedded_photo_paths()[:4]])
    features = fd_vgg16.vgg16_features(photos)
    assert features.shape == (4, 512) and np.all(features >= 0)  # pooled ReLU outputs
    # Features do not depend on the batch a photo is in (the last batch is padded).
    np.testing.assert_allclose(fd_vgg16.vgg16_features(photos[2:3])[0], features[2], rtol=1e-4,
                               atol=1e-5)
    noisy = np.clip(photos + np.random.default_rng(0).normal(0, 40, photos.shape), 0, 255)
    noisy_features = fd_vgg16.vgg16_features(noisy.astype(np.uint8))
    assert frechet_distance(features, features) == pytest.approx(0.0, abs=1e-6)
    assert frechet_distance(features, noisy_features) > 1.0
