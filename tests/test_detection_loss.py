"""Detection losses against plain numpy on tiny inputs; stability, gradients, degenerate images."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from oldrestore.losses.detection import balanced_bce, bce, detection_loss, focal_loss


def tiny_batch(seed=0):
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 2.0, (2, 4, 5, 1)).astype(np.float32)
    targets = (rng.random((2, 4, 5, 1)) < 0.2).astype(np.float32)
    targets[0, 0, 0, 0] = 1.0  # at least one scratch pixel per image
    targets[1, 0, 0, 0] = 1.0
    return logits, targets


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x.astype(np.float64)))


def numpy_balanced_bce(logits, targets):
    losses = []
    for z, y in zip(logits, targets, strict=True):
        p = sigmoid(z)
        beta = np.sum(y == 0) / y.size
        total = beta * np.sum(np.log(p[y == 1])) + (1 - beta) * np.sum(np.log(1 - p[y == 0]))
        losses.append(-total / y.size)
    return np.mean(losses)


def numpy_focal(logits, targets, gamma, alpha):
    p = sigmoid(logits)
    per_pixel = np.where(targets == 1, -alpha * (1 - p) ** gamma * np.log(p),
                         -(1 - alpha) * p**gamma * np.log(1 - p))
    return per_pixel.mean()


def test_balanced_bce_matches_numpy():
    logits, targets = tiny_batch()
    np.testing.assert_allclose(balanced_bce(logits, targets),
                               numpy_balanced_bce(logits, targets), rtol=1e-5)


def test_bce_matches_numpy():
    logits, targets = tiny_batch(1)
    p = sigmoid(logits)
    expected = -np.mean(targets * np.log(p) + (1 - targets) * np.log(1 - p))
    np.testing.assert_allclose(bce(logits, targets), expected, rtol=1e-5)


@pytest.mark.parametrize("gamma, alpha", [(2.0, 0.25), (0.0, 0.5), (1.5, 0.9)])
def test_focal_loss_matches_numpy(gamma, alpha):
    logits, targets = tiny_batch(2)
    np.testing.assert_allclose(focal_loss(logits, targets, gamma, alpha),
                               numpy_focal(logits, targets, gamma, alpha), rtol=1e-5)


def test_focal_with_gamma_zero_and_half_alpha_is_half_bce():
    logits, targets = tiny_batch(3)
    np.testing.assert_allclose(focal_loss(logits, targets, 0.0, 0.5),
                               0.5 * bce(logits, targets), rtol=1e-6)


@pytest.mark.parametrize("name", ["balanced_bce", "bce", "focal"])
def test_stable_for_large_logits_and_finite_gradients(name):
    logits, targets = tiny_batch(4)
    logits = 200.0 * np.sign(logits)  # sigmoid saturates to exactly 0 or 1 in float32
    loss, grad = jax.value_and_grad(lambda z: detection_loss(name, z, targets))(jnp.asarray(logits))
    assert np.isfinite(loss) and np.all(np.isfinite(grad))
    assert loss > 1.0  # saturated wrong predictions cost about 200 x weight, not inf or 0


def test_image_without_scratch_contributes_nothing_and_stays_finite():
    logits, targets = tiny_batch(5)
    targets[1] = 0.0
    loss, grad = jax.value_and_grad(balanced_bce)(jnp.asarray(logits), targets)
    assert np.isfinite(loss) and np.all(np.isfinite(grad))
    np.testing.assert_array_equal(grad[1], 0.0)  # beta = 1: the paper's weighting ignores it
    np.testing.assert_allclose(loss, balanced_bce(logits[:1], targets[:1]) / 2, rtol=1e-6)


def test_boolean_targets_and_unknown_name():
    logits, targets = tiny_batch(6)
    np.testing.assert_allclose(detection_loss("bce", logits, targets.astype(bool)),
                               bce(logits, targets))
    with pytest.raises(ValueError, match="unknown detection loss"):
        detection_loss("dice", logits, targets)
