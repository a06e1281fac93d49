"""What a run leaves in its workdir besides checkpoints: metrics.jsonl, TensorBoard events,
image grids and params.json. Only process 0 writes."""

import json
import os
from pathlib import Path

import jax
import numpy as np
from clu import metric_writers

from oldrestore.outputs import image_grid, write_json_atomically, write_png_atomically


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
