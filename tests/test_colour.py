"""The input's colours on the restored photo (inference/colour.py): the luminance is the
restored photo's, the chroma the input's, smoothed without the defect mask's pixels and moved to
the restored photo's mean; and the restorer applies it as its mapping config says."""

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from oldrestore.data.degrade.color import RGB_TO_YCBCR, YCBCR_TO_RGB
from oldrestore.inference.colour import with_input_chroma


def ycc(rgb):
    return np.asarray(rgb, np.float64) @ RGB_TO_YCBCR.T.astype(np.float64)


def mid_range(height, width, seed):
    """Photos far from 0 and 1, so that nothing is clipped."""
    return np.random.default_rng(seed).uniform(0.3, 0.7, (height, width, 3)).astype(np.float32)


def test_the_colour_matrices_are_bt601_and_each_others_inverse():
    np.testing.assert_allclose(RGB_TO_YCBCR @ YCBCR_TO_RGB, np.eye(3), atol=1e-6)
    np.testing.assert_allclose(ycc([[0.5, 0.5, 0.5], [1, 1, 1]]), [[0.5, 0, 0], [1, 0, 0]],
                               atol=1e-6)
    np.testing.assert_allclose(ycc([1, 0, 0])[0], 0.299, atol=1e-6)


def test_luminance_is_the_restored_photos_and_chroma_the_inputs_smoothed_and_shifted():
    restored, photo = mid_range(24, 32, 0), mid_range(24, 32, 1)
    out = ycc(with_input_chroma(restored, photo, None, sigma=2.0))
    np.testing.assert_allclose(out[..., 0], ycc(restored)[..., 0], atol=1e-5)
    # Written plainly: each input chroma plane smoothed, then moved to the restored mean.
    chroma = np.stack([gaussian_filter(ycc(photo)[..., i], 2.0) for i in (1, 2)], -1)
    chroma += ycc(restored)[..., 1:].mean((0, 1)) - chroma.mean((0, 1))
    np.testing.assert_allclose(out[..., 1:], chroma, atol=1e-5)


def test_a_scratch_under_the_mask_takes_the_colour_around_it():
    photo = np.zeros((32, 32, 3), np.float32)
    photo[:, :16] = (0.8, 0.2, 0.2)  # red
    photo[:, 16:] = (0.2, 0.2, 0.8)  # blue
    photo[:, 6:8] = 1.0  # a white scratch across the red half
    mask = np.zeros((32, 32), bool)
    mask[:, 6:8] = True
    restored = np.full_like(photo, 0.5)
    chroma = ycc(with_input_chroma(restored, photo, mask, 3.0))[..., 1:]
    red_chroma, filled = chroma[:, 3], chroma[:, 7]
    np.testing.assert_allclose(filled, red_chroma, atol=2e-3)
    # A mask of numbers (nonzero = defect) means the same as the bool one.
    for holes in (mask.astype(np.float32), mask.astype(np.uint8) * 255):
        np.testing.assert_array_equal(with_input_chroma(restored, photo, holes, 3.0),
                                      with_input_chroma(restored, photo, mask, 3.0))
    # Without the mask the scratch's white greys the red around it.
    unmasked = ycc(with_input_chroma(restored, photo, None, 3.0))[:, 7, 1:]
    assert np.abs(unmasked - red_chroma).max() > 0.05


def test_a_photo_that_is_all_defect_keeps_the_restored_colours():
    restored, photo = mid_range(16, 16, 2), mid_range(16, 16, 3)
    out = with_input_chroma(restored, photo, np.ones((16, 16), bool), 2.0)
    np.testing.assert_allclose(out, restored, atol=1e-5)


@pytest.mark.parametrize("mask", [None, "stroke"])
def test_output_is_float32_in_range_and_the_size_of_the_photo(mask):
    photo = np.random.default_rng(4).uniform(0, 1, (20, 28, 3))
    restored = np.clip(photo + 0.3, 0, 1)
    holes = None
    if mask:
        holes = np.zeros((20, 28), bool)
        holes[5, :] = True
    out = with_input_chroma(restored, photo, holes, 1.5)
    assert out.shape == photo.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
