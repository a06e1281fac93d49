"""The whole degradation model (determinism, vmap, pairs, family switches), the old-print look."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from oldrestore.data.degrade import (
    default_config,
    degrade,
    degrade_batch,
    degrade_pair,
    load_textures,
    old_print,
)
from oldrestore.data.degrade.color import grayscale, luminance
from oldrestore.data.images import load_rgb
from oldrestore.data.sources import embedded_photo_paths

SIZE = 48
KEY = jax.random.key(0)


@pytest.fixture(scope="module")
def photos() -> jnp.ndarray:
    crops = [load_rgb(path)[60:60 + SIZE, 80:80 + SIZE] for path in embedded_photo_paths()[:4]]
    return jnp.asarray(np.stack(crops), jnp.float32) / 255.0


@pytest.fixture(scope="module")
def single():
    return jax.jit(functools.partial(degrade, cfg=default_config()))


def test_degrade_is_deterministic_for_a_key(single, photos):
    degraded, mask = single(KEY, photos[0])
    assert degraded.shape == photos[0].shape and mask.shape == (SIZE, SIZE, 1)
    assert degraded.dtype == mask.dtype == jnp.float32
    again, again_mask = single(KEY, photos[0])
    assert np.array_equal(degraded, again) and np.array_equal(mask, again_mask)
    for seed in (1, 2, 3):
        other, _ = single(jax.random.key(seed), photos[0])
        assert not np.array_equal(degraded, other)
        assert 0.0 <= float(other.min()) and float(other.max()) <= 1.0


def test_degrade_batch_equals_a_loop(single, photos):
    batch = jax.jit(functools.partial(degrade_batch, cfg=default_config()))
    degraded, masks = batch(KEY, photos)
    for i, key in enumerate(jax.random.split(KEY, len(photos))):
        one, one_mask = single(key, photos[i])
        np.testing.assert_allclose(degraded[i], one, atol=1e-5)
        np.testing.assert_array_equal(masks[i], one_mask)


def _families_off(cfg):
    cfg.old_print.enabled = cfg.unstructured.enabled = cfg.structured.enabled = False
    return cfg


def test_families_off_leave_the_image_alone(photos):
    cfg = _families_off(default_config())
    cfg.grayscale_prob = 0.0
    degraded, mask = degrade(KEY, photos[0], cfg)
    assert np.array_equal(degraded, photos[0]) and not np.any(mask)


def test_pair_turns_grey_together(photos):
    cfg = _families_off(default_config())
    cfg.grayscale_prob = 1.0
    target, degraded, _ = degrade_pair(KEY, photos[0], cfg)
    np.testing.assert_array_equal(target, grayscale(photos[0]))
    np.testing.assert_array_equal(degraded, grayscale(photos[0]))


def _aged_by(effect: str, **overrides):
    """old_print, compiled, with only this effect, always applied."""
    cfg = default_config()
    for name in ("grain", "tone", "contrast", "fade", "texture"):
        cfg.old_print[f"{name}_prob"] = 1.0 if name == effect else 0.0
    cfg.old_print.update(overrides)
    return jax.jit(lambda key, image, textures=None: old_print(key, image, cfg, textures))


def test_grain_has_its_sigma_in_the_mid_tones():
    grey = jnp.full((96, 96, 3), 0.5)
    grained = _aged_by("grain", grain_sigma_range=(0.03, 0.03))(KEY, grey)
    assert abs(float(jnp.std(grained)) / 0.03 - 1) < 0.15
    assert np.array_equal(grained[..., 0], grained[..., 2])  # monochrome grain


def test_fade_and_contrast_loss_flatten_the_print(photos):
    faded = _aged_by("fade", fade_range=(0.3, 0.3))(KEY, photos[0])
    paper = np.array(default_config().old_print.paper_tone, np.float32)
    np.testing.assert_allclose(faded, photos[0] + 0.3 * (paper - photos[0]), atol=1e-6)
    flat = _aged_by("contrast", contrast_range=(0.5, 0.5))(KEY, photos[0])
    np.testing.assert_allclose(jnp.std(flat), 0.5 * jnp.std(photos[0]), rtol=1e-4)
    np.testing.assert_allclose(jnp.mean(luminance(flat)), jnp.mean(luminance(photos[0])), atol=1e-5)


def test_textures_load_and_show_only_when_given(data_dir, photos):
    textures = load_textures(data_dir / "textures", SIZE)
    assert textures.shape[1:] == (SIZE, SIZE, 3) and textures.dtype == np.float32
    assert 0.0 <= textures.min() and textures.max() <= 1.0
    aged = _aged_by("texture")
    assert not np.array_equal(aged(KEY, photos[0], jnp.asarray(textures)), photos[0])
    assert np.array_equal(aged(KEY, photos[0]), photos[0])
