"""Building blocks shared by every network: padded convolutions, instance norm, residual blocks.

Initialisation follows the reference: conv weights ~ N(0, 0.02) (its `weights_init`), conv biases
as PyTorch's default U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
"""

import math
from collections.abc import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

conv_weight_init = nn.initializers.normal(stddev=0.02)


def torch_bias_init(fan_in: int) -> Callable:
    """PyTorch's default conv bias: uniform in +-1/sqrt(fan_in)."""
    bound = 1.0 / math.sqrt(fan_in)

    def init(key, shape, dtype=jnp.float32):
        return jax.random.uniform(key, shape, dtype, -bound, bound)

    return init


class Conv(nn.Module):
    """k x k convolution with PyTorch-style padding: `padding` pixels of zeros or reflection.

    Reflection is done as reflect-pad then a SAME convolution and a crop: on XLA:CPU a VALID
    convolution runs about 4x slower than a padded one (anchors.md), and the crop removes exactly
    the rows the extra zero padding produced.
    """

    features: int
    kernel_size: int
    stride: int = 1
    padding: int = 0
    pad_mode: str = "zero"  # "zero" or "reflect"
    use_bias: bool = True
    dtype: jnp.dtype | None = None

    @nn.compact
    def __call__(self, x):
        k, p = self.kernel_size, self.padding
        fan_in = x.shape[-1] * k * k
        conv = nn.Conv(
            self.features,
            (k, k),
            strides=(self.stride, self.stride),
            padding=((p, p), (p, p)),
            use_bias=self.use_bias,
            kernel_init=conv_weight_init,
            bias_init=torch_bias_init(fan_in),
            dtype=self.dtype,
            name="conv",
        )
        if self.pad_mode == "zero" or p == 0:
            return conv(x)
        if self.pad_mode != "reflect":
            raise ValueError(f"pad_mode must be 'zero' or 'reflect', got {self.pad_mode!r}")
        if self.stride != 1:
            raise ValueError("reflect padding is only used with stride 1")
        x = jnp.pad(x, ((0, 0), (p, p), (p, p), (0, 0)), mode="reflect")
        return conv(x)[:, p:-p, p:-p, :]


def instance_norm(x, eps: float = 1e-5):
    """InstanceNorm2d(affine=False): per sample and channel over H x W, biased variance."""
    mean = jnp.mean(x, axis=(1, 2), keepdims=True)
    var = jnp.mean(jnp.square(x - mean), axis=(1, 2), keepdims=True)
    return (x - mean) * jax.lax.rsqrt(var + eps)


class ResBlock(nn.Module):
    """pix2pixHD residual block: reflect-pad, conv3x3, IN, ReLU, reflect-pad, conv3x3, IN, + x."""

    features: int
    dtype: jnp.dtype | None = None

    @nn.compact
    def __call__(self, x):
        y = Conv(self.features, 3, padding=1, pad_mode="reflect", dtype=self.dtype, name="conv1")(x)
        y = nn.relu(instance_norm(y))
        y = Conv(self.features, 3, padding=1, pad_mode="reflect", dtype=self.dtype, name="conv2")(y)
        return x + instance_norm(y)


def count_params(params) -> int:
    return sum(int(p.size) for p in jax.tree.leaves(params))
