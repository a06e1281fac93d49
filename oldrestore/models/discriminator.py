"""Multi-scale PatchGAN discriminator of pix2pixHD, as the reference uses it (section 2a).

One `PatchDiscriminator` per scale: n_layers + 2 convs 4x4 with zero padding 2, strides 2
(n_layers times) then 1, 1; LeakyReLU 0.2 after all but the last; InstanceNorm on the middle layers;
widths ndf, 2 ndf, ... capped at 512, then 1 (the raw patch score, no sigmoid: LSGAN). Every layer's
output is returned, for feature matching. Scale i > 0 sees the input average-pooled i times (3x3,
stride 2, padding 1, padded cells excluded from the mean).

The same class is the latent discriminator: 64 input channels and `num_scales=1`.

Our `scale{i}` computes output i. The reference stores output i's parameters under
`scale{num_D-1-i}`; `torch_import` swaps them.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp
from flax.linen.dtypes import promote_dtype

from oldrestore.models.layers import conv_weight_init, instance_norm, torch_bias_init
from oldrestore.models.spectral_norm import SpectralNorm

KERNEL = 4
MAX_WIDTH = 512


def conv4x4_pad2(x, kernel, stride: int):
    """4x4 convolution with 2 zeros of padding on every side.

    With stride 1 the output is one pixel larger than the input, and XLA:CPU then computes the
    kernel gradient about 50x slower than for a same-size output (measured: 20 s instead of 0.2 s
    for the 512-wide layer at 256x256). One explicit zero row/column on the low side plus the conv's
    own (1, 2) padding gives the same windows on the fast path.
    """
    padding = ((2, 2), (2, 2))
    if stride == 1:
        x = jnp.pad(x, ((0, 0), (1, 0), (1, 0), (0, 0)))
        padding = ((1, 2), (1, 2))
    return jax.lax.conv_general_dilated(
        x, kernel, (stride, stride), padding, dimension_numbers=("NHWC", "HWIO", "NHWC")
    )


class PatchConv(nn.Module):
    """One discriminator conv (params `kernel` HWIO, `bias`), optionally spectrally normalised."""

    features: int
    stride: int
    spectral_norm: bool = False
    dtype: jnp.dtype | None = None

    @nn.compact
    def __call__(self, x, update_stats: bool = False):
        shape = (KERNEL, KERNEL, x.shape[-1], self.features)
        kernel = self.param("kernel", conv_weight_init, shape)
        bias = self.param("bias", torch_bias_init(KERNEL * KERNEL * x.shape[-1]), (self.features,))
        if self.spectral_norm:
            kernel = SpectralNorm(name="spectral_norm")(kernel, update_stats)
        x, kernel, bias = promote_dtype(x, kernel, bias, dtype=self.dtype)
        return conv4x4_pad2(x, kernel, self.stride) + bias


class PatchDiscriminator(nn.Module):
    """pix2pixHD `NLayerDiscriminator` with intermediate features: all n_layers + 2 outputs."""

    ndf: int = 64
    n_layers: int = 3
    spectral_norm: bool = False
    dtype: jnp.dtype | None = None

    @nn.compact
    def __call__(self, x, update_stats: bool = False) -> list:
        last = self.n_layers + 1
        outputs = []
        features = self.ndf
        for i in range(last + 1):
            if i == last:
                features = 1
            elif i > 0:
                features = min(2 * features, MAX_WIDTH)
            stride = 2 if i < self.n_layers else 1
            conv = PatchConv(
                features,
                stride,
                spectral_norm=self.spectral_norm,
                dtype=self.dtype,
                name=f"layer{i}",
            )
            x = conv(x, update_stats)
            if 0 < i < last:
                x = instance_norm(x)
            if i < last:
                x = nn.leaky_relu(x, 0.2)
            outputs.append(x)
        return outputs


def downsample(x):
    """AvgPool2d(3, stride 2, padding 1, count_include_pad=False)."""
    return nn.avg_pool(x, (3, 3), strides=(2, 2), padding=((1, 1), (1, 1)), count_include_pad=False)


class MultiscaleDiscriminator(nn.Module):
    """Returns, per scale (full resolution first), the list of that scale's layer outputs.

    With `spectral_norm`, pass `update_stats=True` and `mutable=["spectral"]` in training (one power
    iteration per conv); in eval the stored spectral vectors are used as they are.
    """

    num_scales: int = 2
    ndf: int = 64
    n_layers: int = 3
    spectral_norm: bool = False
    dtype: jnp.dtype | None = None

    @nn.compact
    def __call__(self, x, update_stats: bool = False) -> list[list]:
        outputs = []
        for i in range(self.num_scales):
            if i > 0:
                x = downsample(x)
            scale = PatchDiscriminator(
                ndf=self.ndf,
                n_layers=self.n_layers,
                spectral_norm=self.spectral_norm,
                dtype=self.dtype,
                name=f"scale{i}",
            )
            outputs.append(scale(x, update_stats))
        return outputs
