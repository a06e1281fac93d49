"""Restoring a photo or a folder of photos into an output folder: the work behind
launch/restore.py.

For each photo: read it (any mode, size and orientation), find its scratches (the detector, or
the user's mask with the same stem, white = defect) in scratch mode, restore it, write it as PNG
named after it, atomically. A photo that fails is reported in one line and the batch goes on;
`report.json` (rewritten after every photo) lists each input with its status, time and output.
"""

import dataclasses
import sys
import time
from pathlib import Path

import jax
import numpy as np
from PIL import Image, ImageOps
from tqdm import tqdm

from oldrestore.data.images import IMAGE_SUFFIXES
from oldrestore.evaluation.mask_metrics import overlay
from oldrestore.inference.faces import FaceEnhancer, FaceResult, mark_faces
from oldrestore.inference.photos import Photo, PhotoError, encode_like, read_photo
from oldrestore.inference.restore import Restorer
from oldrestore.inference.scratch_detection import detect_scratches
from oldrestore.outputs import (
    write_bytes_atomically,
    write_json_atomically,
    write_png_atomically,
)
from oldrestore.runs import Trained


@dataclasses.dataclass(frozen=True)
class Options:
    masks_dir: Path | None = None  # the user's masks instead of the detector (scratch mode)
    save_intermediate: bool = False  # mask, mask overlay and before/after pair per photo
    max_pixels: int = 40_000_000
    detection_mode: str = "working"  # see scratch_detection.py
    mask_dilation: int = 0


class InputError(ValueError):
    """A problem with the command's inputs as a whole (not one photo): one line."""


def input_photos(path) -> list[Path]:
    """PATH is a photo (any file: it is tried) or a folder (its image files, sorted)."""
    path = Path(path).expanduser()
    if path.is_dir():
        photos = sorted(p for p in path.iterdir()
                        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                        and not p.name.startswith("."))
        if not photos:
            raise InputError(f"{path}: no photos in this folder ({', '.join(IMAGE_SUFFIXES)})")
        return photos
    if path.is_file():
        return [path]
    raise InputError(f"{path}: no such file or folder")


def output_names(photos: list[Path]) -> dict[Path, str]:
    """<stem>.png for each photo; photos sharing a stem (a.jpg, a.png) keep their suffix."""
    stems = [p.stem for p in photos]
    return {p: f"{p.stem}.png" if stems.count(p.stem) == 1 else f"{p.stem}_{p.suffix[1:]}.png"
            for p in photos}


def check_output_folder(input_path, output: Path) -> None:
    input_path, output = Path(input_path).expanduser(), output.expanduser()
    if input_path.is_dir() and output.resolve() == input_path.resolve():
        raise InputError(f"{output}: is the input folder; choose another output folder "
                         "(inputs are never overwritten)")
    if output.exists() and not output.is_dir():
        raise InputError(f"{output}: exists and is not a folder")


def read_user_mask(masks_dir: Path, photo_path: Path, size: tuple[int, int]) -> np.ndarray:
    """The mask named like the photo (any image suffix) as H x W bool, white = defect."""
    candidates = [p for p in sorted(masks_dir.glob(f"{photo_path.stem}.*"))
                  if p.suffix.lower() in IMAGE_SUFFIXES]
    if not candidates:
        raise PhotoError(f"{photo_path}: no mask named {photo_path.stem}.* in {masks_dir}")
    try:
        with Image.open(candidates[0]) as image:
            mask = np.asarray(ImageOps.exif_transpose(image).convert("L")) > 127
    except (OSError, ValueError, SyntaxError) as error:
        raise PhotoError(f"{candidates[0]}: cannot read mask ({error})") from None
    if mask.shape != size:
        raise PhotoError(f"{candidates[0]}: mask is {mask.shape[1]}x{mask.shape[0]}, the photo "
                         f"is {size[1]}x{size[0]}")
    return mask


class Detector:
    def __init__(self, trained: Trained, options: Options):
        unet = trained.variables["unet"]
        self.params, self.batch_stats = jax.device_put((unet["params"], unet["batch_stats"]))
        self.threshold = trained.config.threshold
        self.options = options

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        _, mask = detect_scratches(self.params, self.batch_stats, to_uint8(rgb),
                                   mode=self.options.detection_mode, threshold=self.threshold,
                                   dilation=self.options.mask_dilation)
        return mask


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    return np.round(np.clip(rgb, 0.0, 1.0) * 255.0).astype(np.uint8)


def _write_intermediate(folder: Path, stem: str, photo: Photo, restored, mask,
                        faces: FaceResult | None) -> None:
    folder.mkdir(exist_ok=True)
    before, after = to_uint8(photo.rgb), to_uint8(restored)
    write_png_atomically(folder / f"{stem}_before_after.png", np.concatenate([before, after], 1))
    if mask is not None:
        write_png_atomically(folder / f"{stem}_mask.png", mask.astype(np.uint8) * 255)
        write_png_atomically(folder / f"{stem}_overlay.png", overlay(before, mask))
    if faces is not None and faces.boxes:
        write_png_atomically(folder / f"{stem}_faces.png",
                             mark_faces(faces.photo, faces.boxes, faces.landmarks))
        pairs = [np.concatenate([a, e], 0) for a, e in zip(faces.aligned, faces.enhanced,
                                                              strict=True)]
        write_png_atomically(folder / f"{stem}_faces_before_after.png", np.concatenate(pairs, 1))


def restore_photo(path: Path, target: Path, restorer: Restorer, detector: Detector | None,
                  faces: FaceEnhancer | None, options: Options) -> dict:
    """Restores one photo into `target`; returns its report entry (raises PhotoError)."""
    photo = read_photo(path, options.max_pixels)
    mask = None
    if restorer.scratch:
        mask = (read_user_mask(options.masks_dir, path, photo.size) if options.masks_dir
                else detector(photo.rgb))
    restored = restorer(photo.rgb, mask)
    entry, notes = {"size": [photo.size[1], photo.size[0]], "mode": photo.mode}, []
    found = None
    if faces is not None:
        found = faces(to_uint8(restored))
        restored = found.photo.astype(np.float32) / 255.0
        entry["faces"] = len(found.boxes)
        if not found.boxes:
            notes.append("no faces found: the face stage left the photo as it was")
    data, note = encode_like(photo, restored)
    write_bytes_atomically(target, data)
    if options.save_intermediate:
        _write_intermediate(target.parent / "intermediate", target.stem, photo, restored, mask,
                            found)
    if mask is not None:
        entry["defect_share"] = float(mask.mean())
    notes += [note] if note else []
    if notes:
        entry["note"] = "; ".join(notes)
    return entry


def restore_all(inputs: list[Path], output: Path, restorer: Restorer, detector: Detector | None,
                faces: FaceEnhancer | None, options: Options, weights: str,
                show_progress: bool = True) -> dict:
    """Restores every input into `output`; returns the report (also written as report.json)."""
    output.mkdir(parents=True, exist_ok=True)
    names = output_names(inputs)
    entries = []
    report = {"weights": weights, "mode": "scratch" if restorer.scratch else "quality",
              "faces": faces is not None, "inputs": entries}
    bar = tqdm(inputs, desc="restoring", unit="photo", disable=not show_progress,
               dynamic_ncols=True)
    for path in bar:
        target = output / names[path]
        entry = {"input": str(path), "output": None, "status": "ok"}
        started = time.perf_counter()
        try:
            if target.resolve() == path.resolve():
                raise PhotoError(f"{path}: its output would overwrite it; choose another "
                                 "output folder")
            entry.update(restore_photo(path, target, restorer, detector, faces, options))
            entry["output"] = str(target)
        except PhotoError as error:
            entry["status"] = str(error)
        except Exception as error:  # noqa: BLE001 - one photo's failure never stops the batch
            entry["status"] = f"{path}: restoration failed ({type(error).__name__}: {error})"
        entry["seconds"] = round(time.perf_counter() - started, 3)
        entries.append(entry)
        if entry["status"] != "ok":
            tqdm.write(f"error: {entry['status']}", file=sys.stderr)
        bar.set_postfix_str(f"{path.name}: {entry['seconds']:.1f} s")
        report["failed"] = sum(e["status"] != "ok" for e in entries)
        write_json_atomically(output / "report.json", report)
    bar.close()
    return report
