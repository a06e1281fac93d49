"""One PSNR: the training stages log the batch mean of evaluation's per-image PSNR."""

import jax.numpy as jnp
import numpy as np
import pytest

from oldrestore.evaluation.image_metrics import psnr
from oldrestore.train import vae_stage


def test_training_psnr_is_the_mean_of_per_image_psnr():
    # Two [0, 1] images with squared errors 1e-4 and 1e-2: 40 dB and 20 dB, mean 30 dB; pooling
    # the error over the batch would give 10 log10(1 / 5.05e-3) = 22.97 dB.
    clean = jnp.full((2, 8, 8, 3), 0.5)
    noisy = clean + jnp.array([0.01, 0.1]).reshape(2, 1, 1, 1)
    np.testing.assert_allclose(psnr(noisy, clean), [40.0, 20.0], rtol=1e-5)
    logged = vae_stage.psnr(noisy * 2 - 1, clean * 2 - 1)  # the networks' [-1, 1] range
    assert float(logged) == pytest.approx(30.0, rel=1e-5)
