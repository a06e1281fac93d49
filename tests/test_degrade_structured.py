"""Structured defects: the mask is 1 exactly where a defect changed pixels."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from oldrestore.data.degrade import default_config, structured
from oldrestore.data.degrade.blend import blend
from oldrestore.data.images import load_rgb
from oldrestore.data.sources import embedded_photo_paths

SIZE = 64
KEYS = jax.random.split(jax.random.key(0), 8)


def _batched(cfg):
    # Run as a loop over the examples (quicker to compile); test_degrade_pipeline checks that
    # the vectorised batch gives the same results.
    cfg.loop_over_examples = True
    return jax.jit(jax.vmap(lambda key, image: structured(key, image, cfg)))


@pytest.fixture(scope="module")
def defects():
    return _batched(default_config())


def _images() -> dict[str, jnp.ndarray]:
    photo = load_rgb(embedded_photo_paths()[0])[100:100 + SIZE, 150:150 + SIZE] / 255.0
    # Saturated areas: a white scratch over white must still change (and be masked).
    extremes = np.array(photo)
    extremes[:20] = 1.0
    extremes[-20:] = 0.0
    images = {"grey": np.full((SIZE, SIZE, 3), 0.5), "photo": photo, "extremes": extremes}
    return {name: jnp.asarray(np.broadcast_to(image, (len(KEYS),) + image.shape), jnp.float32)
            for name, image in images.items()}


@pytest.mark.parametrize("name", ["grey", "photo", "extremes"])
def test_mask_is_exactly_the_changed_pixels(defects, name):
    images = _images()[name]
    degraded, mask = defects(KEYS, images)
    assert mask.shape == images.shape[:3] + (1,) and mask.dtype == jnp.float32
    assert set(np.unique(mask)) <= {0.0, 1.0}
    changed = np.any(np.abs(np.asarray(degraded) - np.asarray(images)) > 0, axis=-1, keepdims=True)
    np.testing.assert_array_equal(np.asarray(mask), changed.astype(np.float32))
    # no_defect_prob = 0.5: some images are left alone (and unchanged), the others have defects.
    defect_pixels = np.asarray(mask).sum(axis=(1, 2, 3))
    assert np.any(defect_pixels == 0) and np.any(defect_pixels > 0)
    assert 0.0 <= float(degraded.min()) and float(degraded.max()) <= 1.0


def test_counts_choose_the_families():
    cfg = default_config()
    cfg.structured.no_defect_prob = 0.0
    cfg.structured.scratches.count_range = (0, 0)
    cfg.structured.blotches.count_range = (0, 0)
    cfg.structured.dust.count_range = (3, 3)
    cfg.structured.dust.radius_range = (1.0, 1.0)
    images = _images()["grey"]
    _, mask = _batched(cfg)(KEYS, images)
    per_image = np.asarray(mask).sum(axis=(1, 2, 3))
    # Every image (no_defect_prob = 0) gets three specks of radius 1, wobbly and soft edged: a
    # handful of pixels each, and no stroke or stain.
    assert np.all(per_image >= 3) and np.all(per_image <= 3 * 16)


def test_blend_modes_and_dark_layers():
    image = jnp.array([0.2, 0.5, 0.8])
    tone = jnp.full(3, 0.7)
    expected = {  # (light layer, dark layer: the same mode over the image's negative)
        "normal": (tone, 1 - tone),
        "add": (jnp.minimum(image + tone, 1), jnp.maximum(image - tone, 0)),
        "screen": (1 - (1 - image) * (1 - tone), image * (1 - tone)),
        "lighten": (jnp.maximum(image, tone), jnp.minimum(image, 1 - tone)),
    }
    modes = tuple(expected)
    for index, (light, dark) in enumerate(expected.values()):
        np.testing.assert_allclose(blend(image, tone, index, False, modes), light, atol=1e-6)
        np.testing.assert_allclose(blend(image, tone, index, True, modes), dark, atol=1e-6)
