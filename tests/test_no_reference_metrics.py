"""NIQE and BRISQUE against the authors' MATLAB releases (pyiqa's calibration table, through the
features of its test images: tests/fixtures/make_iqa_calibration.py), and their building blocks
against independent computations."""

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from oldrestore.data.images import load_rgb
from oldrestore.data.sources import embedded_photo_paths
from oldrestore.evaluation import brisque, niqe
from oldrestore.evaluation import natural_scene_statistics as nss

CALIBRATION = Path(__file__).parent / "fixtures" / "iqa_calibration.npz"


@pytest.fixture(scope="module")
def calibration():
    with np.load(CALIBRATION, allow_pickle=False) as data:
        return {name: data[name] for name in data.files}


def test_niqe_matches_matlab_on_four_of_five_images(calibration):
    ours = np.array([niqe.score_features(f) for f in calibration["niqe_patch_features"]])
    errors = np.abs(ours - calibration["matlab_niqe"])
    assert np.sum(errors < 0.1) >= 4, dict(zip(calibration["names"], errors, strict=True))


def test_brisque_matches_matlab_on_four_of_five_images(calibration):
    ours = np.array([brisque.score_features(f) for f in calibration["brisque_features"]])
    errors = np.abs(ours - calibration["matlab_brisque"])
    assert np.sum(errors < 0.5) >= 4, dict(zip(calibration["names"], errors, strict=True))


def test_model_files_load_without_pickle():
    mean, cov = niqe.pristine_model()
    assert mean.shape == (36,) and cov.shape == (36, 36) and np.allclose(cov, cov.T)
    with np.load(niqe.PARAMS_PATH, allow_pickle=False) as params:
        np.testing.assert_allclose(params["gaussian_window"], nss.gaussian_window(), atol=1e-12)
    model = brisque.svr_model()
    assert model["sv"].shape == (774, 36) and model["sv_coef"].shape == (774,)
    assert model["gamma"] == pytest.approx(0.05) and model["rho"] == pytest.approx(-153.591)


def test_grey_is_rounded_bt601_luma():
    pixel = np.array([[[200, 100, 50]]], np.uint8)
    assert nss.grey(pixel)[0, 0] == round(0.299 * 200 + 0.587 * 100 + 0.114 * 50)


def test_imresize_half_uses_matlabs_antialiased_cubic():
    # Interior output pixels sit between two input pixels; the kernel is Keys' cubic (a = -0.5)
    # stretched by 2: weights 0.5 * cubic(d / 2) at distances d = 0.5, 1.5, 2.5, 3.5.
    cubic = {0.25: 0.8671875, 0.75: 0.2265625, 1.25: -0.0703125, 1.75: -0.0234375}
    half = [0.5 * cubic[d / 2] for d in (3.5, 2.5, 1.5, 0.5)]
    expected = np.array(half + half[::-1])
    impulse = np.zeros((1, 40))
    impulse[0, 20] = 1.0
    # Output j covers inputs 2j-3 .. 2j+4 (0-based); input 20 appears in outputs 8 .. 11.
    response = nss.imresize(np.repeat(impulse, 40, axis=0), 0.5)[10]
    np.testing.assert_allclose(response[8:12], expected[[7, 5, 3, 1]], atol=1e-12)
    # A ramp stays a ramp inside (cubic convolution reproduces linear functions), sampled at the
    # centres of the output pixels; MATLAB's output size is ceil(n / 2).
    ramp = np.tile(np.arange(41.0), (41, 1))
    resized = nss.imresize(ramp, 0.5)
    assert resized.shape == (21, 21)
    np.testing.assert_allclose(resized[5, 3:17], 2 * np.arange(3, 17) + 0.5, atol=1e-9)


@pytest.mark.parametrize("border, pad_mode", [("nearest", "edge"), ("constant", "constant")])
def test_mscn_matches_a_direct_sum(border, pad_mode):
    image = np.random.default_rng(0).uniform(0, 255, (12, 10))
    window = nss.gaussian_window()
    padded = np.pad(image, 3, mode=pad_mode)
    mu = np.zeros_like(image)
    second = np.zeros_like(image)
    for i in range(12):
        for j in range(10):
            patch = padded[i:i + 7, j:j + 7]
            mu[i, j], second[i, j] = np.sum(window * patch), np.sum(window * patch**2)
    expected = (image - mu) / (np.sqrt(np.abs(second - mu**2)) + 1)
    np.testing.assert_allclose(nss.mscn(image, border)[0], expected, atol=1e-9)


@pytest.mark.parametrize("shape", [0.6, 1.0, 2.0])
def test_ggd_fit_recovers_the_shape_of_samples(shape):
    samples = stats.gennorm.rvs(shape, scale=2.0, size=400_000, random_state=1)
    alpha, std = nss.fit_ggd(samples)
    assert alpha == pytest.approx(shape, rel=0.03)
    assert std == pytest.approx(np.std(samples), rel=1e-6)


def test_aggd_fit_recovers_shape_and_sides():
    # An AGGD with scales 0.5 (left) and 2 (right) puts mass 0.5 / (0.5 + 2) on its left side.
    base = np.abs(stats.gennorm.rvs(1.5, size=400_000, random_state=2))
    left_side = np.random.default_rng(3).uniform(size=len(base)) < 0.2
    samples = np.where(left_side, -0.5 * base, 2.0 * base)
    alpha, left, right = nss.fit_aggd(samples[None])
    assert alpha[0] == pytest.approx(1.5, rel=0.03)
    assert right[0] / left[0] == pytest.approx(4.0, rel=0.01)


@pytest.fixture(scope="module")
def photo():
    return load_rgb(embedded_photo_paths()[0])[:384, :384]


@pytest.mark.parametrize("metric", [niqe.niqe, brisque.brisque])
def test_scores_worsen_with_noise_and_blur(photo, metric):
    from scipy import ndimage

    noisy = np.clip(photo + np.random.default_rng(0).normal(0, 25, photo.shape), 0, 255)
    blurred = ndimage.gaussian_filter(photo.astype(float), (3, 3, 0))
    clean = metric(photo)
    assert metric(noisy.astype(np.uint8)) > clean + 5
    assert metric(np.round(blurred).astype(np.uint8)) > clean + 2


def test_niqe_refuses_images_smaller_than_two_patches():
    with pytest.raises(ValueError, match="96x96"):
        niqe.niqe(np.zeros((100, 150, 3), np.uint8))
