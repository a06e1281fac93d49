"""Pixel noise of the reference: additive Gaussian, speckle, salt and pepper (all clipped)."""

import jax
import jax.numpy as jnp

from oldrestore.data.degrade.sampling import as_integer, draw


def gaussian_noise(image, normal, sigma):
    """x + sigma n, with `normal` a standard normal field n of the image's shape."""
    return jnp.clip(image + sigma * normal, 0.0, 1.0)


def speckle_noise(image, normal, sigma):
    """x + x sigma n: noise that grows with brightness."""
    return jnp.clip(image + image * sigma * normal, 0.0, 1.0)


def salt_and_pepper(image, uniform, amount, salt_fraction):
    """Each element flips with probability `amount`: to 1 (salt) with probability
    `salt_fraction`, else to 0 (pepper); `uniform` is a U(0, 1) field of the image's shape."""
    # One draw decides both: u < amount flips, and the lower salt_fraction of those turn white.
    salt = (uniform < amount * salt_fraction).astype(image.dtype)
    return jnp.where(uniform < amount, salt, image)


_KINDS = {
    "gaussian": lambda image, normal, p: gaussian_noise(image, normal, p["sigma"]),
    "speckle": lambda image, normal, p: speckle_noise(image, normal, p["sigma"]),
    # The normal CDF of a standard normal field is a uniform field.
    "salt_pepper": lambda image, normal, p: salt_and_pepper(
        image, jax.scipy.stats.norm.cdf(normal), p["amount"], p["salt"]),
}


def random_noise(key, image, cfg):
    """One kind of noise from `cfg.kinds`, equally likely, with parameters drawn from `cfg`
    (config.unstructured.noise)."""
    params_key, field_key = jax.random.split(key)
    params = draw(
        params_key, kind=(0, len(cfg.kinds)), sigma=cfg.sigma_range, amount=cfg.amount_range,
        salt=cfg.salt_fraction_range)
    kind = as_integer(params["kind"], 0, len(cfg.kinds) - 1)
    normal = jax.random.normal(field_key, image.shape)  # one field serves every kind
    branches = [_KINDS[name] for name in cfg.kinds]
    return jax.lax.switch(kind, branches, image, normal, params)
