"""The face stage's faces found and aligned once, when its data is prepared: landmarks on the
template, every face large enough kept, photos without one skipped and counted, the cache read
back without detecting, held-out and real old faces prepared as training's."""

import logging

import numpy as np
import pytest
import skimage.data
from PIL import Image

from oldrestore.data import aligned_faces as aligned_module
from oldrestore.data.aligned_faces import prepare_aligned
from oldrestore.data.folder_dataset import prepare
from oldrestore.evaluation.faces import old_faces_grid
from oldrestore.faces import detect_faces, template
from oldrestore.train.face_data import face_source, held_out_faces
from tests.test_configuration import load_config

SIZE = 128  # faces kept: boxes of at least 64 px


@pytest.fixture(scope="module")
def config(tmp_path_factory, tfds_dir):
    astronaut = skimage.data.astronaut()
    portrait = astronaut[:300, 100:400]  # a 112 px face
    photos = {
        "faces/portrait.png": portrait,
        "faces/pair.png": np.concatenate([portrait, portrait[:, ::-1]], axis=1),  # two faces
        "faces/small.png": np.asarray(Image.fromarray(astronaut).resize((256, 256))),  # 57 px
        "faces/plain.png": np.full((200, 300, 3), 120, np.uint8),
        "more/celebahq_1.png": portrait[:, ::-1],
        "more/street.png": portrait,  # no face-photo prefix: not searched
    }
    root = tmp_path_factory.mktemp("photos")
    for name, image in photos.items():
        (root / name).parent.mkdir(exist_ok=True)
        Image.fromarray(image).save(root / name)
    config = load_config("face", "smoke")
    config.data.update(clean_dir=str(root / "faces"), more_faces_dir=str(root / "more"),
                       test_percent=0, tfds_dir=str(tfds_dir), crop_size=SIZE, align_faces=True)
    return config


@pytest.fixture(scope="module")
def faces(config):
    source = face_source(config, "train")
    return np.stack([source[i]["image"] for i in range(len(source))])


def test_every_large_face_is_aligned_to_the_template(faces):
    assert faces.shape == (4, SIZE, SIZE, 3)  # portrait 1, pair 2, celebahq_1 1
    for face in faces:
        (found,) = detect_faces(face)
        error = np.linalg.norm(found.landmarks - template(SIZE), axis=1)
        assert error[:2].max() < 4  # eyes (39 px apart)
        assert error.max() < 13  # a third of the eye distance: this face's mouth is wide


def test_photos_without_a_face_are_skipped_and_counted(config, faces, caplog):
    d = config.data
    photos = prepare(d.clean_dir, d.tfds_dir, d.test_percent)
    with caplog.at_level(logging.INFO):
        aligned = prepare_aligned(photos, SIZE, data_dir=d.tfds_dir)
    assert aligned.skipped == ["plain.png", "small.png"]
    assert "3 faces at 128 px; 2 of 4 photos skipped (no face of at least 64 px)" in caplog.text


def test_the_aligned_faces_are_stored_once(config, faces, monkeypatch):
    def no_detection(*args, **kwargs):
        raise AssertionError("detected again")

    monkeypatch.setattr(aligned_module, "detect_faces", no_detection)
    np.testing.assert_array_equal(held_out_faces(config, "train", None), faces)
    config = config.copy_and_resolve_references()
    config.data.crop_size = 96  # other alignment settings: prepared anew
    with pytest.raises(AssertionError, match="detected again"):
        face_source(config, "train")


def test_real_old_faces_are_aligned_as_training_faces(tmp_path):
    old = tmp_path / "old"
    old.mkdir()
    Image.fromarray(skimage.data.astronaut()).save(old / "astronaut.png")
    Image.fromarray(np.full((80, 90, 3), 60, np.uint8)).save(old / "plain.png")
    grid = tmp_path / "grid.png"
    assert old_faces_grid(lambda faces: faces, str(old), SIZE, grid, 2, align=True) == 1
    assert Image.open(grid).height == 2 * SIZE + 2  # the aligned face, then its enhanced one
    (old / "astronaut.png").unlink()
    assert old_faces_grid(lambda faces: faces, str(old), SIZE, tmp_path / "no.png", 2,
                          align=True) == 0
    assert not (tmp_path / "no.png").exists()
