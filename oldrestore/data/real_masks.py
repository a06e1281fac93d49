"""Real defect shapes from a folder of binary masks (e.g. ../shared/data/masks, crack masks),
for the detector's and the scratch mapping's training data: loaded once on the host, drawn inside
the step."""

import jax
import jax.numpy as jnp
import numpy as np
from PIL import Image

from oldrestore.data.images import list_images


def load_masks(folder: str, size: int) -> np.ndarray:
    """float32 [K, size, size] in {0, 1}: each mask resized (nearest) to size x size; bright =
    defect. Raises naming the folder when it holds no images."""
    paths = list_images(folder)
    if not paths:
        raise FileNotFoundError(f"{folder}: holds no mask images")
    masks = []
    for path in paths:
        with Image.open(path) as image:
            gray = image.convert("L").resize((size, size), Image.Resampling.NEAREST)
        masks.append(np.asarray(gray) > 127)
    return np.stack(masks).astype(np.float32)


def random_real_mask(key, masks):
    """One of `masks`, at random, mirrored and transposed at random: [size, size, 1]."""
    index_key, flip_key = jax.random.split(key)
    masks = jnp.asarray(masks)
    mask = masks[jax.random.randint(index_key, (), 0, masks.shape[0])]
    flips = jax.random.bernoulli(flip_key, 0.5, (3,))
    mask = jnp.where(flips[0], mask[::-1], mask)
    mask = jnp.where(flips[1], mask[:, ::-1], mask)
    mask = jnp.where(flips[2], mask.T, mask)
    return mask[..., None]


def random_real_masks(key, masks, batch: int, prob: float):
    """[batch, size, size, 1]: for each example, with probability `prob`, a random one of
    `masks` (see random_real_mask), else an empty mask."""
    use_key, mask_key = jax.random.split(key)
    use = jax.random.bernoulli(use_key, prob, (batch, 1, 1, 1))
    real = jax.vmap(random_real_mask, in_axes=(0, None))(jax.random.split(mask_key, batch), masks)
    return real * use
