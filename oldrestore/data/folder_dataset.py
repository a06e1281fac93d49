"""A folder of photos (or the embedded default) as a tensorflow-datasets dataset, prepared once.

Preparing decodes every photo once (any mode, EXIF orientation applied) and stores it as PNG in
ArrayRecord files, which `tfds` reads with random access and without TensorFlow. The dataset's
identity (its tfds config name) hashes the folder's absolute path and the names, sizes and mtimes
of its files, so a changed folder is prepared anew and two folders never share storage; preparing
an unchanged folder again only reads the stored metadata.
"""

import contextlib
import dataclasses
import fcntl
import hashlib
import io
import itertools
import logging
import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import tensorflow_datasets as tfds
from PIL import Image

from oldrestore.data.images import ImageReadError, load_rgb
from oldrestore.data.sources import EMBEDDED, photo_paths

DEFAULT_DATA_DIR = "~/.cache/oldrestore/tfds"
DEFAULT_TEST_PERCENT = 5
SPLITS = ("train", "test")


def split_of(name: str, test_percent: int = DEFAULT_TEST_PERCENT) -> str:
    """`test` for about `test_percent`% of file names, chosen by a hash of the name alone so that
    adding or removing other files never moves a file between splits."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return "test" if int.from_bytes(digest[:8], "big") % 100 < test_percent else "train"


def _config_name(folder: str, paths: Sequence[Path], test_percent: int) -> str:
    """`<folder name>-<hash>`: the hash covers everything that changes the prepared data."""
    fingerprint = hashlib.sha256(f"test_percent={test_percent}\n".encode())
    for path in paths:
        stat = path.stat()
        fingerprint.update(f"{path.resolve()}\t{stat.st_size}\t{stat.st_mtime_ns}\n".encode())
    label = EMBEDDED if folder == EMBEDDED else Path(folder).resolve().name
    label = re.sub(r"[^a-z0-9_]+", "_", label.lower()).strip("_")[:40] or "folder"
    return f"{label}-{fingerprint.hexdigest()[:16]}"


def png_bytes(image) -> bytes:
    buffer = io.BytesIO()
    # Level 1: several times faster than the default and files barely larger, for photos.
    Image.fromarray(image).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def nonempty_splits(examples: dict[str, Iterator]) -> dict[str, Iterator]:
    """The splits whose examples are not empty: tfds refuses to write an empty split."""
    generators = {}
    for split, iterator in examples.items():
        first = next(iterator, None)
        if first is not None:
            generators[split] = itertools.chain([first], iterator)
    return generators


def named_images_info(builder, size: int | None = None, **metadata) -> tfds.core.DatasetInfo:
    """The info of a dataset of `image` (uint8 H x W x 3 PNG; size x size if given) and `name`
    (the photo's file name) examples, whose metadata starts as `metadata` plus no skipped photo."""
    return tfds.core.DatasetInfo(
        builder=builder,
        description=builder.builder_config.description,
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(shape=(size, size, 3), encoding_format="png"),
            "name": tfds.features.Text(),
        }),
        metadata=tfds.core.MetadataDict(skipped=[], **metadata),
    )


class FolderImagesConfig(tfds.core.BuilderConfig):
    """Which photos to prepare; built by `prepare`, which lists them."""

    def __init__(self, *, folder: str, paths: Sequence[Path], test_percent: int):
        super().__init__(name=_config_name(folder, paths, test_percent),
                         description=f"photos of {folder}")
        self.folder = folder
        self.paths = tuple(paths)
        self.test_percent = test_percent


class FolderImages(tfds.core.GeneratorBasedBuilder):
    """Photos as `image` (uint8 H x W x 3, PNG) and `name` (file name); splits by `split_of`.

    Unreadable files are skipped with a warning naming them; their names are kept in the
    dataset's metadata under `skipped`.
    """

    VERSION = tfds.core.Version("1.0.0")
    # Nothing is downloaded. Also sidesteps tfds 4.9.10 looking for download checksums next to
    # this module through `importlib_resources`, which it does not install
    # (tensorflow/datasets#11212).
    url_infos = None

    def _info(self) -> tfds.core.DatasetInfo:
        return named_images_info(self)

    def _split_generators(self, dl_manager):
        config = self.builder_config
        paths = {split: [p for p in config.paths if split_of(p.name, config.test_percent) == split]
                 for split in SPLITS}
        generators = nonempty_splits({s: self._generate_examples(paths[s]) for s in SPLITS})
        if not generators:
            raise ValueError(f"{config.folder}: none of its {len(config.paths)} images is readable")
        return generators

    def _generate_examples(self, paths):
        skipped = self.info.metadata["skipped"]
        for path in paths:
            try:
                png = png_bytes(load_rgb(path))
            except ImageReadError as err:
                warnings.warn(f"skipping {err}", stacklevel=2)
                skipped.append(path.name)
                continue
            yield path.name, {"image": png, "name": path.name}


@dataclasses.dataclass(frozen=True)
class PreparedDataset:
    """A prepared dataset (a folder's photos, or their aligned faces): random-access sources of
    its splits, and what preparing skipped."""

    builder: tfds.core.GeneratorBasedBuilder

    @property
    def path(self) -> Path:
        """Where the prepared files are."""
        return Path(self.builder.data_dir)

    @property
    def skipped(self) -> list[str]:
        """Names of the files that could not be read (aligned faces: of the photos without a
        face)."""
        return sorted(self.builder.info.metadata["skipped"])

    def num_examples(self, split: str) -> int:
        splits = self.builder.info.splits
        return splits[split].num_examples if split in splits else 0

    def source(self, split: str) -> Sequence[dict]:
        """Random access to `split`: item i is {"image": uint8 H x W x 3, "name": bytes}.

        A split that received no readable photo is an empty sequence.
        """
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}: expected one of {SPLITS}")
        if split not in self.builder.info.splits:
            return ()
        return self.builder.as_data_source(split)

    def indices(self, split: str, prefixes: tuple[str, ...] | None = None) -> Sequence[int]:
        """The indices of `split`, or of its items whose name starts with one of `prefixes`
        (names read without decoding the images)."""
        count = self.num_examples(split)
        if prefixes is None:
            return range(count)
        names = self.builder.as_data_source(
            split, decoders={"image": tfds.decode.SkipDecoding()}) if count else ()
        return [i for i in range(count) if names[i]["name"].decode().startswith(prefixes)]


def build(make_builder: Callable[[], tfds.core.GeneratorBasedBuilder],
          note: str) -> PreparedDataset:
    """The dataset of the builder `make_builder` makes, prepared first (logging `note`) unless it
    already is."""
    builder = make_builder()
    if builder.is_prepared():
        return PreparedDataset(builder)
    with preparing_alone(Path(builder.data_dir)):
        builder = make_builder()  # anew: another process may have prepared it meanwhile
        if not builder.is_prepared():
            logging.info("%s", note)
        # tfds prints "Downloading and preparing dataset" (nothing is downloaded) and shows a
        # shuffling bar; our note says what happens.
        tfds.disable_progress_bar()
        with contextlib.redirect_stdout(io.StringIO()):
            builder.download_and_prepare()
    return PreparedDataset(builder)


@contextlib.contextmanager
def preparing_alone(dataset_dir: Path):
    """One process prepares a dataset at a time; the others wait, then find it prepared (two
    runs started together otherwise race to rename tfds's incomplete folder)."""
    dataset_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(dataset_dir.parent / f".{dataset_dir.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def prepare(folder: str = EMBEDDED, data_dir: str | Path = DEFAULT_DATA_DIR,
            test_percent: int = DEFAULT_TEST_PERCENT) -> PreparedDataset:
    """Prepare `folder` (a path, or `embedded`) under `data_dir` unless already prepared."""
    paths = photo_paths(folder)
    config = FolderImagesConfig(folder=folder, paths=paths, test_percent=test_percent)
    return build(lambda: FolderImages(config=config, data_dir=str(Path(data_dir).expanduser()),
                                      file_format="array_record"),
                 f"preparing the {len(paths)} photos of {folder} once, into {data_dir}")
