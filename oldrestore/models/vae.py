"""Stage-1 domain VAEs: the reference's `GlobalGenerator_DCDCv2` encoder and decoder (section 1).

Encoder: reflect-pad 3 + conv7x7, IN, ReLU; `n_downsample` x (conv4x4 stride 2 zero-pad 1, IN,
ReLU); `n_blocks` residual blocks. Decoder: `n_blocks` residual blocks; `n_downsample` x (transposed
conv4x4 stride 2 padding 1, IN, ReLU); reflect-pad 3 + conv7x7, tanh. Every layer is `features`
wide. The latent (features x H/4 x W/4 by default) is unbounded; H and W must be multiples of
2**n_downsample.

Posterior, two options:
* reference (default): the encoder output is the mean and the variance is fixed to 1; training
  decodes mean + N(0, I) noise, inference decodes the mean; KL = mean(mean^2). `noise_std`
  changes the fixed standard deviation (1 is the reference's).
* `learned_variance`: 1x1 conv heads give the mean and the log-variance; training decodes the
  reparameterised sample; KL is the standard Gaussian one (averaged per element).
"""

from typing import NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
from flax.linen.dtypes import promote_dtype

from oldrestore.losses.vae import kl_gaussian, kl_reference
from oldrestore.models.layers import (
    Conv,
    ResBlock,
    conv_weight_init,
    instance_norm,
    torch_bias_init,
)


class ConvTranspose2x(nn.Module):
    """PyTorch ConvTranspose2d(kernel 4, stride 2, padding 1): doubles H and W exactly.

    Param `kernel` (4, 4, in, out) is PyTorch's (in, out, 4, 4) weight transposed, not flipped:
    input pixel m adds kernel[k] to output pixel 2 m - 1 + k (per axis).

    Output row 2 m + a (phase a = 0 or 1) receives x[m - 1 + a + d] * kernel[3 - a - 2 d], d = 0, 1:
    a 2x2 convolution with taps kernel[3 - a], kernel[1 - a] over padding (1 - a, a). We run the
    four phase convolutions and interleave them. That is the textbook form (a conv over the input
    dilated with zeros, padding 2, flipped kernel) without its 3/4 of multiplications by zero; on
    XLA:CPU the dilated form is also much slower, above all its kernel gradient
    (benchmarks/layer_throughput.py).
    """

    features: int
    dtype: jnp.dtype | None = None
    use_bias: bool = True  # False before a normalisation, which would cancel it (pix2pix)

    @nn.compact
    def __call__(self, x):
        kernel = self.param("kernel", conv_weight_init, (4, 4, x.shape[-1], self.features))
        # PyTorch's default bias bound for a transposed conv uses fan_in = out_channels * k * k.
        bias = (self.param("bias", torch_bias_init(16 * self.features), (self.features,))
                if self.use_bias else jnp.zeros((), kernel.dtype))
        x, kernel, bias = promote_dtype(x, kernel, bias, dtype=self.dtype)

        def phase(a, b):  # output pixels (2 m + a, 2 n + b)
            return jax.lax.conv_general_dilated(
                x,
                kernel[3 - a :: -2, 3 - b :: -2],
                (1, 1),
                ((1 - a, a), (1 - b, b)),
                dimension_numbers=("NHWC", "HWIO", "NHWC"),
            )

        # (B, H, 2, W, 2, C) -> (B, 2H, 2W, C)
        y = jnp.stack([jnp.stack([phase(a, 0), phase(a, 1)], axis=3) for a in (0, 1)], axis=2)
        n, h, _, w, _, c = y.shape
        return y.reshape(n, 2 * h, 2 * w, c) + bias


class Encoder(nn.Module):
    features: int = 64
    n_downsample: int = 2
    n_blocks: int = 4
    dtype: jnp.dtype | None = None

    @nn.compact
    def __call__(self, x):
        x = Conv(self.features, 7, padding=3, pad_mode="reflect", dtype=self.dtype, name="stem")(x)
        x = nn.relu(instance_norm(x))
        for i in range(self.n_downsample):
            down = Conv(self.features, 4, stride=2, padding=1, dtype=self.dtype, name=f"down{i}")
            x = nn.relu(instance_norm(down(x)))
        for i in range(self.n_blocks):
            x = ResBlock(self.features, dtype=self.dtype, name=f"block{i}")(x)
        return x


class Decoder(nn.Module):
    features: int = 64
    n_upsample: int = 2
    n_blocks: int = 4
    out_channels: int = 3
    dtype: jnp.dtype | None = None

    @nn.compact
    def __call__(self, z):
        for i in range(self.n_blocks):
            z = ResBlock(self.features, dtype=self.dtype, name=f"block{i}")(z)
        for i in range(self.n_upsample):
            up = ConvTranspose2x(self.features, dtype=self.dtype, name=f"up{i}")
            z = nn.relu(instance_norm(up(z)))
        head = Conv(
            self.out_channels, 7, padding=3, pad_mode="reflect", dtype=self.dtype, name="head"
        )
        return jnp.tanh(head(z))


COLOUR_CHANNELS = 6  # per-channel mean and standard deviation of an RGB photo


def latent_channels(features: int, colour_stats: bool) -> int:
    return features + (COLOUR_CHANNELS if colour_stats else 0)


def colour_statistics(images):
    """[B, H, W, 3] -> [B, 6]: per-channel mean, then standard deviation, over the photo."""
    mean = jnp.mean(images, axis=(1, 2))
    return jnp.concatenate([mean, jnp.std(images, axis=(1, 2))], axis=-1)


def join_colour(latent, colour):
    """Appends colour [B, 6] to latent [B, h, w, C] as constant channels."""
    planes = jnp.broadcast_to(colour[:, None, None, :], (*latent.shape[:3], colour.shape[-1]))
    return jnp.concatenate([latent, planes.astype(latent.dtype)], axis=-1)


def split_colour(latent):
    """(learned channels, colour [B, 6]): the inverse of join_colour. The colour planes are
    averaged, so a mapping's near-constant output planes read as their mean."""
    planes = latent[..., -COLOUR_CHANNELS:]
    return latent[..., :-COLOUR_CHANNELS], jnp.mean(planes, axis=(1, 2))


def apply_colour(images, colour, eps: float = 1e-3):
    """images rescaled per channel to colour's mean and standard deviation, clamped to [-1, 1]."""
    target_mean, target_std = jnp.split(colour, 2, axis=-1)
    own = colour_statistics(images)
    own_mean, own_std = jnp.split(own, 2, axis=-1)
    scale = (target_std / (own_std + eps))[:, None, None, :]
    shifted = (images - own_mean[:, None, None, :]) * scale + target_mean[:, None, None, :]
    return jnp.clip(shifted, -1.0, 1.0)


class Encoded(NamedTuple):
    latent: jax.Array  # what the decoder sees: a posterior sample if a key was given, else the mean
    mean: jax.Array  # what the latent discriminator and the mapping network see
    kl: jax.Array  # scalar KL term (before its loss weight)


class VAE(nn.Module):
    """Encoder + decoder with the reference posterior, or a learned-variance one.

    `encode(x, key)` samples the latent when given a PRNG key (training) and returns the mean
    otherwise (inference); `decode(latent)`; `__call__(x, key)` does both and returns
    (reconstruction, Encoded).

    colour_stats (a cpu deviation; off in the reference): instance norm after every layer
    discards each photo's per-channel mean and scale, which the reference recovers only over
    200k steps of learned priors. With it, the latent carries the input's per-channel mean and
    standard deviation as COLOUR_CHANNELS constant channels after the `features` learned ones
    (no noise, no KL), and the decoder rescales its output to them. No parameters are added.
    """

    features: int = 64
    n_downsample: int = 2
    n_blocks: int = 4
    out_channels: int = 3
    learned_variance: bool = False
    noise_std: float = 1.0  # the reference posterior's fixed standard deviation
    colour_stats: bool = False
    dtype: jnp.dtype | None = None

    @property
    def latent_channels(self) -> int:
        return latent_channels(self.features, self.colour_stats)

    def learned(self, latent):
        """The channels the encoder learns, without the colour statistics appended to them: what
        the latent discriminator and the latent-gap metric compare."""
        return latent[..., :self.features]

    def setup(self):
        self.encoder = Encoder(self.features, self.n_downsample, self.n_blocks, dtype=self.dtype)
        self.decoder = Decoder(
            self.features, self.n_downsample, self.n_blocks, self.out_channels, dtype=self.dtype
        )
        if self.learned_variance:
            # A near-zero log-variance head starts training at the reference's unit variance.
            self.mean_head = Conv(self.features, 1, dtype=self.dtype)
            self.logvar_head = Conv(self.features, 1, dtype=self.dtype)

    def encode(self, x, key: jax.Array | None = None) -> Encoded:
        h = self.encoder(x)
        if self.learned_variance:
            mean, logvar = self.mean_head(h), self.logvar_head(h)
            std, kl = jnp.exp(0.5 * logvar), kl_gaussian(mean, logvar)
        else:
            mean, std, kl = h, self.noise_std, kl_reference(h)
        sample = mean
        if key is not None:
            sample = mean + std * jax.random.normal(key, mean.shape, mean.dtype)
        if self.colour_stats:
            colour = colour_statistics(x)
            mean, sample = (join_colour(t, colour) for t in (mean, sample))
        return Encoded(sample, mean, kl)

    def decode(self, latent):
        if not self.colour_stats:
            return self.decoder(latent)
        latent, colour = split_colour(latent)
        return apply_colour(self.decoder(latent), colour)

    def __call__(self, x, key: jax.Array | None = None):
        encoded = self.encode(x, key)
        return self.decode(encoded.latent), encoded
