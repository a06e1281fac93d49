"""The reference's unstructured degradations, each against its statistics or an independent
implementation (OpenCV, scipy, Pillow), and their random-order composition."""

import io

import cv2
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.ndimage
from PIL import Image

from oldrestore.data.degrade import default_config, unstructured
from oldrestore.data.degrade.blur import gaussian_blur
from oldrestore.data.degrade.color import grayscale
from oldrestore.data.degrade.jpeg import jpeg_compress
from oldrestore.data.degrade.noise import (
    gaussian_noise,
    random_noise,
    salt_and_pepper,
    speckle_noise,
)
from oldrestore.data.degrade.resize import low_resolution
from oldrestore.data.images import load_rgb
from oldrestore.data.sources import embedded_photo_paths

KEY = jax.random.key(0)
GREY = jnp.full((64, 64, 3), 0.5, jnp.float32)


def crops(size: int, count: int) -> list[np.ndarray]:
    """Centre crops (uint8) of the first embedded photos."""
    out = []
    for path in embedded_photo_paths()[:count]:
        photo = load_rgb(path)
        top, left = (photo.shape[0] - size) // 2, (photo.shape[1] - size) // 2
        out.append(photo[top:top + size, left:left + size])
    return out


@pytest.fixture(scope="module")
def photo() -> jnp.ndarray:
    return jnp.asarray(crops(64, 1)[0], jnp.float32) / 255.0


@pytest.fixture(scope="module")
def blur():
    return jax.jit(gaussian_blur, static_argnames="max_size")


@pytest.mark.parametrize("size,sigma", [(3, 1.0), (5, 2.5), (7, 5.0)])
def test_blur_matches_opencv_and_scipy(blur, size, sigma):
    image = np.random.default_rng(0).random((40, 48, 3), np.float32)
    ours = np.asarray(blur(image, size, sigma))
    np.testing.assert_allclose(ours, cv2.GaussianBlur(image, (size, size), sigma), atol=1e-5)
    kernel = cv2.getGaussianKernel(size, sigma)[:, 0]
    # scipy's "mirror" border is OpenCV's default BORDER_REFLECT_101.
    reference = scipy.ndimage.correlate1d(image, kernel, axis=0, mode="mirror")
    reference = scipy.ndimage.correlate1d(reference, kernel, axis=1, mode="mirror")
    np.testing.assert_allclose(ours, reference, atol=1e-5)


def test_blur_keeps_the_mean(blur):
    image = np.full((48, 48, 3), 0.3, np.float32)
    image[8:-8, 8:-8] = np.random.default_rng(1).random((32, 32, 3))  # flat border
    np.testing.assert_allclose(np.mean(blur(image, 7, 3.0)), image.mean(), rtol=1e-5)


def _noise_config(kind: str, **overrides):
    cfg = default_config().unstructured.noise
    cfg.kinds = (kind,)
    cfg.update(overrides)
    return cfg


def test_gaussian_noise_has_its_sigma():
    noisy = random_noise(KEY, GREY, _noise_config("gaussian", sigma_range=(0.08, 0.08)))
    assert abs(float(jnp.std(noisy)) / 0.08 - 1) < 0.03
    assert abs(float(jnp.mean(noisy)) - 0.5) < 0.003


def test_speckle_noise_scales_with_brightness():
    normal = np.random.default_rng(0).standard_normal(GREY.shape)
    noisy = speckle_noise(GREY, normal, 40 / 255)
    assert abs(float(jnp.std(noisy)) / (0.5 * 40 / 255) - 1) < 0.03
    assert float(jnp.std(speckle_noise(jnp.zeros_like(GREY), normal, 40 / 255))) == 0.0
    np.testing.assert_allclose(gaussian_noise(GREY, normal, 0.1), np.clip(0.5 + 0.1 * normal, 0, 1))


def test_salt_and_pepper_fractions():
    cfg = _noise_config("salt_pepper", amount_range=(0.2, 0.2), salt_fraction_range=(0.3, 0.3))
    noisy = np.asarray(random_noise(KEY, jnp.full((128, 128, 3), 0.5), cfg))
    assert abs(np.mean(noisy == 1.0) - 0.2 * 0.3) < 0.005
    assert abs(np.mean(noisy == 0.0) - 0.2 * 0.7) < 0.005
    assert np.all((noisy == 0.0) | (noisy == 1.0) | (noisy == 0.5))
    uniform = np.random.default_rng(0).random((64, 64, 3))
    np.testing.assert_array_equal(salt_and_pepper(GREY, uniform, 0.0, 0.5), GREY)


@pytest.fixture(scope="module")
def low_res():
    return jax.jit(low_resolution)


@pytest.mark.parametrize("bilinear", [True, False])
def test_low_resolution_matches_pillow(low_res, bilinear):
    photo = crops(64, 2)[1][:, :56]
    upscale = Image.Resampling.BILINEAR if bilinear else Image.Resampling.NEAREST
    for size in [(32, 28), (50, 41), (64, 56)]:
        ours = low_res(jnp.asarray(photo, jnp.float32) / 255.0, jnp.array(size), bilinear)
        assert ours.shape == photo.shape
        small = Image.fromarray(photo).resize(size[::-1], Image.Resampling.BICUBIC)
        pillow = np.asarray(small.resize(photo.shape[1::-1], upscale), np.float32) / 255.0
        difference = np.abs(np.asarray(ours) - pillow)
        assert difference.mean() < 0.6 / 255 and difference.max() < 2.5 / 255


def test_low_resolution_keeps_a_constant_image(low_res):
    for bilinear in (True, False):
        out = low_res(GREY * 0.8, jnp.array([33, 47]), bilinear)
        np.testing.assert_allclose(out, GREY * 0.8, atol=1e-6)


def _psnr(a, b) -> float:
    return float(10 * np.log10(1.0 / np.mean((np.asarray(a, np.float64) - b) ** 2)))


def test_jpeg_is_within_1_5_db_of_pillow():
    compress = jax.jit(jpeg_compress)
    for photo in crops(128, 4):
        clean = photo.astype(np.float64) / 255.0
        for quality in (40, 75, 95):
            buffer = io.BytesIO()
            Image.fromarray(photo).save(buffer, format="JPEG", quality=quality, subsampling=2)
            pillow = np.asarray(Image.open(buffer), np.float64) / 255.0
            ours = compress(jnp.asarray(clean, jnp.float32), quality)
            assert abs(_psnr(ours, clean) - _psnr(pillow, clean)) < 1.5, quality


def test_grayscale_has_equal_channels(photo):
    grey = np.asarray(grayscale(photo))
    assert np.array_equal(grey[..., 0], grey[..., 1]) and np.array_equal(grey[..., 1], grey[..., 2])
    expected = 0.299 * photo[..., 0] + 0.587 * photo[..., 1] + 0.114 * photo[..., 2]
    np.testing.assert_allclose(grey[..., 0], expected, atol=1e-6)


def test_config_probabilities_choose_the_operations(photo):
    cfg = default_config()
    for name in ("blur", "noise", "resize"):
        cfg.unstructured[name].prob = 0.0  # never applied
    cfg.unstructured.jpeg.prob = 1.0
    cfg.unstructured.jpeg.quality_range = (45, 45)
    degraded = jax.jit(lambda key, image: unstructured(key, image, cfg))(KEY, photo)
    np.testing.assert_allclose(degraded, jpeg_compress(photo, 45), atol=1e-6)
