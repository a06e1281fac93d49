"""Gaussian blur with OpenCV's semantics (cv2.GaussianBlur), for traced kernel size and sigma."""

import jax.numpy as jnp

from oldrestore.data.degrade.sampling import as_integer, draw


def gaussian_kernel(size, sigma, max_size: int):
    """OpenCV's 1-D Gaussian kernel of odd `size`, centred in `max_size` taps (zeros outside).

    OpenCV samples exp(-x^2 / (2 sigma^2)) at integer offsets and normalises the sum to 1; the
    zero padding keeps the shape static while `size` is traced.
    """
    offsets = jnp.arange(max_size) - max_size // 2
    weights = jnp.exp(-(offsets**2) / (2.0 * sigma**2))
    weights = jnp.where(jnp.abs(offsets) <= size // 2, weights, 0.0)
    return weights / weights.sum()


def separable_filter(image, kernel):
    """Correlates the H x W x C `image` with `kernel` along both axes, borders reflected like
    OpenCV's default (BORDER_REFLECT_101: ... c b | a b c ...)."""
    radius = kernel.shape[0] // 2
    height, width = image.shape[:2]
    padded = jnp.pad(image, ((radius, radius), (radius, radius), (0, 0)), mode="reflect")
    rows = sum(kernel[i] * padded[i:i + height] for i in range(kernel.shape[0]))
    return sum(kernel[i] * rows[:, i:i + width] for i in range(kernel.shape[0]))


def gaussian_blur(image, size, sigma, max_size: int = 7):
    """Blurs with a square Gaussian kernel of odd `size` <= `max_size` and standard deviation
    `sigma` (the same along both axes)."""
    return separable_filter(image, gaussian_kernel(size, sigma, max_size))


def random_blur(key, image, cfg):
    """Gaussian blur with the kernel size and sigma drawn from `cfg` (config.unstructured.blur)."""
    sizes = cfg.kernel_sizes
    params = draw(key, size=(0, len(sizes)), sigma=cfg.sigma_range)
    size = jnp.asarray(sizes)[as_integer(params["size"], 0, len(sizes) - 1)]
    return gaussian_blur(image, size, params["sigma"], max_size=max(sizes))
