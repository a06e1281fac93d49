"""The face stage's GAN losses. The authors released none (reference-implementation.md section 9g);
these are SPADE's published defaults, which the reference's face model code calls into: hinge GAN
and discriminator feature matching.

Discriminator outputs are nested lists, per scale that scale's layer outputs (see
`models.discriminator`); only each scale's last output is scored, and scales are averaged.
"""

import jax
import jax.numpy as jnp

from oldrestore.losses import gan


def _mean_over_scales(outputs, score_loss):
    return sum(jnp.mean(score_loss(scale[-1])) for scale in outputs) / len(outputs)


def hinge_d_loss(real_outputs, fake_outputs):
    """mean(relu(1 - D(real))) + mean(relu(1 + D(fake))), each averaged over scales."""
    return (_mean_over_scales(real_outputs, lambda s: jax.nn.relu(1.0 - s))
            + _mean_over_scales(fake_outputs, lambda s: jax.nn.relu(1.0 + s)))


def hinge_g_loss(fake_outputs):
    """-mean(D(fake)), averaged over scales."""
    return _mean_over_scales(fake_outputs, lambda s: -s)


def feature_matching(real_outputs, fake_outputs, weight: float = 10.0):
    """SPADE's: sum over scales and intermediate layers of mean|D(fake) - D(real)| * weight /
    num_scales (real features constant). That is pix2pixHD's form without its 4 / (n_layers + 1)
    factor, which n_layers = 3 makes 1."""
    return gan.feature_matching(real_outputs, fake_outputs, weight=weight, n_layers=3)
