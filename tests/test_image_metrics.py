"""PSNR and SSIM against scikit-image on natural photos."""

import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from oldrestore.data.images import load_rgb
from oldrestore.data.sources import embedded_photo_paths
from oldrestore.evaluation.image_metrics import psnr, ssim


def photo_pair():
    clean = load_rgb(embedded_photo_paths()[2])[:96, :128].astype(np.float32) / 255.0
    noisy = np.clip(clean + np.random.default_rng(0).normal(0, 0.05, clean.shape), 0, 1)
    return clean, noisy.astype(np.float32)


def test_psnr_matches_skimage():
    clean, noisy = photo_pair()
    ours = float(psnr(clean[None], noisy[None])[0])
    assert abs(ours - peak_signal_noise_ratio(clean, noisy, data_range=1.0)) < 1e-3


def test_ssim_matches_skimage():
    clean, noisy = photo_pair()
    ours = float(ssim(clean[None], noisy[None])[0])
    theirs = structural_similarity(clean, noisy, data_range=1.0, channel_axis=-1,
                                   gaussian_weights=True, sigma=1.5,
                                   use_sample_covariance=False)
    assert abs(ours - theirs) < 2e-3, (ours, theirs)
    assert abs(float(ssim(clean[None], clean[None])[0]) - 1.0) < 1e-5
