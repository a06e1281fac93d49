"""How well a trained stage-2 mapping restores held-out photos: PSNR, SSIM and LPIPS (AlexNet) of
the restored photo against the clean one, next to the degraded input's and to VAE2's own
reconstruction of the clean photo (the ceiling the frozen decoder allows), and a grid.

Held-out clean photos are centre-cropped to squares of `size` and degraded exactly as in training
(mapping_stage.mapping_inputs), with a fixed key per batch: for the scratch mapping, holes painted
white on every image after the first `no_hole_fraction` of each batch.
"""

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from oldrestore import runs
from oldrestore.data.real_masks import load_masks
from oldrestore.evaluation.image_metrics import psnr, ssim
from oldrestore.evaluation.lpips import load_lpips_params, lpips
from oldrestore.evaluation.reconstruction import held_out_photos, pad_batch
from oldrestore.inference.restore import ChainModules, translate
from oldrestore.models.vae import VAE
from oldrestore.outputs import image_grid, write_json_atomically, write_png_atomically
from oldrestore.stages import EvaluationOptions, mapping_networks
from oldrestore.train import mapping_stage
from oldrestore.train.frozen_vaes import load_frozen_vaes

SCORED = ("input", "restored", "vae2_reconstruction")


METRICS = ("psnr", "ssim", "lpips")


def _scores(outputs: dict, clean, lpips_params) -> dict:
    """{name: (psnr, ssim, lpips) per image} of each output against the clean photo."""
    clean01 = (clean + 1.0) / 2.0
    scores = {}
    for name in SCORED:
        image = jnp.clip(outputs[name], -1.0, 1.0)
        image01 = (image + 1.0) / 2.0
        scores[name] = (psnr(image01, clean01), ssim(image01, clean01),
                        lpips(image, clean, lpips_params))
    return scores


def _summary(per_image: dict, keep: np.ndarray) -> dict:
    summary = {"images": int(keep.sum())}
    for name, values in per_image.items():
        summary[name] = {metric: float(v[keep].mean())
                         for metric, v in zip(METRICS, values, strict=True)}
    return summary


def evaluate(workdir, options: EvaluationOptions, batch_size: int = 4) -> dict:
    """Scores the run in `workdir`; writes `eval/<split>.json` and `eval/<split>_restored.png`."""
    split, size, max_images = options.split, options.size, options.max_images
    trained = runs.load(workdir)
    config = trained.config
    frozen = load_frozen_vaes(config, trained.frozen_steps)  # the VAEs it was trained with
    modules = ChainModules(vae1=frozen.modules["vae1"], vae2=frozen.modules["vae2"],
                           mapping=mapping_networks(config)["mapping"])
    params = dict(frozen.params, mapping=trained.variables["mapping"]["params"])
    lpips_params = load_lpips_params()
    masks = None
    if mapping_stage.is_scratch(config) and config.data.masks_dir:
        masks = load_masks(config.data.masks_dir, size)

    @jax.jit  # weights are arguments: as constants they would slow compilation
    def restore(params, lpips_params, images, key):
        x, y, holes = mapping_stage.mapping_inputs(config, {"image": images}, key, masks)
        clean_latent = frozen.encode(params, "vae2", y)
        outputs = {
            "input": x,
            "restored": translate(modules, params, x, holes)[1],
            "vae2_reconstruction": modules.vae2.apply({"params": params["vae2"]}, clean_latent,
                                                      method=VAE.decode),
        }
        return outputs, y, jnp.any(holes > 0, axis=(1, 2, 3)), _scores(outputs, y, lpips_params)

    photos = held_out_photos(config, config.data.clean_dir, split, size, max_images)
    per_image = {name: tuple([] for _ in METRICS) for name in SCORED}
    with_holes, rows = [], {"input": [], "restored": [], "clean": []}
    for start in range(0, len(photos), batch_size):
        chunk = photos[start:start + batch_size]
        outputs, clean, holes, scores = jax.device_get(restore(
            params, lpips_params, pad_batch(chunk, batch_size),
            jax.random.fold_in(jax.random.key(1234), start)))
        for name, values in scores.items():
            for collected, value in zip(per_image[name], values, strict=True):
                collected.extend(value[:len(chunk)])
        with_holes.extend(holes[:len(chunk)])
        for name, images in (("input", outputs["input"]), ("restored", outputs["restored"]),
                             ("clean", clean)):
            rows[name].append(images[:len(chunk)])
    per_image = {name: tuple(map(np.array, values)) for name, values in per_image.items()}
    with_holes = np.array(with_holes, bool)

    report = {"split": split, "size": size, "stage": config.stage,
              "all": _summary(per_image, np.ones_like(with_holes))}
    if with_holes.any():
        report["with_holes"] = _summary(per_image, with_holes)
    out_dir = Path(workdir) / "eval"
    out_dir.mkdir(exist_ok=True)
    grid_path = out_dir / f"{split}_restored.png"
    write_png_atomically(grid_path, image_grid({k: np.concatenate(v)[:8] for k, v in rows.items()}))
    report["grid"] = str(grid_path)
    write_json_atomically(out_dir / f"{split}.json", report)
    return report
