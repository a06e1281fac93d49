"""Where photos come from: the embedded default (sample photos shipped inside installed pip
packages, so a fresh install needs no download) or any folder given in the config."""

import importlib.util
from pathlib import Path

from oldrestore.data.images import list_images

# (package, path inside the package) of natural photos that pip installs with our dependencies.
_EMBEDDED = (
    ("skimage", "data/astronaut.png"),
    ("skimage", "data/camera.png"),
    ("skimage", "data/chelsea.png"),
    ("skimage", "data/coffee.png"),
    ("skimage", "data/coins.png"),
    ("skimage", "data/hubble_deep_field.jpg"),
    ("skimage", "data/moon.png"),
    ("skimage", "data/motorcycle_left.png"),
    ("skimage", "data/motorcycle_right.png"),
    ("skimage", "data/rocket.jpg"),
    ("skimage", "data/brick.png"),
    ("skimage", "data/grass.png"),
    ("skimage", "data/gravel.png"),
    ("sklearn", "datasets/images/china.jpg"),
    ("sklearn", "datasets/images/flower.jpg"),
    ("matplotlib", "mpl-data/sample_data/grace_hopper.jpg"),
)

EMBEDDED = "embedded"  # the value of data.clean_dir that selects the embedded default


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(f"package {name!r} is not installed")
    return Path(spec.origin).parent


def embedded_photo_paths() -> list[Path]:
    """The sample photos of the embedded default, in a fixed order."""
    paths = [_package_dir(pkg) / rel for pkg, rel in _EMBEDDED]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"embedded sample photos missing from the install: {missing}")
    return paths


def photo_paths(folder: str) -> list[Path]:
    """The photos of a source: `embedded` or a folder path."""
    if folder == EMBEDDED:
        return embedded_photo_paths()
    paths = list_images(folder)
    if not paths:
        raise FileNotFoundError(f"{folder}: holds no images")
    return paths
