"""How well a trained scratch detector finds defects: pixel precision, recall, F1, IoU and ROC-AUC
on held-out synthetic photos (exact masks), and mask overlays on real scratched photos.

Held-out photos are the test split of the run's `data.clean_dir`, centre-cropped to the training
crop, degraded exactly as in training (fixed key) and scored at the run's threshold.
"""

from pathlib import Path

import jax
import numpy as np

from oldrestore import runs
from oldrestore.data.folder_dataset import prepare
from oldrestore.data.images import ImageReadError, load_rgb
from oldrestore.data.real_masks import load_masks
from oldrestore.evaluation.mask_metrics import MaskMetrics, overlay
from oldrestore.evaluation.reconstruction import center_square, pad_batch
from oldrestore.inference.scratch_detection import detect_scratches
from oldrestore.outputs import write_json_atomically, write_png_atomically
from oldrestore.stages import EvaluationOptions
from oldrestore.train.detector_stage import build_network, detector_inputs


def synthetic_scores(config, variables, split: str, max_images: int | None, batch_size: int = 4):
    crop = config.data.crop_size
    source = prepare(config.data.clean_dir, config.data.tfds_dir,
                     config.data.test_percent).source(split)
    count = len(source) if max_images is None else min(len(source), max_images)
    masks = load_masks(config.data.masks_dir, crop) if config.data.masks_dir else None
    net = build_network(config)

    @jax.jit  # weights are an argument: as constants they would slow compilation
    def predict(variables, images, key):
        x, target = detector_inputs(config, {"image": images}, key, masks)
        return jax.nn.sigmoid(net.apply(variables, x)), target

    metrics = MaskMetrics()
    for start in range(0, count, batch_size):
        images = np.stack([center_square(source[i]["image"], crop)
                           for i in range(start, min(start + batch_size, count))])
        probabilities, target = jax.device_get(predict(variables, pad_batch(images, batch_size),
                                                       jax.random.key(start)))
        for p, t in zip(probabilities[:len(images)], target[:len(images)], strict=True):
            metrics.update(p >= config.threshold, t > 0.5, p)
    return {"images": count, **metrics.result()}


def real_overlays(config, variables, photos, out_dir: Path) -> list[str]:
    """Detector masks drawn in red over each photo (at the reference's working size of about 256
    on the short side); unreadable photos are skipped and named."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    params, batch_stats = jax.device_put((variables["params"], variables["batch_stats"]))
    for path in photos:
        try:
            image = load_rgb(path)
        except ImageReadError as err:
            print(f"skipping {err}")
            continue
        _, mask = detect_scratches(params, batch_stats, image, threshold=config.threshold)
        target = out_dir / f"{Path(path).stem}.png"
        write_png_atomically(target, np.concatenate([image, overlay(image, mask)], axis=1))
        written.append(str(target))
    return written


def evaluate(workdir, options: EvaluationOptions) -> dict:
    """Scores the detector in `workdir`; writes `eval/<split>.json` and `eval/overlays/`."""
    trained = runs.load(workdir)
    config, variables = trained.config, trained.variables["unet"]
    out_dir = Path(workdir) / "eval"
    out_dir.mkdir(exist_ok=True)
    split = options.split
    report = {"split": split, "threshold": config.threshold,
              "synthetic": synthetic_scores(config, variables, split, options.max_images)}
    if options.real_photos:
        report["overlays"] = real_overlays(config, variables, options.real_photos,
                                           out_dir / "overlays")
    write_json_atomically(out_dir / f"{split}.json", report)
    return report


