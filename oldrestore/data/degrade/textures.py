"""Loading paper textures (host side) for the old-print look."""

import numpy as np

from oldrestore.data.degrade.crops import center_crop, upscale_to_cover
from oldrestore.data.images import list_images, load_images


def load_textures(folder, size) -> np.ndarray:
    """The images of `folder` as a K x h x w x 3 float32 array in [0, 1], `size` = (h, w) or an
    int for squares: each upscaled (bicubic) if smaller, then centre-cropped. Unreadable files are
    skipped with a warning that names them."""
    size = (size, size) if isinstance(size, int) else tuple(size)
    loaded, _ = load_images(list_images(folder))
    if not loaded:
        raise FileNotFoundError(f"{folder}: holds no readable texture images")
    crops = [center_crop(upscale_to_cover(image, size), size) for _, image in loaded]
    return np.stack(crops).astype(np.float32) / 255.0
