"""Endless batches of random crops of a prepared dataset: deterministic, resumable, multi-host.

Built on grain's MapDataset, where every element is a pure function of its index:
element i of the endless stream is source[shuffle_e(i mod n)] for epoch e = i // n (a new
permutation each epoch), cropped, flipped and greyed with a random generator seeded by (seed, i).
Global batch s holds elements s*B .. s*B+B-1; process p of P reads the p-th slice of B/P of them.
So the content of a step depends only on (source, seed, global batch size, step): never on threads,
on the process count, or on where a run was interrupted.
"""

import sys
from pathlib import Path

import grain
import jax
import numpy as np
from PIL import Image

from oldrestore.data.folder_dataset import DEFAULT_DATA_DIR, prepare

# ITU-R BT.601 luma weights, as PIL's convert("L") (and so the reference) uses.
_LUMA = np.array([0.299, 0.587, 0.114])


def upscale_to_cover(image: np.ndarray, size: int) -> np.ndarray:
    """Enlarge `image` (bicubic, aspect kept) so that its short side is at least `size`."""
    height, width = image.shape[:2]
    scale = size / min(height, width)
    if scale <= 1:
        return image
    new_size = (max(size, round(width * scale)), max(size, round(height * scale)))
    return np.asarray(Image.fromarray(image).resize(new_size, Image.Resampling.BICUBIC))


def to_grayscale(image: np.ndarray) -> np.ndarray:
    """The luma of an RGB uint8 image, replicated to 3 channels."""
    luma = np.clip(np.round(image @ _LUMA), 0, 255).astype(np.uint8)
    return np.repeat(luma[..., None], 3, axis=-1)


def augment(image: np.ndarray, rng: np.random.Generator, *, crop_size: int,
                flip: bool, grayscale_prob: float) -> np.ndarray:
    """A `crop_size` square at a random place, mirrored with p = 0.5 (if `flip`) and greyed with
    p = `grayscale_prob`. Images smaller than the crop are enlarged first."""
    image = upscale_to_cover(image, crop_size)
    top = rng.integers(image.shape[0] - crop_size + 1)
    left = rng.integers(image.shape[1] - crop_size + 1)
    crop = image[top:top + crop_size, left:left + crop_size]
    if flip and rng.random() < 0.5:
        crop = crop[:, ::-1]
    if rng.random() < grayscale_prob:
        crop = to_grayscale(crop)
    return np.ascontiguousarray(crop)


class ImageBatches:
    """An endless iterator of {"image": uint8 [global_batch_size // process_count, crop, crop, 3]}.

    `source` is any random-access sequence of {"image": H x W x 3 uint8, ...}, such as
    `PreparedDataset.source(split)`. Each process reads its own slice of every global batch;
    concatenating the slices of processes 0..P-1 gives the single-process batch, in order.
    `get_state()` / `set_state()` carry a small JSON-able dict: restoring it continues exactly
    where the saved run was (with any process count, as long as seed and global batch agree).
    `prefetch_batches` batches are built ahead, each in its own thread.
    """

    def __init__(self, source, *, global_batch_size: int, crop_size: int, seed: int,
                 grayscale_prob: float = 0.1, flip: bool = True, process_index: int | None = None,
                 process_count: int | None = None, prefetch_batches: int = 2):
        process_index = jax.process_index() if process_index is None else process_index
        process_count = jax.process_count() if process_count is None else process_count
        if global_batch_size % process_count:
            raise ValueError(f"global batch size {global_batch_size} is not divisible by the "
                             f"process count {process_count}")
        if not 0 <= process_index < process_count:
            raise ValueError(f"process index {process_index} not in [0, {process_count})")
        if len(source) == 0:
            raise ValueError("the source holds no images")
        self.seed = seed
        self.global_batch_size = global_batch_size

        def crop(example, rng):
            return {"image": augment(example["image"], rng, crop_size=crop_size, flip=flip,
                                         grayscale_prob=grayscale_prob)}

        # Endless in practice; a finite epoch count because grain's batch(1) of an infinite
        # dataset overflows its length arithmetic.
        epochs = (sys.maxsize // 4) // len(source)
        examples = (grain.MapDataset.source(source).seed(seed).shuffle().repeat(epochs)
                    .random_map(crop))
        local_batch_size = global_batch_size // process_count
        self._batches = examples.batch(local_batch_size)[process_index::process_count]
        # Each thread builds one whole batch; the order of batches is kept.
        self._read_options = grain.ReadOptions(num_threads=prefetch_batches,
                                               prefetch_buffer_size=prefetch_batches)
        self._step = 0
        self._iterator = None

    def __iter__(self):
        return self

    def __next__(self) -> dict[str, np.ndarray]:
        if self._iterator is None:
            remaining = self._batches[self._step:].to_iter_dataset(self._read_options)
            self._iterator = iter(remaining)
        batch = next(self._iterator)
        self._step += 1
        return batch

    def get_state(self) -> dict[str, int]:
        """The number of batches taken, and what gives that number its meaning."""
        return {"step": self._step, "seed": self.seed,
                "global_batch_size": self.global_batch_size}

    def set_state(self, state: dict[str, int]) -> None:
        for key in ("seed", "global_batch_size"):
            if state[key] != getattr(self, key):
                raise ValueError(f"cannot resume: the saved state has {key}={state[key]}, "
                                 f"this pipeline {key}={getattr(self, key)}")
        self._step = int(state["step"])
        self._iterator = None


def from_folder(folder: str, split: str = "train", data_dir: str | Path = DEFAULT_DATA_DIR,
                **kwargs) -> ImageBatches:
    """Batches of a folder's split (a path, or `embedded`), preparing it first if need be."""
    return ImageBatches(prepare(folder, data_dir).source(split), **kwargs)
