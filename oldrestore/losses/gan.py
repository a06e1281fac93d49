"""LSGAN and discriminator feature matching as in the reference (sections 2b-2d).

Discriminator outputs are nested lists, per scale the list of that scale's layer outputs (see
`models.discriminator`). Only the last output of each scale is scored, and scales are summed.
"""

import jax
import jax.numpy as jnp


def lsgan_loss(outputs, target: float):
    """The reference's `GANLoss` (LSGAN): sum over scales of mean((score - target)^2)."""
    return sum(jnp.mean(jnp.square(scale[-1] - target)) for scale in outputs)


def masked_lsgan_loss(outputs, target: float, mask):
    """`lsgan_loss` over the samples where `mask` (batch,) is true; 0 if there are none.

    This is the reference's loss on a batch split by domain, with static shapes. (The reference also
    truncates both parts to the smaller one's size, and crashes on a batch without both domains.)
    """
    sample_weights = mask / jnp.maximum(jnp.sum(mask), 1)
    return sum(
        jnp.sum(sample_weights * jnp.mean(jnp.square(scale[-1] - target), axis=(1, 2, 3)))
        for scale in outputs
    )


def lsgan_d_loss(real_outputs, fake_outputs):
    """Discriminator loss 0.5 * (real scored as 1 + fake scored as 0)."""
    return 0.5 * (lsgan_loss(real_outputs, 1.0) + lsgan_loss(fake_outputs, 0.0))


def lsgan_g_loss(fake_outputs):
    return lsgan_loss(fake_outputs, 1.0)


def feature_matching(real_outputs, fake_outputs, weight: float = 10.0, n_layers: int = 3):
    """L1 between the fake's and the real's intermediate D features (all but the score).

    Each term is weighted (1 / num_scales) * (4 / (n_layers + 1)) * weight, as the reference does;
    the real features are constants.
    """
    term_weight = weight * 4.0 / (n_layers + 1) / len(real_outputs)
    total = 0.0
    for real_scale, fake_scale in zip(real_outputs, fake_outputs, strict=True):
        for real, fake in zip(real_scale[:-1], fake_scale[:-1], strict=True):
            total += term_weight * jnp.mean(jnp.abs(fake - jax.lax.stop_gradient(real)))
    return total


def latent_gan_losses(latent_outputs, is_old):
    """Latent-discriminator and encoder losses of the domain-A VAE, from one latent-D pass over a
    batch whose samples are flagged `is_old` (real old photos) or not (synthetic).

    The latent D sees latents of synthetic photos as real (1) and latents of real old photos as
    fake (0); the encoder is pushed to make old-photo latents look real, i.e. like synthetic ones.
    Returns (latent D loss, encoder loss). Differentiate the first w.r.t. the latent D only.
    """
    d_loss = 0.5 * (masked_lsgan_loss(latent_outputs, 1.0, ~is_old)
                    + masked_lsgan_loss(latent_outputs, 0.0, is_old))
    return d_loss, masked_lsgan_loss(latent_outputs, 1.0, is_old)
