"""The restoration bundle that ships inside the package: small, safe, complete, saying where it came
from, and used by launch/restore.py when no --checkpoints is given."""

import json

import numpy as np
import pytest
import skimage.data
from PIL import Image

from launch import restore as restore_command
from oldrestore.bundle import Bundle
from oldrestore.inference.weights import DEFAULT_BUNDLE
from oldrestore.study.plan import CHAIN

pytestmark = pytest.mark.usefixtures("fast_compile")

MAX_BYTES = 50 * 2**20


def test_the_default_bundle_ships_small_and_complete():
    assert DEFAULT_BUNDLE.is_file(), f"{DEFAULT_BUNDLE} is missing from the package"
    assert DEFAULT_BUNDLE.stat().st_size <= MAX_BYTES
    bundle = Bundle(DEFAULT_BUNDLE)
    assert {*CHAIN, "face"} <= set(bundle.stages())
    meta = bundle.meta
    assert meta["command"].startswith("python launch/reproduce.py --budget_minutes=")
    assert set(json.loads(meta["steps"])) == set(CHAIN)
    assert meta["commit"] and "research use" in meta["data"] and "scores" in meta
    assert meta["face"].startswith("python launch/train.py --config=configs/face.py:cpu")
    assert "held-out" in meta["face_scores"]
    # Both mappings restore with the input's colours, as the cpu recipe does (configs/mapping.py).
    for mapping in ("mapping", "mapping_scratch"):
        assert bundle.load(mapping).config.model.inference_chroma_sigma == 3.0


def test_restore_uses_the_default_bundle_without_checkpoints(tmp_path, capsys):
    photo = tmp_path / "photo.png"
    image = np.random.default_rng(0).integers(0, 256, (70, 90, 3), np.uint8)
    Image.fromarray(image).save(photo)
    assert restore_command.main(["--input", str(photo), "--output", str(tmp_path / "out"),
                                 "--with_scratch"]) == 0
    restored = Image.open(tmp_path / "out" / "photo.png")
    assert restored.size == (90, 70) and restored.mode == "RGB"
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["weights"] == str(DEFAULT_BUNDLE)


def test_with_faces_works_on_a_fresh_install(tmp_path):
    """The face network ships in the default bundle: the astronaut's face is found on the
    restored photo, enhanced and blended back, with no --checkpoints."""
    photo = tmp_path / "astronaut.png"
    Image.fromarray(skimage.data.astronaut()).resize((256, 256), Image.LANCZOS).save(photo)
    out = tmp_path / "out"
    assert restore_command.main(["--input", str(photo), "--output", str(out), "--with_faces"]) == 0
    entry, = json.loads((out / "report.json").read_text())["inputs"]
    assert entry["status"] == "ok" and entry["faces"] == 1
    assert Image.open(out / "astronaut.png").size == (256, 256)
