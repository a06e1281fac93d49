"""Scratch-detection U-Net of the reference (`Global/detection_models/networks.py`, wf=6, depth=4).

Grayscale image in [-1, 1] (N, H, W, 1), H and W multiples of 2**depth -> one scratch logit per
pixel (N, H, W, 1). Every conv pads by reflection. Each down stage: conv3x3 C->C, BN, LeakyReLU,
anti-aliased blur-pool (stride 2), then 2 x (conv3x3, BN, LeakyReLU) C->2C; skips are taken before
each down stage. Each up stage: bilinear x2, conv3x3 C->C/2, concat [upsampled, skip],
2 x (conv3x3, BN, LeakyReLU) -> C/2. Parameter names follow the reference's module names.

Intermediate activations are sown into the 'intermediates' collection under the reference's names
(`first`, `down_sample_i`, `down_path_i`, `up_path_i`) for the fidelity tests.
"""

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp

from oldrestore.models.layers import Conv

LEAKY_SLOPE = 0.2
CONVS_PER_BLOCK = 2  # the reference's conv_num

Conv3x3 = functools.partial(Conv, kernel_size=3, padding=1, pad_mode="reflect")


def leaky_relu(x):
    return nn.leaky_relu(x, LEAKY_SLOPE)


class BatchNorm(nn.Module):
    """BatchNorm2d exactly as PyTorch computes it: momentum 0.1, eps 1e-5.

    Not flax's nn.BatchNorm, which (0.12.8) differs in two ways that matter here: it updates the
    running variance with the biased batch variance (PyTorch uses the unbiased one, n/(n-1)), and by
    default it reduces and normalises in float32, which breaks the float64 fidelity test.
    Statistics are over the batch and spatial axes of the whole (global) batch: under jit with the
    batch sharded across devices XLA inserts the cross-device reductions itself, so no axis_name.
    Variables keep flax's names: params scale/bias, batch_stats mean/var.
    """

    momentum: float = 0.1  # PyTorch convention: weight of the new batch in the running average
    epsilon: float = 1e-5

    @nn.compact
    def __call__(self, x, train: bool):
        features = x.shape[-1]
        scale = self.param("scale", nn.initializers.ones, (features,))
        bias = self.param("bias", nn.initializers.zeros, (features,))
        running_mean = self.variable("batch_stats", "mean", jnp.zeros, (features,))
        running_var = self.variable("batch_stats", "var", jnp.ones, (features,))
        if not train:
            mean, var = running_mean.value, running_var.value
        else:
            count = x.size // features
            if count < 2:
                raise ValueError("BatchNorm in training needs more than one value per channel")
            stats_x = x.astype(jnp.promote_types(x.dtype, jnp.float32))
            mean = jnp.mean(stats_x, axis=(0, 1, 2))
            var = jnp.mean(jnp.square(stats_x - mean), axis=(0, 1, 2))  # biased: used to normalise
            if not self.is_initializing():
                m = self.momentum
                running_mean.value = (1 - m) * running_mean.value + m * mean
                running_var.value = (1 - m) * running_var.value + m * var * count / (count - 1)
        y = (x - mean) * (scale * jax.lax.rsqrt(var + self.epsilon)) + bias
        return y.astype(x.dtype)


class ConvBNReLU(nn.Module):
    """Reflect-pad 1, conv3x3, BatchNorm, LeakyReLU 0.2."""

    features: int
    dtype: jnp.dtype | None = None

    @nn.compact
    def __call__(self, x, train: bool):
        x = Conv3x3(self.features, dtype=self.dtype, name="conv")(x)
        return leaky_relu(BatchNorm(name="bn")(x, train))


class ConvBlock(nn.Module):
    """The reference's UNetConvBlock: CONVS_PER_BLOCK x ConvBNReLU."""

    features: int
    dtype: jnp.dtype | None = None

    @nn.compact
    def __call__(self, x, train: bool):
        for j in range(CONVS_PER_BLOCK):
            x = ConvBNReLU(self.features, self.dtype, name=f"layer_{j}")(x, train)
        return x


def _blur_1d(x, axis: int):
    """[1, 2, 1]/4 filter at stride 2 along `axis`, after reflect padding by 1."""
    pad = [(0, 0)] * x.ndim
    pad[axis] = (1, 1)
    x = jnp.pad(x, pad, mode="reflect")
    n_out = (x.shape[axis] - 3) // 2 + 1

    def taps(start):
        return jax.lax.slice_in_dim(x, start, start + 2 * (n_out - 1) + 1, stride=2, axis=axis)

    return 0.25 * taps(0) + 0.5 * taps(1) + 0.25 * taps(2)


def blur_pool(x):
    """Anti-aliased downsampling by 2 (reference `Downsample`, filt_size 3, reflect padding).

    The depthwise filter [1,2,1]^T [1,2,1] / 16 is separable; two strided 1-D passes give the same
    result as the 2-D depthwise conv (to rounding) at a fraction of the cost.
    """
    return _blur_1d(_blur_1d(x, 1), 2)


def _upsample_1d(x, axis: int):
    """x2 linear upsampling along `axis`, half-pixel centres, borders clamped (as PyTorch).

    Output 2i sits at source coordinate i - 1/4 and 2i+1 at i + 1/4; PyTorch clamps the source
    coordinate at 0 and the neighbour index at n-1, which is the same as repeating the edge sample.
    """
    n = x.shape[axis]
    first = jax.lax.slice_in_dim(x, 0, 1, axis=axis)
    last = jax.lax.slice_in_dim(x, n - 1, n, axis=axis)
    previous = jnp.concatenate([first, jax.lax.slice_in_dim(x, 0, n - 1, axis=axis)], axis=axis)
    following = jnp.concatenate([jax.lax.slice_in_dim(x, 1, n, axis=axis), last], axis=axis)
    even = 0.25 * previous + 0.75 * x
    odd = 0.75 * x + 0.25 * following
    shape = list(x.shape)
    shape[axis] *= 2
    return jnp.stack([even, odd], axis=axis + 1).reshape(shape)


def upsample_bilinear_x2(x):
    """Bilinear x2 of an NHWC map, = F.interpolate(scale_factor=2, mode='bilinear',
    align_corners=False) and jax.image.resize(..., 'bilinear'), but about 4x faster on XLA:CPU
    than the latter, which contracts with dense interpolation matrices."""
    return _upsample_1d(_upsample_1d(x, 1), 2)


class ScratchUNet(nn.Module):
    """The detection U-Net: 2**wf channels at full resolution, doubled at each of `depth` stages."""

    wf: int = 6
    depth: int = 4
    dtype: jnp.dtype | None = None

    @nn.compact
    def __call__(self, x, train: bool = False):
        multiple = 2**self.depth
        if x.shape[1] % multiple or x.shape[2] % multiple:
            raise ValueError(f"height and width must be multiples of {multiple}, got {x.shape}")
        channels = 2**self.wf
        x = Conv(channels, 7, padding=3, pad_mode="reflect", dtype=self.dtype, name="first")(x)
        x = leaky_relu(x)
        self.sow("intermediates", "act_first", x)

        skips = []
        for i in range(self.depth):
            skips.append(x)
            x = ConvBNReLU(channels, self.dtype, name=f"down_sample_{i}")(x, train)
            x = blur_pool(x)
            self.sow("intermediates", f"act_down_sample_{i}", x)
            channels *= 2
            x = ConvBlock(channels, self.dtype, name=f"down_path_{i}")(x, train)
            self.sow("intermediates", f"act_down_path_{i}", x)

        for i, skip in enumerate(reversed(skips)):
            channels //= 2
            x = Conv3x3(channels, dtype=self.dtype, name=f"up_path_{i}_up")(upsample_bilinear_x2(x))
            x = jnp.concatenate([x, skip], axis=-1)
            x = ConvBlock(channels, self.dtype, name=f"up_path_{i}")(x, train)
            self.sow("intermediates", f"act_up_path_{i}", x)

        return Conv3x3(1, dtype=self.dtype, name="last")(x)


def unet_for(params) -> ScratchUNet:
    """The ScratchUNet whose width and depth match a parameter tree."""
    depth = sum(1 for name in params if name.startswith("down_path_"))
    channels = params["first"]["conv"]["kernel"].shape[-1]
    return ScratchUNet(wf=channels.bit_length() - 1, depth=depth)
