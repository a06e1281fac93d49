"""Scores for folders of photos, whatever made them (launch/evaluate.py --restored=DIR ...).

* `restored` alone: no-reference scores of each photo (NIQE, BRISQUE; lower is better).
* with `reference`: the same scores of the reference photos, FD-VGG16 between the two folders
  (distributions: names need not match), and for photos with the same file name (stem) in both
  and the same size, PSNR, SSIM and LPIPS (AlexNet and VGG) against the reference.
* with `predicted_masks` (a detector's outputs, grey levels read as scratch probabilities) and
  `true_masks` (ground truth), both named as the photos: pixel precision, recall, F1, IoU and
  ROC-AUC over all pixels; predicted masks are drawn over the photos on the page.

Unreadable files are named in one line and skipped. Writes to `output`: summary.json,
per_image.csv and index.html (thumbnails, worst first). Images per second are measured for each
metric (LPIPS, PSNR and SSIM compile once per image size; that time is included).
"""

import csv
import math
import time
from collections import defaultdict
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from oldrestore.data.images import ImageReadError, list_images, load_rgb
from oldrestore.evaluation.brisque import brisque
from oldrestore.evaluation.fd_vgg16 import resize_for_vgg, vgg16_features
from oldrestore.evaluation.frechet import frechet_distance
from oldrestore.evaluation.image_metrics import psnr, ssim
from oldrestore.evaluation.lpips import load_lpips_params, lpips
from oldrestore.evaluation.mask_metrics import MaskMetrics, overlay
from oldrestore.evaluation.niqe import niqe
from oldrestore.evaluation.report_page import write_page, write_thumbnail
from oldrestore.outputs import write_json_atomically

NO_REFERENCE = {"niqe": niqe, "brisque": brisque}
_lpips = jax.jit(lpips, static_argnames="net")


def _lpips_of(net: str):
    return lambda a, b: _lpips(2 * a - 1, 2 * b - 1, load_lpips_params(net), net)


# [1, H, W, 3] images in [0, 1] -> [1] scores.
FULL_REFERENCE = {"psnr": jax.jit(psnr), "ssim": jax.jit(ssim), "lpips_alex": _lpips_of("alexnet"),
                  "lpips_vgg": _lpips_of("vgg16")}
HIGHER_IS_BETTER = {"psnr", "ssim"}


class Throughput:
    """Seconds spent and images scored per metric."""

    def __init__(self):
        self.seconds, self.images = defaultdict(float), defaultdict(int)

    def timed(self, metric: str, fn, *args, count: int = 1):
        start = time.perf_counter()
        value = fn(*args)
        self.seconds[metric] += time.perf_counter() - start
        self.images[metric] += count
        return value

    def images_per_second(self) -> dict[str, float]:
        return {m: self.images[m] / self.seconds[m] for m in self.seconds if self.seconds[m] > 0}


def _read(path: Path) -> np.ndarray | None:
    try:
        return load_rgb(path)
    except ImageReadError as err:
        print(f"skipping {err}")
        return None


def _by_stem(folder) -> dict[str, Path]:
    return {path.stem: path for path in list_images(folder)} if folder else {}


def _no_reference_scores(name: str, image: np.ndarray, throughput: Throughput) -> dict:
    scores = {}
    for metric, fn in NO_REFERENCE.items():
        try:
            scores[metric] = throughput.timed(metric, fn, image)
        except ValueError as err:  # e.g. too small for NIQE's patches
            print(f"{name}: no {metric} ({err})")
            scores[metric] = math.nan
    return scores


def _paired_scores(image: np.ndarray, reference: np.ndarray, throughput: Throughput) -> dict:
    a = jnp.asarray(image[None], jnp.float32) / 255.0
    b = jnp.asarray(reference[None], jnp.float32) / 255.0
    return {metric: float(throughput.timed(metric, lambda f=fn: np.asarray(f(a, b))[0]))
            for metric, fn in FULL_REFERENCE.items()}


def _add_pair(row, thumbnails, path, image, reference_path, output, throughput) -> None:
    """Full-reference scores and thumbnail of a photo whose reference has its size."""
    reference = _read(reference_path)
    if reference is None:
        return
    if reference.shape != image.shape:
        print(f"{path.name}: reference is {reference.shape[1]}x{reference.shape[0]}, photo "
              f"{image.shape[1]}x{image.shape[0]}; not compared")
        return
    row.update(_paired_scores(image, reference, throughput))
    thumbnails["reference"] = f"thumbnails/{path.stem}.reference.jpg"
    write_thumbnail(reference, output / thumbnails["reference"])


def _add_mask(row, thumbnails, path, image, predicted_path, truth_path, output,
              masks: MaskMetrics) -> bool:
    """Scratch fraction and overlay of a predicted mask; scores it when the truth is given.
    Returns whether it was scored."""
    predicted = _mask(predicted_path)
    if predicted is None:
        return False
    if predicted.shape != image.shape[:2]:
        print(f"{path.name}: predicted mask has another size; not used")
        return False
    row["scratch_fraction"] = float(np.mean(predicted >= 0.5))
    thumbnails["mask"] = f"thumbnails/{path.stem}.mask.jpg"
    write_thumbnail(overlay(image, predicted >= 0.5), output / thumbnails["mask"])
    truth = _mask(truth_path)
    if truth is None or truth.shape != predicted.shape:
        return False
    masks.update(predicted >= 0.5, truth >= 0.5, predicted)
    return True


def _mask(path: Path | None) -> np.ndarray | None:
    """[H, W] values in [0, 1] of a grey mask image, or None when absent or unreadable."""
    image = _read(path) if path is not None else None
    return None if image is None else image[..., 0] / 255.0


def _mean(rows: list[dict], metric: str) -> float:
    values = [row[metric] for row in rows if not math.isnan(row.get(metric, math.nan))]
    return float(np.mean(values)) if values else math.nan


def _score_reference_folder(reference_paths, throughput, rows):
    """NIQE/BRISQUE rows of the reference photos; returns their VGG-sized copies."""
    for_vgg = []
    for name, path in reference_paths.items():
        image = _read(path)
        if image is not None:
            rows.append({"folder": "reference", "name": name,
                         **_no_reference_scores(path.name, image, throughput)})
            for_vgg.append(resize_for_vgg(image))
    return for_vgg


def _fd_vgg16(a: list, b: list, throughput: Throughput) -> float:
    if min(len(a), len(b)) < 2:
        print("no fd_vgg16: it needs at least two readable photos in each folder")
        return math.nan
    features = [throughput.timed("fd_vgg16", vgg16_features, np.stack(x), count=len(x))
                for x in (a, b)]
    return frechet_distance(*features)


def evaluate(restored, output, reference=None, predicted_masks=None, true_masks=None) -> dict:
    output = Path(output)
    (output / "thumbnails").mkdir(parents=True, exist_ok=True)
    reference_paths, predicted_paths = _by_stem(reference), _by_stem(predicted_masks)
    truth_paths = _by_stem(true_masks)
    throughput, masks = Throughput(), MaskMetrics()
    rows, page_rows, for_vgg, skipped, masks_scored = [], [], [], [], 0
    for path in list_images(restored):
        image = _read(path)
        if image is None:
            skipped.append(path.name)
            continue
        row = {"folder": "restored", "name": path.stem,
               **_no_reference_scores(path.name, image, throughput)}
        thumbnails = {"restored": f"thumbnails/{path.stem}.jpg"}
        write_thumbnail(image, output / thumbnails["restored"])
        for_vgg.append(resize_for_vgg(image))
        if path.stem in reference_paths:
            _add_pair(row, thumbnails, path, image, reference_paths[path.stem], output,
                      throughput)
        if path.stem in predicted_paths:
            masks_scored += _add_mask(row, thumbnails, path, image, predicted_paths[path.stem],
                                      truth_paths.get(path.stem), output, masks)
        rows.append(row)
        page_rows.append({**row, "thumbnails": thumbnails})

    restored_rows = list(rows)
    report = {"restored": str(restored), "images": len(restored_rows), "skipped": skipped,
              "restored_scores": {m: _mean(restored_rows, m) for m in NO_REFERENCE}}
    paired_rows = [row for row in restored_rows if "psnr" in row]
    if reference is not None:
        reference_vgg = _score_reference_folder(reference_paths, throughput, rows)
        reference_rows = rows[len(restored_rows):]
        report.update(reference=str(reference), reference_images=len(reference_rows),
                      reference_scores={m: _mean(reference_rows, m) for m in NO_REFERENCE},
                      fd_vgg16=_fd_vgg16(for_vgg, reference_vgg, throughput),
                      paired_images=len(paired_rows),
                      paired_scores={m: _mean(paired_rows, m) for m in FULL_REFERENCE})
    if masks_scored:
        report["masks"] = {"images": masks_scored, **masks.result()}
    report["images_per_second"] = throughput.images_per_second()

    columns = list(dict.fromkeys(k for row in rows for k in row if k not in ("folder", "name")))
    with open(output / "per_image.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, ["folder", "name", *columns], restval="")
        writer.writeheader()
        writer.writerows(rows)
    sort_by = "lpips_alex" if paired_rows else "brisque"
    write_page(output / "index.html", f"Scores of {restored}", page_rows, columns, sort_by,
               worst_is_high=sort_by not in HIGHER_IS_BETTER,
               note="NIQE, BRISQUE, LPIPS: lower is better; PSNR, SSIM: higher is better.")
    write_json_atomically(output / "summary.json", report)
    return report


def summary_table(report: dict) -> str:
    """The report as a plain-text table: one line per score."""
    lines = [f"{'score':<28}{'value':>12}"]

    def add(label, value):
        lines.append(f"{label:<28}{value:>12.4f}" if isinstance(value, float)
                     else f"{label:<28}{value!s:>12}")

    add("images (restored)", report["images"])
    for metric, value in report["restored_scores"].items():
        add(f"{metric} (restored)", value)
    if "reference" in report:
        add("images (reference)", report["reference_images"])
        for metric, value in report["reference_scores"].items():
            add(f"{metric} (reference)", value)
        add("fd_vgg16", report["fd_vgg16"])
        add("pairs (same name and size)", report["paired_images"])
        if report["paired_images"]:
            for metric, value in report["paired_scores"].items():
                add(metric, value)
    for metric, value in report.get("masks", {}).items():
        add(f"mask {metric}", value)
    for metric, value in report["images_per_second"].items():
        add(f"{metric} images/s", value)
    return "\n".join(lines)
