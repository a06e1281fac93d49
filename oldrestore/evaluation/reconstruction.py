"""How well a trained stage-1 VAE reconstructs held-out photos: PSNR and SSIM, and a grid.

VAE2 is scored on the held-out clean photos; VAE1 on the held-out real old photos (domain R,
when the run had them) and on held-out clean photos degraded with a fixed key (domain X). Every
photo is centre-cropped to a square of `size` (enlarged first if smaller) so that one compiled
function serves them all.
"""

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from oldrestore import runs
from oldrestore.data import degrade
from oldrestore.data.folder_dataset import prepare
from oldrestore.data.pipeline import upscale_to_cover
from oldrestore.evaluation.image_metrics import psnr, ssim
from oldrestore.models.vae import VAE
from oldrestore.outputs import image_grid, write_json_atomically, write_png_atomically
from oldrestore.stages import EvaluationOptions, vae_networks


def center_square(image: np.ndarray, size: int) -> np.ndarray:
    image = upscale_to_cover(image, size)
    top, left = (image.shape[0] - size) // 2, (image.shape[1] - size) // 2
    return image[top:top + size, left:left + size]


def pad_batch(images: np.ndarray, batch_size: int) -> np.ndarray:
    """`images` (at most batch_size) filled up to batch_size with copies of the last one, so that
    one compiled function serves every batch; score only the first len(images)."""
    return np.concatenate([images, np.repeat(images[-1:], batch_size - len(images), 0)])


def held_out_photos(config, folder: str, split: str, size: int,
                    max_images: int | None) -> np.ndarray:
    """uint8 [N, size, size, 3]: the centre squares of `folder`'s photos in `split`."""
    source = prepare(folder, config.data.tfds_dir, config.data.test_percent).source(split)
    count = len(source) if max_images is None else min(len(source), max_images)
    return np.stack([center_square(source[i]["image"], size) for i in range(count)])


def _domains(config, split: str, size: int, max_images: int | None):
    """{domain name: uint8 [N, size, size, 3] inputs}."""
    def photos(folder):
        return held_out_photos(config, folder, split, size, max_images)

    clean = photos(config.data.clean_dir)
    if config.stage != "vae1":
        return {"clean": clean}
    images = jnp.asarray(clean, jnp.float32) / 255.0
    synthetic, _ = degrade.degrade_batch(jax.random.key(1234), images, config.degradation)
    domains = {"synthetic": np.asarray(jnp.round(synthetic * 255.0)).astype(np.uint8)}
    if config.data.old_dir:
        domains["old"] = photos(config.data.old_dir)
    return domains


def evaluate(workdir, options: EvaluationOptions, batch_size: int = 4) -> dict:
    """Scores the run in `workdir`; writes `eval/<split>.json` and a grid per domain there."""
    split, size, max_images = options.split, options.size, options.max_images
    trained = runs.load(workdir)
    config = trained.config
    vae, params = vae_networks(config)["vae"], trained.variables["vae"]["params"]

    @jax.jit  # weights are an argument: as constants they would slow compilation
    def reconstruct(params, images_uint8):
        x = images_uint8.astype(jnp.float32) / 127.5 - 1.0
        encoded = vae.apply({"params": params}, x, method=VAE.encode)
        recon = vae.apply({"params": params}, encoded.mean, method=VAE.decode)
        a, b = (x + 1.0) / 2.0, (jnp.clip(recon, -1.0, 1.0) + 1.0) / 2.0
        return recon, psnr(a, b), ssim(a, b)

    out_dir = Path(workdir) / "eval"
    out_dir.mkdir(exist_ok=True)
    report = {"split": split, "size": size}
    for domain, images in _domains(config, split, size, max_images).items():
        scores, recons = [], []
        for start in range(0, len(images), batch_size):
            chunk = images[start:start + batch_size]
            recon, p, s = jax.device_get(reconstruct(params, pad_batch(chunk, batch_size)))
            scores += list(zip(p[:len(chunk)], s[:len(chunk)], strict=True))
            recons.append(recon[:len(chunk)])
        p, s = np.array(scores).T
        report[domain] = {"images": len(images), "psnr": float(p.mean()), "ssim": float(s.mean())}
        rows = {"input": images[:8] / 127.5 - 1.0, "reconstruction": np.concatenate(recons)[:8]}
        grid_path = out_dir / f"{split}_{domain}.png"
        write_png_atomically(grid_path, image_grid(rows))
        report[domain]["grid"] = str(grid_path)
    write_json_atomically(out_dir / f"{split}.json", report)
    return report
