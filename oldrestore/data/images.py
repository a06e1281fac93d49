"""Reading photos of any mode into RGB uint8, and listing the photos of a folder."""

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif")


class ImageReadError(ValueError):
    """A file that is not a readable image; the message names the file and the problem."""


def list_images(folder) -> list[Path]:
    """The image files directly inside `folder`, sorted by name (hidden files ignored)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder")
    return sorted(
        p for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    )


def _to_rgb_array(img: Image.Image) -> np.ndarray:
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if img.mode.startswith("I;16") or arr.max() > 255 else 255.0
        gray = np.clip(np.round(arr / top * 255.0), 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=-1)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        # Composite transparent pixels over white, as a print on paper.
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    return np.asarray(img.convert("RGB"), dtype=np.uint8)


def load_rgb(path) -> np.ndarray:
    """Decode `path` into an H x W x 3 uint8 array, upright (EXIF orientation applied).

    Grayscale, palette, alpha and 16-bit images are all converted; raises ImageReadError naming
    the file when it cannot be decoded.
    """
    path = Path(path)
    try:
        with Image.open(path) as img:
            img.load()
            img = ImageOps.exif_transpose(img)
            arr = _to_rgb_array(img)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as err:
        raise ImageReadError(f"{path}: cannot read image ({err})") from err
    if arr.ndim != 3 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ImageReadError(f"{path}: empty image")
    return arr


def load_images(paths) -> tuple[list[tuple[Path, np.ndarray]], list[Path]]:
    """Decode every path; unreadable files are skipped with a warning that names them.

    Returns ([(path, image)], [skipped paths]).
    """
    loaded, skipped = [], []
    for path in paths:
        try:
            loaded.append((Path(path), load_rgb(path)))
        except ImageReadError as err:
            warnings.warn(f"skipping {err}", stacklevel=2)
            skipped.append(Path(path))
    return loaded, skipped
