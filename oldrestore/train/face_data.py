"""Face photos for the face stage: whole faces at the network's size, not random crops.

The photos are those of `data.clean_dir`, plus those of `data.more_faces_dir` whose file names
start with one of `data.more_faces_prefixes` (faces inside a folder of general photos). With
`data.align_faces`, their faces are found and aligned once, when the data is prepared
(oldrestore.data.aligned_faces: MTCNN's five points, the reference's template at
`data.crop_size`, every face large enough, photos without one skipped and counted), so the network
learns on faces placed as the restore pipeline places them. Without it (and for runs from before
it), each photo is taken as it is: its centre square, resized to `data.crop_size` (PIL bicubic,
as the reference's face loader resizes; aligned faces already have that size).
"""

from collections.abc import Sequence

import numpy as np
from PIL import Image

from oldrestore.data.aligned_faces import prepare_aligned
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
    """Random access to the selected items of prepared sources, as {"image": face_square}."""

    def __init__(self, parts: Sequence[tuple[Sequence, Sequence[int]]], size: int):
        self._items = [(source, i) for source, indices in parts for i in indices]
        self.size = size

    def __len__(self):
        return len(self._items)

    def __getitem__(self, index):
        source, i = self._items[index]
        return {"image": face_square(source[i]["image"], self.size)}


def face_source(config, split: str) -> FaceSquares:
    """The faces of `split` (train or test, by the stable file-name hash of their photos)."""
    d = config.data
    align = d.get("align_faces", False)  # runs from before alignment trained on centre squares
    folders = [(d.clean_dir, None)]
    if d.more_faces_dir:
        folders.append((d.more_faces_dir, tuple(d.more_faces_prefixes)))
    parts = []
    for folder, prefixes in folders:
        prepared = prepare(folder, d.tfds_dir, d.test_percent)
        if align:  # the prefixes chose the photos to search; every face found in them is kept
            prepared = prepare_aligned(prepared, d.crop_size, prefixes, d.tfds_dir)
            prefixes = None
        parts.append((prepared.source(split), prepared.indices(split, prefixes)))
    return FaceSquares(parts, d.crop_size)


def face_batches(config, split: str = "train") -> ImageBatches:
    """Endless, resumable {"image": uint8 [b, size, size, 3]} of faces, mirrored at random."""
    return ImageBatches(face_source(config, split), global_batch_size=config.batch_size,
                        crop_size=config.data.crop_size, seed=config.seed,
                        grayscale_prob=config.data.grayscale_prob, flip=config.data.flip)


def held_out_faces(config, split: str, max_images: int | None) -> np.ndarray:
    """uint8 [N, size, size, 3]: the faces of `split` as training takes them, in a fixed
    order."""
    source = face_source(config, split)
    count = len(source) if max_images is None else min(len(source), max_images)
    return np.stack([source[i]["image"] for i in range(count)])
