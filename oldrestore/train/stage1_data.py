"""Stage-1 batches. VAE1 mixes real old photos (domain R, flag 1) and clean photos that the
train step degrades into synthetic old ones (domain X, flag 0), half and half; VAE2 reads clean
photos (Y) only."""

import logging

import jax
import numpy as np

from oldrestore.data.folder_dataset import prepare
from oldrestore.data.pipeline import ImageBatches

OLD, SYNTHETIC = 1, 0

SUBSTITUTE_NOTE = (
    "config.data.old_dir is empty: domain R (real old photos) is replaced by clean photos given "
    "the old-print look (fading, toning, grain, contrast loss) by the degradation model, so the "
    "latent discriminator still sees two domains. Set data.old_dir to a folder of real old photos "
    "for a real run.")


def _batches(config, folder: str, split: str, global_batch: int, seed: int) -> ImageBatches:
    source = prepare(folder, config.data.tfds_dir, config.data.test_percent).source(split)
    return ImageBatches(source, global_batch_size=global_batch, crop_size=config.data.crop_size,
                        seed=seed, grayscale_prob=config.data.grayscale_prob,
                        flip=config.data.flip)


def clean_batches(config, split: str = "train") -> ImageBatches:
    """{"image": uint8 [b, h, w, 3]} of clean photos (VAE2)."""
    return _batches(config, config.data.clean_dir, split, config.batch_size, config.seed)


class DomainBatches:
    """{"image": uint8 [b, h, w, 3], "domain": int32 [b]}: each process's slice holds
    floor(b/2) old photos then the rest clean ones, so any per-process batch of 2 or more holds
    both kinds (the reference crashes on a batch lacking either)."""

    def __init__(self, config, split: str = "train"):
        processes = jax.process_count()
        local = config.batch_size // processes
        if local < 2:
            raise ValueError(f"config.batch_size={config.batch_size}: VAE1 needs at least 2 "
                             f"examples per process (one old, one synthetic); {processes} "
                             "processes")
        n_old, n_clean = local // 2, local - local // 2
        old_dir = config.data.old_dir
        if not old_dir:
            logging.warning(SUBSTITUTE_NOTE)
            old_dir = config.data.clean_dir
        # Distinct seeds: with the substitute, R and X must not be the same crops.
        self._old = _batches(config, old_dir, split, n_old * processes, config.seed + 1)
        self._clean = _batches(config, config.data.clean_dir, split, n_clean * processes,
                               config.seed)
        self._domain = np.array([OLD] * n_old + [SYNTHETIC] * n_clean, np.int32)

    def __iter__(self):
        return self

    def __next__(self):
        images = np.concatenate([next(self._old)["image"], next(self._clean)["image"]])
        return {"image": images, "domain": self._domain}

    def get_state(self):
        return {"old": self._old.get_state(), "clean": self._clean.get_state()}

    def set_state(self, state):
        self._old.set_state(state["old"])
        self._clean.set_state(state["clean"])
