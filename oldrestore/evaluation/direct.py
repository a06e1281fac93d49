"""How well the direct baseline (pix2pix stage) restores held-out photos: PSNR, SSIM and LPIPS
(AlexNet) of the restored photo against the clean one, next to the degraded input's, and a grid;
the report has the layout of the mapping's (restoration.py), for side-by-side studies.

Held-out clean photos are centre-cropped to squares of `size` and degraded exactly as in training
(pairs.degraded_pairs), with a fixed key per batch.
"""

from pathlib import Path

import jax
import numpy as np

from oldrestore import runs
from oldrestore.evaluation.image_metrics import psnr, ssim
from oldrestore.evaluation.lpips import load_lpips_params, lpips
from oldrestore.evaluation.reconstruction import held_out_photos, pad_batch
from oldrestore.outputs import image_grid, write_json_atomically, write_png_atomically
from oldrestore.stages import EvaluationOptions, pix2pix_networks
from oldrestore.train.pairs import degraded_pairs

SCORED = ("input", "restored")
METRICS = ("psnr", "ssim", "lpips")


def evaluate(workdir, options: EvaluationOptions, batch_size: int = 4) -> dict:
    """Scores the run in `workdir`; writes `eval/<split>.json` and `eval/<split>_restored.png`."""
    split, size = options.split, options.size
    trained = runs.load(workdir)
    config = trained.config
    network = pix2pix_networks(config)["generator"]
    if size % network.multiple:
        raise ValueError(f"size={size}: must be a multiple of {network.multiple} "
                         f"(the network's stride)")
    lpips_params = load_lpips_params()

    @jax.jit  # weights are arguments: as constants they would slow compilation
    def restore(variables, lpips_params, images, key):
        x, y = degraded_pairs(config, {"image": images}, key)
        outputs = {"input": x, "restored": network.apply(variables, x)}
        scores = {name: (psnr((image + 1.0) / 2.0, (y + 1.0) / 2.0),
                         ssim((image + 1.0) / 2.0, (y + 1.0) / 2.0),
                         lpips(image, y, lpips_params)) for name, image in outputs.items()}
        return dict(outputs, clean=y), scores

    variables = jax.device_put(trained.variables["generator"])
    photos = held_out_photos(config, config.data.clean_dir, split, size, options.max_images)
    per_image = {name: [] for name in SCORED}  # per batch: (psnr, ssim, lpips) arrays
    rows = {"input": [], "restored": [], "clean": []}
    for start in range(0, len(photos), batch_size):
        chunk = photos[start:start + batch_size]
        images, scores = jax.device_get(restore(
            variables, lpips_params, pad_batch(chunk, batch_size),
            jax.random.fold_in(jax.random.key(1234), start)))
        for name, values in scores.items():
            per_image[name].append(np.stack(values)[:, :len(chunk)])
        for name in rows:
            rows[name].append(images[name][:len(chunk)])

    summary = {"images": len(photos)}
    for name, batches in per_image.items():
        means = np.concatenate(batches, axis=1).mean(axis=1)
        summary[name] = {metric: float(m) for metric, m in zip(METRICS, means, strict=True)}
    out_dir = Path(workdir) / "eval"
    out_dir.mkdir(exist_ok=True)
    grid_path = out_dir / f"{split}_restored.png"
    write_png_atomically(grid_path, image_grid({k: np.concatenate(v)[:8] for k, v in rows.items()}))
    report = {"split": split, "size": size, "stage": config.stage, "all": summary,
              "grid": str(grid_path)}
    write_json_atomically(out_dir / f"{split}.json", report)
    return report
