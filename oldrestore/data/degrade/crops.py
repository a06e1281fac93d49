"""Host-side crops of H x W x 3 uint8 photos (numpy and PIL), for dataset writing and textures."""

import numpy as np
from PIL import Image


def upscale_to_cover(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`image` scaled up (bicubic, aspect kept) just enough to cover `size` = (h, w); unchanged
    when it already covers it (never scaled down, so fine detail keeps its scale)."""
    height, width = image.shape[:2]
    scale = max(size[0] / height, size[1] / width)
    if scale <= 1:
        return image
    new_size = (max(size[1], round(width * scale)), max(size[0], round(height * scale)))
    return np.asarray(Image.fromarray(image).resize(new_size, Image.Resampling.BICUBIC))


def crop(image: np.ndarray, size: tuple[int, int], top: int, left: int) -> np.ndarray:
    return image[top:top + size[0], left:left + size[1]]


def center_crop(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return crop(image, size, (image.shape[0] - size[0]) // 2, (image.shape[1] - size[1]) // 2)


def random_crop(image: np.ndarray, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    top = rng.integers(0, image.shape[0] - size[0] + 1)
    left = rng.integers(0, image.shape[1] - size[1] + 1)
    return crop(image, size, top, left)
