"""Folders of photos as prepared tfds datasets: odd files, stable splits, no needless work."""

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from oldrestore.data import folder_dataset
from oldrestore.data.folder_dataset import prepare, split_of


def _save_rgb(path, height=24, width=32, seed=0):
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)


def _photo_folder(folder, count):
    folder.mkdir(parents=True)
    for i in range(count):
        _save_rgb(folder / f"photo_{i:02d}.png", seed=i)
    return folder


def _all_examples(prepared):
    """{file name: image} over both splits."""
    return {example["name"].decode(): example["image"]
            for split in ("train", "test") for example in prepared.source(split)}


@pytest.fixture
def odd_folder(tmp_path):
    """Every kind of file a user's folder may hold."""
    folder = tmp_path / "odd"
    folder.mkdir()
    _save_rgb(folder / "plain.jpg")
    (folder / "corrupt.jpg").write_bytes(np.random.default_rng(0).bytes(2000))
    (folder / "empty.png").write_bytes(b"")
    (folder / "notes.txt").write_text("not a photo")
    Image.new("RGB", (30, 20), (200, 10, 10)).convert("P").save(folder / "palette.png")
    Image.fromarray(np.full((20, 30), 40000, np.uint16)).save(folder / "gray16.png")
    Image.new("RGBA", (30, 20), (0, 0, 255, 128)).save(folder / "rgba.png")
    Image.new("L", (30, 20), 90).save(folder / "gray.jpg")
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    Image.new("RGB", (40, 20), (0, 200, 0)).save(folder / "rotated.jpg", exif=exif)
    return folder


def test_any_mode_is_decoded_and_unreadable_files_are_skipped_and_named(odd_folder, tmp_path):
    with pytest.warns(UserWarning) as caught:
        prepared = prepare(str(odd_folder), tmp_path / "tfds")
    messages = " ".join(str(w.message) for w in caught)
    assert "corrupt.jpg" in messages and "empty.png" in messages

    assert prepared.skipped == ["corrupt.jpg", "empty.png"]
    examples = _all_examples(prepared)
    assert sorted(examples) == ["gray.jpg", "gray16.png", "palette.png", "plain.jpg",
                                "rgba.png", "rotated.jpg"]
    assert prepared.num_examples("train") + prepared.num_examples("test") == 6
    for image in examples.values():
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[-1] == 3
    assert examples["rotated.jpg"].shape == (40, 20, 3)  # EXIF orientation applied
    assert examples["gray16.png"][0, 0].tolist() == [156, 156, 156]  # 40000 / 65535 * 255


def test_splits_follow_the_name_hash_and_survive_added_files(tmp_path):
    folder = _photo_folder(tmp_path / "photos", 12)
    before = prepare(str(folder), tmp_path / "tfds", test_percent=50)
    splits_before = {name: split for split in ("train", "test")
                     for name in (ex["name"].decode() for ex in before.source(split))}
    assert set(splits_before.values()) == {"train", "test"}
    assert all(split == split_of(name, 50) for name, split in splits_before.items())

    for i in range(12, 16):
        _save_rgb(folder / f"photo_{i:02d}.png", seed=i)
    after = prepare(str(folder), tmp_path / "tfds", test_percent=50)
    assert after.path != before.path
    splits_after = {name: split for split in ("train", "test")
                    for name in (ex["name"].decode() for ex in after.source(split))}
    assert len(splits_after) == 16
    assert {name: splits_after[name] for name in splits_before} == splits_before


def test_split_of_sends_about_test_percent_to_test():
    names = [f"image_{i}.jpg" for i in range(4000)]
    share = sum(split_of(name, 5) == "test" for name in names) / len(names)
    assert 0.04 < share < 0.06
    assert {split_of(name, 0) for name in names} == {"train"}


def test_an_unchanged_folder_is_not_decoded_again(odd_folder, tmp_path, monkeypatch):
    decoded = []
    load_rgb = folder_dataset.load_rgb
    monkeypatch.setattr(folder_dataset, "load_rgb", lambda path: decoded.append(path)
                        or load_rgb(path))
    with pytest.warns(UserWarning):
        first = prepare(str(odd_folder), tmp_path / "tfds")
    decoded_once = len(decoded)
    stored = {p: p.stat().st_mtime_ns for p in first.path.iterdir()}

    again = prepare(str(odd_folder), tmp_path / "tfds")
    assert len(decoded) == decoded_once == 8
    assert again.path == first.path
    assert {p: p.stat().st_mtime_ns for p in again.path.iterdir()} == stored
    assert again.skipped == ["corrupt.jpg", "empty.png"]  # kept in the dataset's metadata


def test_changed_or_different_folders_never_share_storage(tmp_path):
    first = _photo_folder(tmp_path / "a" / "photos", 3)
    twin = _photo_folder(tmp_path / "b" / "photos", 3)  # same names and pixels, other place
    path_first = prepare(str(first), tmp_path / "tfds").path
    assert prepare(str(twin), tmp_path / "tfds").path != path_first

    _save_rgb(first / "photo_00.png", height=30, seed=99)
    changed = prepare(str(first), tmp_path / "tfds")
    assert changed.path != path_first
    assert _all_examples(changed)["photo_00.png"].shape == (30, 32, 3)


def test_the_embedded_default_prepares(tmp_path):
    prepared = prepare(data_dir=tmp_path / "tfds")
    assert prepared.num_examples("train") + prepared.num_examples("test") == 16
    assert prepared.skipped == []
    assert prepared.source("train")[0]["image"].shape[-1] == 3
    with pytest.raises(ValueError, match="unknown split"):
        prepared.source("validation")


def test_a_split_without_readable_photos_is_empty(tmp_path):
    folder = _photo_folder(tmp_path / "photos", 2)
    prepared = prepare(str(folder), tmp_path / "tfds", test_percent=100)
    assert prepared.num_examples("train") == 0 and len(prepared.source("train")) == 0
    assert prepared.num_examples("test") == 2

    for photo in folder.iterdir():
        photo.write_bytes(b"broken")
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="none of its 2 images"):
        prepare(str(folder), tmp_path / "tfds")


def test_two_processes_preparing_one_folder_at_once_both_succeed(tmp_path):
    """Two runs started together used to race to rename tfds's incomplete folder."""
    folder = _photo_folder(tmp_path / "photos", 40)
    script = ("import sys; from oldrestore.data.folder_dataset import prepare; "
              "p = prepare(sys.argv[1], sys.argv[2]); "
              "print(p.num_examples('train') + p.num_examples('test'))")
    runs = [subprocess.Popen([sys.executable, "-c", script, str(folder), str(tmp_path / "tfds")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    results = [run.communicate(timeout=300) + (run.returncode,) for run in runs]
    for out, err, code in results:
        assert code == 0, err[-2000:]
        assert out.strip() == "40"
