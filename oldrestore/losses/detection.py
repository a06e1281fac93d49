"""Pixel losses for the scratch detector, from logits (any shape (N, ...); targets 1 = scratch).

The reference releases no training code for its detector; the paper (section 3.3) trains it with a
class-balanced cross-entropy. We use HED's weighting: per image, beta = |Y-| / |Y| is the share of
clean pixels, and

    loss = -(beta * sum_{scratch} log p + (1 - beta) * sum_{clean} log(1 - p)) / |Y|,

so the rare scratch pixels get the large weight. Note what this does to an image without scratch
pixels: beta = 1, the clean term gets weight 0 and the image contributes nothing (no division by
zero, but no penalty for false alarms on it either; likewise an all-scratch image). Plain BCE and
focal loss are the alternatives. Every loss is a mean over pixels per image, then over the batch.
"""

import jax
import jax.numpy as jnp


def _per_image_mean(x):
    return jnp.mean(x.reshape(x.shape[0], -1), axis=1)


def _prepare(logits, targets):
    """(log p, log(1 - p), float targets) for p = sigmoid(logits), stable for large |logits|."""
    if logits.shape != targets.shape:
        raise ValueError(f"logits {logits.shape} and targets {targets.shape} differ in shape")
    return jax.nn.log_sigmoid(logits), jax.nn.log_sigmoid(-logits), targets.astype(logits.dtype)


def balanced_bce(logits, targets):
    """The paper's class-balanced BCE (module docstring); beta computed per image."""
    log_p, log_not_p, targets = _prepare(logits, targets)
    beta = 1.0 - _per_image_mean(targets)  # share of clean pixels
    beta = beta.reshape((-1,) + (1,) * (targets.ndim - 1))
    pixel_loss = -(beta * targets * log_p + (1.0 - beta) * (1.0 - targets) * log_not_p)
    return jnp.mean(_per_image_mean(pixel_loss))


def bce(logits, targets):
    """Unweighted binary cross-entropy."""
    log_p, log_not_p, targets = _prepare(logits, targets)
    return jnp.mean(_per_image_mean(-(targets * log_p + (1.0 - targets) * log_not_p)))


def focal_loss(logits, targets, gamma: float = 2.0, alpha: float = 0.25):
    """Focal loss (Lin et al. 2017): alpha weighs scratches, (1 - p_t)**gamma the hard pixels."""
    log_p, log_not_p, targets = _prepare(logits, targets)
    # (1 - p)**gamma = exp(gamma * log(1 - p)), and p**gamma likewise: no 0**gamma edge cases.
    scratch_term = alpha * jnp.exp(gamma * log_not_p) * log_p
    clean_term = (1.0 - alpha) * jnp.exp(gamma * log_p) * log_not_p
    pixel_loss = -(targets * scratch_term + (1.0 - targets) * clean_term)
    return jnp.mean(_per_image_mean(pixel_loss))


DETECTION_LOSSES = {"balanced_bce": balanced_bce, "bce": bce, "focal": focal_loss}


def detection_loss(name: str, logits, targets, **options):
    """The loss `name` (a key of DETECTION_LOSSES); options go to it (focal: gamma, alpha)."""
    if name not in DETECTION_LOSSES:
        raise ValueError(f"unknown detection loss {name!r}; choose from {sorted(DETECTION_LOSSES)}")
    return DETECTION_LOSSES[name](logits, targets, **options)
