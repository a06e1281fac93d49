"""The faces of a prepared photo folder, found and aligned once, as a tensorflow-datasets dataset.

Each photo (of a split, optionally only those whose file name starts with one of `prefixes`) is
searched by MTCNN, and every face large enough for the canvas is aligned to the reference's
template at `size` (oldrestore.faces: the similarity transform, bilinear, black outside the photo),
as the restore pipeline aligns the faces it enhances. The crops are stored as PNG beside the
folder's own prepared photos (folder_dataset), in the same splits; photos without such a face are
counted and their names kept in the metadata (`skipped`). The dataset's identity hashes the
prepared folder's identity (itself a hash of its files), the prefixes, the size and the face
threshold, so a second run reads the stored crops and detects nothing.
"""

import hashlib
import logging
from pathlib import Path

import numpy as np
import tensorflow_datasets as tfds

from oldrestore.data.folder_dataset import (
    DEFAULT_DATA_DIR,
    SPLITS,
    PreparedDataset,
    build,
    named_images_info,
    nonempty_splits,
    png_bytes,
)
from oldrestore.faces import align_face, detect_faces

# Every face at least this share of the canvas side, not only the largest: group photos give a
# face each. The canvas holds an MTCNN box at about 0.87 of its side, so a smaller face would be
# enlarged more than 1.7x and its blur would become the network's clean target.
MIN_FACE_SHARE = 0.5


def aligned_faces(photo: np.ndarray, size: int) -> list[np.ndarray]:
    """Every face of `photo` (uint8) whose box is at least MIN_FACE_SHARE * size pixels, aligned
    to the template on a size x size canvas (uint8 RGB), most confident first."""
    smallest = MIN_FACE_SHARE * size
    # MTCNN searches down to the smallest face kept, no further: a short pyramid, a fast search.
    faces = detect_faces(photo, min_face_size=smallest, skip_smaller_than=smallest)
    return [align_face(photo, face.landmarks, size)[0] for face in faces]


class AlignedFacesConfig(tfds.core.BuilderConfig):
    """Whose faces to align, and at which size; built by `prepare_aligned`."""

    def __init__(self, *, photos: PreparedDataset, size: int,
                 prefixes: tuple[str, ...] | None):
        source = photos.builder.builder_config.name
        settings = f"{source}\nprefixes={prefixes}\nsize={size}\nmin_share={MIN_FACE_SHARE}\n"
        digest = hashlib.sha256(settings.encode()).hexdigest()[:16]
        named = f" named {'*, '.join(prefixes)}*" if prefixes else ""
        super().__init__(name=f"{source.rsplit('-', 1)[0]}-{size}px-{digest}",
                         description=f"faces of the photos{named} of "
                                     f"{photos.builder.builder_config.folder}")
        self.photos, self.size, self.prefixes = photos, size, prefixes


class AlignedFaces(tfds.core.GeneratorBasedBuilder):
    """Faces as `image` (uint8 size x size x 3, PNG) and `name` (the photo's file name)."""

    VERSION = tfds.core.Version("1.0.0")
    url_infos = None  # nothing is downloaded (see folder_dataset.FolderImages)

    def _info(self) -> tfds.core.DatasetInfo:
        return named_images_info(self, self.builder_config.size, photos=0)

    def _split_generators(self, dl_manager):
        generators = nonempty_splits({split: self._generate_examples(split) for split in SPLITS})
        if not generators:
            config = self.builder_config
            raise ValueError(f"{config.description}: no face of at least "
                             f"{MIN_FACE_SHARE * config.size:g} px in any photo")
        return generators

    def _generate_examples(self, split):
        config, metadata = self.builder_config, self.info.metadata
        photos = config.photos.source(split)
        for i in config.photos.indices(split, config.prefixes):
            photo = photos[i]
            name = photo["name"].decode()
            faces = aligned_faces(photo["image"], config.size)
            metadata["photos"] += 1
            if not faces:
                metadata["skipped"].append(name)
            for k, face in enumerate(faces):
                yield f"{name}/{k}", {"image": png_bytes(face), "name": name}


def prepare_aligned(photos: PreparedDataset, size: int, prefixes: tuple[str, ...] | None = None,
                    data_dir: str | Path = DEFAULT_DATA_DIR) -> PreparedDataset:
    """The aligned faces of prepared `photos` (all, or those named with one of `prefixes`) at
    `size`, stored under `data_dir` unless already there."""
    config = AlignedFacesConfig(photos=photos, size=size, prefixes=prefixes)
    faces = build(lambda: AlignedFaces(config=config, data_dir=str(Path(data_dir).expanduser()),
                                       file_format="array_record"),
                  f"finding and aligning the {config.description} once, into {data_dir}")
    metadata = faces.builder.info.metadata
    logging.info("%s: %d faces at %d px; %d of %d photos skipped (no face of at least %g px)",
                 config.description, sum(faces.num_examples(s) for s in SPLITS), size,
                 len(faces.skipped), metadata["photos"], MIN_FACE_SHARE * size)
    return faces
