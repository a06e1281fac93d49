"""The photos a study scores everything on, made once per output folder and then only read:
held-out clean photos degraded by make_dataset's model at a fixed seed (with their clean
originals), held-out real old photos, and the scratch masks the main chain's detector finds on
both (every method that fills scratches fills the same ones)."""

import os
import shutil
from pathlib import Path

import numpy as np

from oldrestore.data.degrade.dataset_writer import write_dataset
from oldrestore.data.folder_dataset import split_of
from oldrestore.data.sources import photo_paths
from oldrestore.inference.photos import read_photo
from oldrestore.outputs import write_png_atomically

TEST_SEED = 2020  # the degradation key of the held-out synthetic photos
CROP = 256
MAX_PIXELS = 40_000_000  # as launch/restore.py


def _held_out(folder: str) -> list[Path]:
    return [p for p in photo_paths(folder) if split_of(p.name) == "test"]


def _link_all(paths: list[Path], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for path in paths:
        link = folder / path.name
        if not link.exists():
            os.symlink(path.resolve(), link)


def synthetic_test_set(output: Path, clean_dir: str) -> Path:
    """output/testset/{clean,degraded,mask}: one CROP x CROP crop of every held-out photo of
    `clean_dir`, degraded at TEST_SEED."""
    folder = output / "testset"
    if (folder / "done").is_file():
        return folder
    shutil.rmtree(folder, ignore_errors=True)  # an interrupted write starts over
    sources = _held_out(clean_dir)
    _link_all(sources, folder / "sources")
    write_dataset(folder, len(sources), TEST_SEED, clean_dir=str(folder / "sources"),
                  crop_size=CROP)
    (folder / "done").touch()
    return folder


def real_old_photos(output: Path, old_dir: str) -> Path:
    """output/old_photos/photos: links to the held-out real old photos."""
    folder = output / "old_photos" / "photos"
    _link_all(_held_out(old_dir), folder)
    return folder


def detect_masks(detector, photos: Path, masks: Path) -> Path:
    """masks/<stem>.png (white = defect) for every photo of `photos` not done yet."""
    masks.mkdir(parents=True, exist_ok=True)
    for path in sorted(photos.iterdir()):
        target = masks / f"{path.stem}.png"
        if not target.exists():  # read as the restoration reads it (EXIF orientation applied)
            mask = detector(read_photo(path, MAX_PIXELS).rgb)
            write_png_atomically(target, mask.astype(np.uint8) * 255)
    return masks
