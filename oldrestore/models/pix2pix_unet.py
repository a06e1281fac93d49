"""pix2pix's U-Net generator (Isola et al. 2017; `networks.UnetGenerator` of the released code),
the direct image-to-image baseline: degraded photo in [-1, 1] -> restored photo in [-1, 1].

`depth` levels, each halving H and W; level i is ngf * min(2**i, 8) wide. Down: LeakyReLU 0.2
(not on the input), conv4x4 stride 2 zero-pad 1 without bias, norm (not at the outermost and
innermost levels). Up, from the innermost level out: ReLU of [skip, upsampled] (the innermost
has no skip), transposed conv4x4 stride 2 padding 1 without bias, norm, dropout on the
`dropout_levels` levels just outside the innermost; the outermost up-conv has a bias and ends in
tanh. At depth 8 and ngf 64 this is pix2pix's `unet_256` (the innermost level is 1x1 at 256 px).

Norm: pix2pix uses batch norm at batch size 1 and tests in training mode, which is exactly
instance norm with a learned scale and bias: that is what we use, at any batch size, so training
and inference normalise alike. Dropout is on in training only (pix2pix keeps it at test time as
its noise); inference here is deterministic.
"""

import flax.linen as nn
import jax.numpy as jnp

from oldrestore.models.layers import Conv, instance_norm
from oldrestore.models.scratch_unet import leaky_relu
from oldrestore.models.vae import ConvTranspose2x

MAX_MULTIPLIER = 8  # pix2pix caps the width at 8 ngf


class AffineInstanceNorm(nn.Module):
    @nn.compact
    def __call__(self, x):
        features = x.shape[-1]
        scale = self.param("scale", nn.initializers.ones, (features,))
        bias = self.param("bias", nn.initializers.zeros, (features,))
        return instance_norm(x) * scale + bias


class Pix2PixUNet(nn.Module):
    ngf: int = 64
    depth: int = 8
    dropout_levels: int = 3
    dropout_rate: float = 0.5
    out_channels: int = 3

    @property
    def multiple(self) -> int:
        """What H and W must be multiples of."""
        return 2**self.depth

    @nn.compact
    def __call__(self, x, train: bool = False):
        if x.shape[1] % self.multiple or x.shape[2] % self.multiple:
            raise ValueError(f"height and width must be multiples of {self.multiple}, "
                             f"got {x.shape}")
        widths = [self.ngf * min(2**i, MAX_MULTIPLIER) for i in range(self.depth)]
        innermost = self.depth - 1
        skips = []
        for i, width in enumerate(widths):
            if i > 0:
                x = leaky_relu(x)
            x = Conv(width, 4, stride=2, padding=1, use_bias=False, name=f"down_{i}")(x)
            if 0 < i < innermost:
                x = AffineInstanceNorm(name=f"down_norm_{i}")(x)
            skips.append(x)

        for i in reversed(range(self.depth)):
            if i < innermost:
                x = jnp.concatenate([skips[i], x], axis=-1)
            x = nn.relu(x)
            if i == 0:
                return jnp.tanh(ConvTranspose2x(self.out_channels, name="up_0")(x))
            x = ConvTranspose2x(widths[i - 1], use_bias=False, name=f"up_{i}")(x)
            x = AffineInstanceNorm(name=f"up_norm_{i}")(x)
            if innermost - self.dropout_levels <= i < innermost:
                x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
