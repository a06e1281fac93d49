"""Full-reference image quality: PSNR and SSIM on [0, 1] images, in jnp (batched, jit-able)."""

import jax
import jax.numpy as jnp


def psnr(a, b, data_range: float = 1.0):
    """Per-image PSNR in dB of [B, H, W, C] batches (the mean squared error is over H, W, C)."""
    mse = jnp.mean(jnp.square(a - b), axis=(1, 2, 3))
    return 10.0 * jnp.log10(data_range**2 / jnp.maximum(mse, 1e-12))


def _gaussian_window(size: int = 11, sigma: float = 1.5):
    x = jnp.arange(size, dtype=jnp.float32) - (size - 1) / 2
    g = jnp.exp(-0.5 * jnp.square(x / sigma))
    return g / jnp.sum(g)


def _blur_valid(x, window):
    """Separable Gaussian filter over H and W of [B, H, W, C], keeping only full windows."""
    c = x.shape[-1]
    k = window.shape[0]
    rows = jnp.tile(window.reshape(k, 1, 1, 1), (1, 1, 1, c))
    cols = jnp.tile(window.reshape(1, k, 1, 1), (1, 1, 1, c))
    dn = ("NHWC", "HWIO", "NHWC")
    x = jax.lax.conv_general_dilated(x, rows, (1, 1), "VALID", dimension_numbers=dn,
                                     feature_group_count=c)
    return jax.lax.conv_general_dilated(x, cols, (1, 1), "VALID", dimension_numbers=dn,
                                        feature_group_count=c)


def ssim(a, b, data_range: float = 1.0):
    """Per-image SSIM of [B, H, W, C] batches (Wang et al. 2004: 11x11 Gaussian window, sigma
    1.5, K1 = 0.01, K2 = 0.03, population statistics), averaged over channels and positions;
    the same definition as scikit-image's with gaussian_weights=True."""
    window = _gaussian_window()
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mu_a, mu_b = _blur_valid(a, window), _blur_valid(b, window)
    var_a = _blur_valid(a * a, window) - mu_a**2
    var_b = _blur_valid(b * b, window) - mu_b**2
    cov = _blur_valid(a * b, window) - mu_a * mu_b
    num = (2 * mu_a * mu_b + c1) * (2 * cov + c2)
    den = (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    return jnp.mean(num / den, axis=(1, 2, 3))
