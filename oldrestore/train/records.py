"""What a run leaves in its workdir besides checkpoints: metrics.jsonl, TensorBoard events,
image grids and params.json. Only process 0 writes."""

import json
import os
from pathlib import Path

import jax
import numpy as np
from clu import metric_writers
from PIL import Image


def to_uint8(images) -> np.ndarray:
    """[-1, 1] float images -> uint8."""
    images = np.asarray(images, dtype=np.float32)
    return np.clip(np.round((images + 1.0) * 127.5), 0, 255).astype(np.uint8)


def image_grid(rows: dict[str, np.ndarray], max_columns: int = 8) -> np.ndarray:
    """One row per entry (e.g. input / reconstruction), one column per example, 2-px gutters.

    Each entry is [B, H, W, C] in [-1, 1] with C = 1 or 3.
    """
    tiles = []
    for images in rows.values():
        images = to_uint8(images[:max_columns])
        if images.shape[-1] == 1:
            images = np.repeat(images, 3, axis=-1)
        tiles.append(images)
    n, h, w = tiles[0].shape[0], tiles[0].shape[1], tiles[0].shape[2]
    gutter = 2
    grid = np.full((len(tiles) * (h + gutter) - gutter, n * (w + gutter) - gutter, 3), 255,
                   np.uint8)
    for r, images in enumerate(tiles):
        for c in range(n):
            grid[r * (h + gutter):r * (h + gutter) + h, c * (w + gutter):c * (w + gutter) + w] = (
                images[c])
    return grid


def write_png_atomically(path: Path, image: np.ndarray) -> None:
    tmp = path.with_name(path.name + ".tmp")
    Image.fromarray(image).save(tmp, format="PNG")
    os.replace(tmp, path)


def write_json_atomically(path: Path, value) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value, indent=2) + "\n")
    os.replace(tmp, path)


class Records:
    def __init__(self, workdir):
        self.workdir = Path(workdir)
        self.is_writer = jax.process_index() == 0
        self._tb = metric_writers.create_default_writer(
            str(self.workdir / "tensorboard"), just_logging=not self.is_writer, asynchronous=False)
        self._metrics_path = self.workdir / "metrics.jsonl"

    def truncate_metrics_after(self, step: int) -> None:
        """Drop records past `step`, which a killed run may have written after its last
        checkpoint, so that a resumed run's metrics.jsonl reads as one uninterrupted run."""
        if not (self.is_writer and self._metrics_path.exists()):
            return
        kept = [line for line in self._metrics_path.read_text().splitlines()
                if line and json.loads(line)["step"] <= step]
        tmp = self._metrics_path.with_suffix(".jsonl.tmp")
        tmp.write_text("".join(line + "\n" for line in kept))
        os.replace(tmp, self._metrics_path)

    def scalars(self, step: int, values: dict[str, float]) -> None:
        if not self.is_writer:
            return
        record = {"step": step, **{k: float(v) for k, v in sorted(values.items())}}
        with self._metrics_path.open("a") as f:
            f.write(json.dumps(record) + "\n")
        self._tb.write_scalars(step, values)

    def images(self, step: int, rows: dict[str, np.ndarray]) -> Path | None:
        if not self.is_writer:
            return None
        grid = image_grid(rows)
        folder = self.workdir / "images"
        folder.mkdir(exist_ok=True)
        path = folder / f"step_{step:07d}.png"
        write_png_atomically(path, grid)
        self._tb.write_images(step, {"/".join(rows): grid[None]})
        return path

    def params(self, counts: dict[str, int]) -> None:
        if self.is_writer:
            write_json_atomically(self.workdir / "params.json", counts)

    def close(self) -> None:
        self._tb.flush()
        self._tb.close()
