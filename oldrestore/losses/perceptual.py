"""VGG perceptual loss computed as the reference does (section 2e), on our VGG16 features."""

import jax
import jax.numpy as jnp

from oldrestore.models.vgg import VGG16Features

REFERENCE_LAYER_WEIGHTS = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)


def vgg_loss(
    x,
    y,
    vgg_params,
    layer_weights=REFERENCE_LAYER_WEIGHTS,
    weight: float = 10.0,
    imagenet_normalize: bool = False,
):
    """weight * sum_i layer_weights[i] * mean|f_i(x) - f_i(y)|; y's features are constants.

    `vgg_params` (from `models.vgg.load_vgg16_params()`) are an input, never trained: no gradient
    reaches them. x and y are images in [-1, 1]; see `models.vgg` for `imagenet_normalize`.
    """
    vgg = VGG16Features(imagenet_normalize=imagenet_normalize)
    params = jax.lax.stop_gradient(vgg_params)
    # One pass over both batches, split afterwards.
    features = vgg.apply({"params": params}, jnp.concatenate([x, jax.lax.stop_gradient(y)]))
    n = x.shape[0]
    return weight * sum(
        w * jnp.mean(jnp.abs(f[:n] - jax.lax.stop_gradient(f[n:])))
        for w, f in zip(layer_weights, features, strict=True)
    )
