"""Every method the study compares, run on a folder of photos into an output folder (PNG, same
stems), each skipping what an earlier, interrupted call already wrote: the chain (quality or
scratch mode) with any arm's weights, the classical pipeline, the direct image-to-image
network."""

from pathlib import Path

import numpy as np

from oldrestore.inference import pipeline
from oldrestore.inference.photos import read_photo
from oldrestore.inference.restore import Restorer
from oldrestore.inference.weights import load_chain
from oldrestore.outputs import write_png_atomically
from oldrestore.study.classical import classical_restore
from oldrestore.study.photos import MAX_PIXELS


def _to_do(photos: Path, output: Path) -> list[Path]:
    output.mkdir(parents=True, exist_ok=True)
    return [p for p in pipeline.input_photos(photos) if not (output / f"{p.stem}.png").exists()]


def run_chain(weights, photos: Path, output: Path, masks: Path | None) -> Path:
    """The chain in `weights` (a Workdirs): scratch mode with `masks` (white = defect), quality
    mode without."""
    todo = _to_do(photos, output)
    if todo:
        restorer = Restorer(*load_chain(weights, scratch=masks is not None))
        options = pipeline.Options(masks_dir=masks)
        report = pipeline.restore_all(todo, output, restorer, None, None, options,
                                      weights=str(weights.path), show_progress=False)
        failed = [e["status"] for e in report["inputs"] if e["status"] != "ok"]
        if failed:
            raise RuntimeError(f"{output}: {len(failed)} photos failed: {failed[0]}")
    return output


def run_classical(photos: Path, output: Path, masks: Path) -> Path:
    for path in _to_do(photos, output):
        photo = read_photo(path, MAX_PIXELS)
        rgb = np.round(photo.rgb * 255.0).astype(np.uint8)
        mask = pipeline.read_user_mask(masks, path, photo.size)
        write_png_atomically(output / f"{path.stem}.png", classical_restore(rgb, mask))
    return output
