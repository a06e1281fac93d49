"""Face photos for the face stage: whole faces at the network's size, not random crops.

Until faces are aligned when the dataset is prepared (issue 12 section 1), each photo is taken as
it is: its centre square, resized to `data.crop_size` (PIL bicubic, as the reference's face loader
resizes). The photos are those of `data.clean_dir`, plus those of `data.more_faces_dir` whose file
names start with one of `data.more_faces_prefixes` (faces inside a folder of general photos).
"""

from collections.abc import Sequence

import numpy as np
import tensorflow_datasets as tfds
from PIL import Image

from oldrestore.data.folder_dataset import prepare
from oldrestore.data.pipeline import ImageBatches


def face_square(image: np.ndarray, size: int) -> np.ndarray:
    """The centre square of `image` (uint8 H x W x 3), resized to size x size."""
    height, width = image.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = Image.fromarray(image[top:top + side, left:left + side])
    return np.asarray(square.resize((size, size), Image.Resampling.BICUBIC))


class FaceSquares(Sequence):
    """Random access to the selected photos of prepared sources, as {"image": face_square}."""

    def __init__(self, parts: Sequence[tuple[Sequence, Sequence[int]]], size: int):
        self._items = [(source, i) for source, indices in parts for i in indices]
        self.size = size

    def __len__(self):
        return len(self._items)

    def __getitem__(self, index):
        source, i = self._items[index]
        return {"image": face_square(source[i]["image"], self.size)}


def _matching_indices(prepared, split: str, prefixes: tuple[str, ...]) -> list[int]:
    """Indices of `split` whose file name starts with one of `prefixes`, read without decoding
    the images."""
    if split not in prepared.builder.info.splits:
        return []
    names = prepared.builder.as_data_source(
        split, decoders={"image": tfds.decode.SkipDecoding()})
    return [i for i in range(len(names)) if names[i]["name"].decode().startswith(prefixes)]


def face_source(config, split: str, size: int | None = None) -> FaceSquares:
    """The faces of `split` (train or test, by the stable file-name hash) at `size` (default:
    data.crop_size)."""
    d = config.data
    faces = prepare(d.clean_dir, d.tfds_dir, d.test_percent).source(split)
    parts = [(faces, range(len(faces)))]
    if d.more_faces_dir:
        prepared = prepare(d.more_faces_dir, d.tfds_dir, d.test_percent)
        indices = _matching_indices(prepared, split, tuple(d.more_faces_prefixes))
        parts.append((prepared.source(split), indices))
    return FaceSquares(parts, size or d.crop_size)


def face_batches(config, split: str = "train") -> ImageBatches:
    """Endless, resumable {"image": uint8 [b, size, size, 3]} of faces, mirrored at random."""
    return ImageBatches(face_source(config, split), global_batch_size=config.batch_size,
                        crop_size=config.data.crop_size, seed=config.seed,
                        grayscale_prob=config.data.grayscale_prob, flip=config.data.flip)


def held_out_faces(config, split: str, size: int, max_images: int | None) -> np.ndarray:
    """uint8 [N, size, size, 3]: the faces of `split`, in a fixed order."""
    source = face_source(config, split, size)
    count = len(source) if max_images is None else min(len(source), max_images)
    return np.stack([source[i]["image"] for i in range(count)])
