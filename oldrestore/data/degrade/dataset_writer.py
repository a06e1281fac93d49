"""Writing a synthetic dataset to disk: random crops of clean photos, their degraded versions and
defect masks as PNG files with matching names, reproducible byte for byte from a seed."""

import functools
import os
from pathlib import Path

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from PIL import Image
from tqdm import tqdm

from oldrestore.data.degrade.config import default_config
from oldrestore.data.degrade.crops import random_crop, upscale_to_cover
from oldrestore.data.degrade.pipeline import degrade_pair
from oldrestore.data.degrade.textures import load_textures
from oldrestore.data.images import list_images, load_images
from oldrestore.data.sources import EMBEDDED, photo_paths
from oldrestore.outputs import grid_image

FOLDERS = ("clean", "degraded", "mask")
GRID_SAMPLES = 6
_BATCH = 8  # examples degraded per compiled call (the last batch is padded, never recompiled)


def _to_uint8(image) -> np.ndarray:
    return np.round(np.clip(np.asarray(image), 0.0, 1.0) * 255.0).astype(np.uint8)


def save_png(array: np.ndarray, path: Path) -> None:
    """Writes `array` (H x W x 3, or H x W x 1 saved as grey) as a PNG atomically: a temporary
    file next to `path`, then renamed over it, so that a crash never leaves a broken file."""
    image = Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array)
    temporary = path.with_name(f".{path.name}.tmp")
    image.save(temporary, format="PNG")
    os.replace(temporary, path)


def _refuse_to_overwrite(inputs: list[Path], outputs: list[Path]) -> None:
    clashes = {p.resolve() for p in inputs} & {p.resolve() for p in outputs}
    if clashes:
        raise ValueError(f"refusing to overwrite input files: {sorted(map(str, clashes))}")


@functools.partial(jax.jit, static_argnames="cfg")
def _degrade_examples(keys, images, textures, cfg):
    """degrade_pair over a batch, one key per example; `cfg` frozen (hashable), so that calls with
    the same configuration and shapes reuse one compilation."""
    return jax.vmap(lambda key, image: degrade_pair(key, image, cfg, textures))(keys, images)


def _load_photos(paths: list[Path], size: tuple[int, int]) -> list[np.ndarray]:
    loaded, _ = load_images(paths)  # warns about, and skips, unreadable files
    if not loaded:
        raise FileNotFoundError(f"{paths[0].parent}: no readable photos")
    return [upscale_to_cover(image, size) for _, image in loaded]


def _degrade_samples(indices, photos, size, seed, textures, cfg):
    """(targets, degraded, masks) as uint8 arrays for the samples `indices`; each sample depends
    only on its index and the seed (its crop position and its key), not on the batching."""
    padded = indices + [indices[-1]] * (_BATCH - len(indices))
    crops = np.stack([
        random_crop(photos[i % len(photos)], size, np.random.default_rng([seed, i]))
        for i in padded])
    keys = jnp.stack([jax.random.fold_in(jax.random.key(seed), i) for i in padded])
    batch = _degrade_examples(keys, jnp.asarray(crops, jnp.float32) / 255.0, textures, cfg)
    return [_to_uint8(arrays)[:len(indices)] for arrays in batch]


def write_dataset(
    output, num: int, seed: int, clean_dir: str = EMBEDDED, crop_size: int = 256,
    textures_dir=None, grid_path=None, cfg=None,
) -> None:
    """Writes `num` samples to output/clean, output/degraded and output/mask (000000.png, ...).

    Sample i is a random crop (crop_size x crop_size) of photo i mod P of `clean_dir` (a folder
    or "embedded"; photos smaller than the crop are upscaled first, bicubic), degraded with
    `cfg` (default_config() if None; run as a loop over examples) and the key
    fold_in(key(seed), i). Unreadable photos are skipped with a warning that names them; input
    files are never overwritten. With `grid_path`, also writes a grid of the first samples:
    clean, degraded and mask rows.
    """
    if num < 1:
        raise ValueError(f"num must be at least 1, got {num}")
    cfg = default_config() if cfg is None else cfg.copy_and_resolve_references()
    cfg.loop_over_examples = True  # one device here: looping is the fastest way
    cfg = ml_collections.FrozenConfigDict(cfg)
    output = Path(output)
    size = (crop_size, crop_size)
    photo_files = photo_paths(str(clean_dir))
    texture_files = [] if textures_dir is None else list_images(textures_dir)
    names = [f"{i:06d}.png" for i in range(num)]
    targets = [output / folder / name for folder in FOLDERS for name in names]
    _refuse_to_overwrite(
        photo_files + texture_files, targets + ([Path(grid_path)] if grid_path else []))

    photos = _load_photos(photo_files, size)
    textures = None if textures_dir is None else jnp.asarray(load_textures(textures_dir, size))
    for folder in FOLDERS:
        (output / folder).mkdir(parents=True, exist_ok=True)
    grid_rows = ([], [], [])
    with tqdm(total=num, desc="degrading", unit="sample") as progress:
        for start in range(0, num, _BATCH):
            indices = list(range(start, min(start + _BATCH, num)))
            batch = _degrade_samples(indices, photos, size, seed, textures, cfg)
            for folder, images, grid_row in zip(FOLDERS, batch, grid_rows, strict=True):
                for i, image in zip(indices, images, strict=True):
                    save_png(image, output / folder / names[i])
                    if i < GRID_SAMPLES:
                        grid_row.append(np.broadcast_to(image, image.shape[:2] + (3,)))
            progress.update(len(indices))
    if grid_path is not None:
        save_png(grid_image(list(grid_rows)), Path(grid_path))
