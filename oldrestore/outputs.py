"""Writing results: image grids, and files written atomically (a temporary file renamed into
place), so that a killed process never leaves a half-written output. Light to import."""

import json
import os
from pathlib import Path

import numpy as np
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
        tiles.append(list(images))
    return grid_image(tiles, gap=2)


def grid_image(rows: list[list[np.ndarray]], gap: int = 4) -> np.ndarray:
    """The uint8 H x W x 3 `rows` of images tiled on white with `gap` pixels between them."""
    height, width = rows[0][0].shape[:2]
    columns = max(len(row) for row in rows)
    grid = np.full(
        (len(rows) * (height + gap) - gap, columns * (width + gap) - gap, 3), 255, np.uint8)
    for r, row in enumerate(rows):
        for c, image in enumerate(row):
            top, left = r * (height + gap), c * (width + gap)
            grid[top:top + height, left:left + width] = image
    return grid


def write_png_atomically(path: Path, image: np.ndarray) -> None:
    tmp = path.with_name(path.name + ".tmp")
    Image.fromarray(image).save(tmp, format="PNG")
    os.replace(tmp, path)


def write_json_atomically(path: Path, value) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value, indent=2) + "\n")
    os.replace(tmp, path)


def write_bytes_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
