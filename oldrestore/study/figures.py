"""The study's pictures: side-by-side grids of the same photos through every method, and each
stage's training curves."""

import json
from pathlib import Path

import matplotlib
import numpy as np
from PIL import Image

from oldrestore.outputs import grid_image, write_png_atomically

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

CELL = 192  # pixels: the longer side of one photo in a grid
GAP = 4


def _cell(path: Path) -> np.ndarray:
    image = Image.open(path).convert("RGB")
    scale = CELL / max(image.size)
    image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                         Image.Resampling.BICUBIC)
    cell = np.full((CELL, CELL, 3), 255, np.uint8)
    cell[:image.height, :image.width] = np.asarray(image)
    return cell


def side_by_side(columns: dict[str, Path], stems: list[str], target: Path) -> Path:
    """One row per stem, one column per method folder (`columns`: title -> folder of
    <stem>.png), with the titles in a header row. A missing file leaves its cell white."""
    def cell(folder, stem):
        found = sorted(Path(folder).glob(f"{stem}.*"))
        return _cell(found[0]) if found else np.full((CELL, CELL, 3), 255, np.uint8)

    width = len(columns) * (CELL + GAP) - GAP
    rows = [[cell(folder, stem) for folder in columns.values()] for stem in stems]
    parts = [_titles(list(columns), width)] + ([grid_image(rows, gap=GAP)] if rows else [])
    write_png_atomically(target, np.concatenate(parts, 0))
    return target


def _titles(titles: list[str], width: int) -> np.ndarray:
    fig = plt.figure(figsize=(width / 100, 0.3), dpi=100)
    for i, title in enumerate(titles):
        fig.text((i * (CELL + GAP) + CELL / 2) / width, 0.5, title, ha="center", va="center",
                 fontsize=9)
    fig.canvas.draw()
    header = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    return header[:, :width]


def training_curves(workdir: Path, target: Path) -> Path:
    """Every scalar of workdir/metrics.jsonl against the step, one small panel each."""
    records = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    names = sorted({k for r in records for k in r if k != "step"})
    cols = min(4, len(names))
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.2 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        points = [(r["step"], r[name]) for r in records if name in r]
        ax.plot(*zip(*points, strict=True), lw=1)
        ax.set_title(name, fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes.flat[len(names):]:
        ax.axis("off")
    fig.suptitle(workdir.name, fontsize=9)
    fig.tight_layout()
    tmp = target.with_name(target.name + ".tmp.png")
    fig.savefig(tmp, dpi=80)
    plt.close(fig)
    tmp.replace(target)
    return target
