"""VAE terms: the two KL variants and an optional pixel L1 (the reference's VAEs have none)."""

import jax.numpy as jnp


def kl_reference(z):
    """The reference's KL for a posterior N(z, I): mean(z^2), without the 1/2 factor."""
    return jnp.mean(jnp.square(z))


def kl_gaussian(mean, logvar):
    """KL(N(mean, exp(logvar)) || N(0, I)), averaged over elements instead of summed."""
    return 0.5 * jnp.mean(jnp.square(mean) + jnp.exp(logvar) - 1.0 - logvar)


def l1_loss(x, y):
    return jnp.mean(jnp.abs(x - y))
