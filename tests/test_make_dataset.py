"""launch/make_dataset.py on a folder of odd photos: matching names, reproducible bytes."""

import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from oldrestore.data.degrade.dataset_writer import FOLDERS

CROP = 32
NUM = 5


def _launcher():
    path = Path(__file__).resolve().parents[1] / "launch" / "make_dataset.py"
    spec = importlib.util.spec_from_file_location("make_dataset", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[str, Path]:
    """Photos in many modes and sizes (one smaller than the crop), a corrupt file, a texture."""
    root = tmp_path_factory.mktemp("sources")
    photos, textures = root / "photos", root / "textures"
    photos.mkdir()
    textures.mkdir()
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (40, 50, 3), np.uint8)
    Image.fromarray(rgb).save(photos / "rgb.jpg")
    Image.fromarray(rgb[:20, :24]).save(photos / "small.png")
    Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE).save(photos / "palette.png")
    deep = rng.integers(0, 65536, (36, 40), np.uint16)
    Image.fromarray(deep).save(photos / "gray16.png")
    Image.fromarray(np.dstack([rgb, rgb[..., :1]])).save(photos / "rgba.png")
    (photos / "broken.png").write_bytes(b"not an image at all")
    Image.fromarray(rng.integers(0, 256, (48, 48), np.uint8)).save(textures / "paper.png")
    return {"photos": photos, "textures": textures}


def _make(sources, output, seed, *extra):
    args = ["--output", str(output), "--num", str(NUM), "--seed", str(seed),
            "--clean_dir", str(sources["photos"]), "--crop_size", str(CROP),
            "--textures_dir", str(sources["textures"]), *extra]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _launcher().main(args)
    return [str(w.message) for w in caught]


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*.png"))}


def test_writes_matching_files_reproducibly(sources, tmp_path):
    messages = _make(sources, tmp_path / "a", 1, "--grid", str(tmp_path / "grid.png"))
    skipped = [message for message in messages if message.startswith("skipping")]
    assert len(skipped) == 1 and "broken.png" in skipped[0]  # odd modes are read, not skipped
    names = [f"{i:06d}.png" for i in range(NUM)]
    for folder in FOLDERS:
        assert sorted(p.name for p in (tmp_path / "a" / folder).iterdir()) == names
    degraded = np.asarray(Image.open(tmp_path / "a" / "degraded" / names[0]))
    mask = np.asarray(Image.open(tmp_path / "a" / "mask" / names[0]))
    assert degraded.shape == (CROP, CROP, 3) and mask.shape == (CROP, CROP)
    assert set(np.unique(mask)) <= {0, 255}
    assert not list(tmp_path.rglob("*.tmp"))  # every write renamed into place
    grid = np.asarray(Image.open(tmp_path / "grid.png"))
    assert grid.shape[0] > 3 * CROP and grid.shape[1] > NUM * CROP

    _make(sources, tmp_path / "b", 1)
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    _make(sources, tmp_path / "c", 2)
    assert _files(tmp_path / "a") != _files(tmp_path / "c")


def test_refuses_to_overwrite_inputs(tmp_path):
    clean = tmp_path / "clean"
    clean.mkdir()
    photo = clean / "000000.png"
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(photo)
    before = photo.read_bytes()
    with pytest.raises(ValueError, match="overwrite"):
        _launcher().main(["--output", str(tmp_path), "--num", "1", "--seed", "0",
                          "--clean_dir", str(clean), "--crop_size", "32"])
    assert photo.read_bytes() == before
