"""The face-enhancement generator of the journal version: the reference's `SPADEGenerator` at its
inference options (reference-implementation.md section 9b-9c).

The degraded face, bilinearly resized to load_size/32, goes through a 3x3 conv to 16 ngf channels,
then SPADE residual blocks head_0, G_middle_0, G_middle_1 (no upsampling between the two middle
blocks), up_0 ... up_3 with nearest x2 upsampling before G_middle_0 and before each up block,
LeakyReLU 0.2, a 3x3 conv to 3 channels and tanh. The output is load_size square whatever the
input size. Every SPADE is conditioned on the degraded face itself, resized to its block's size
(bilinear, no antialiasing, as PyTorch's `interpolate`).

Variables: "params"; "batch_stats" (running mean and variance of the parameter-free batch norms);
"spectral" (u, v of the 18 spectrally normalised convs). With `train=True` the batch norms
normalise with the statistics of the whole (global) batch and update their running averages, and
each spectral norm runs one power iteration: apply with mutable=["batch_stats", "spectral"].
"""

import flax.linen as nn
import jax
import jax.numpy as jnp

from oldrestore.models.spectral_norm import SpectralNorm

LEAKY_SLOPE = 0.2
# The reference's init (init_type xavier, init_variance 0.02): every conv weight xavier-normal
# with gain 0.02, biases zero. Only used for a fresh start; checkpoints overwrite it.
xavier_init = nn.initializers.variance_scaling(0.02**2, "fan_avg", "normal")
BLOCKS = ("head_0", "G_middle_0", "G_middle_1", "up_0", "up_1", "up_2", "up_3")
BLOCK_WIDTHS = (16, 16, 16, 8, 4, 2, 1)  # x ngf
UPSAMPLE_BEFORE = ("G_middle_0", "up_0", "up_1", "up_2", "up_3")


def resize_bilinear(images, size: tuple[int, int]):
    """PyTorch's interpolate(mode="bilinear", align_corners=False): no antialiasing."""
    n, _, _, c = images.shape
    return jax.image.resize(images, (n, *size, c), "linear", antialias=False)


def upsample_nearest(x):
    return jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)


def conv3x3(features: int, name: str) -> nn.Conv:
    return nn.Conv(features, (3, 3), padding=1, kernel_init=xavier_init,
                   bias_init=nn.initializers.zeros, name=name)


class ParamFreeBatchNorm(nn.Module):
    """BatchNorm2d(affine=False), momentum 0.1, eps 1e-5: the reference's synchronised batch norm.

    Training normalises with the batch mean and biased variance over (N, H, W) of the whole batch:
    under jit with the batch sharded over devices that is the cross-device ("synchronised")
    statistic, XLA inserts the reductions. The running variance takes the unbiased variance.
    """

    momentum: float = 0.1
    epsilon: float = 1e-5

    @nn.compact
    def __call__(self, x, train: bool):
        features = x.shape[-1]
        running_mean = self.variable("batch_stats", "mean", jnp.zeros, (features,), x.dtype)
        running_var = self.variable("batch_stats", "var", jnp.ones, (features,), x.dtype)
        if not train:
            mean, var = running_mean.value, running_var.value
        else:
            count = x.size // features
            if count < 2:
                raise ValueError("batch norm in training needs more than one value per channel: "
                                 "a larger batch or face size")
            mean = jnp.mean(x, axis=(0, 1, 2))
            var = jnp.mean(jnp.square(x - mean), axis=(0, 1, 2))
            if not self.is_initializing():
                m = self.momentum
                running_mean.value = (1 - m) * running_mean.value + m * mean
                running_var.value = (1 - m) * running_var.value + m * var * count / (count - 1)
        return (x - mean) * jax.lax.rsqrt(var + self.epsilon)


class SPADE(nn.Module):
    """out = BN(x) (1 + gamma) + beta; gamma, beta = 3x3 convs of ReLU(3x3 conv of the degraded
    face resized to x's size). `hidden` is hard-coded to 128 in the reference."""

    hidden: int = 128

    @nn.compact
    def __call__(self, x, degraded, train: bool):
        normalized = ParamFreeBatchNorm(name="param_free_norm")(x, train)
        condition = resize_bilinear(degraded, x.shape[1:3])
        shared = nn.relu(conv3x3(self.hidden, "mlp_shared")(condition))
        gamma = conv3x3(x.shape[-1], "mlp_gamma")(shared)
        beta = conv3x3(x.shape[-1], "mlp_beta")(shared)
        return normalized * (1 + gamma) + beta


class SpectralConv(nn.Module):
    """k x k conv (zero padding k // 2) whose kernel is divided by its spectral norm."""

    features: int
    kernel_size: int = 3
    use_bias: bool = True

    @nn.compact
    def __call__(self, x, train: bool):
        k = self.kernel_size
        kernel = self.param("kernel", xavier_init, (k, k, x.shape[-1], self.features))
        kernel = SpectralNorm(name="spectral_norm")(kernel, update_stats=train)
        p = k // 2
        y = jax.lax.conv_general_dilated(x, kernel.astype(x.dtype), (1, 1), ((p, p), (p, p)),
                                         dimension_numbers=("NHWC", "HWIO", "NHWC"))
        if self.use_bias:
            y = y + self.param("bias", nn.initializers.zeros, (self.features,))
        return y


class SPADEResBlock(nn.Module):
    """Pre-activation block: x + conv_1(lrelu(SPADE_1(conv_0(lrelu(SPADE_0(x)))))), the middle
    width min(in, out); when the width changes the shortcut is conv_s(SPADE_s(x)), a bias-free
    1x1 conv without activation."""

    features: int
    spade_hidden: int = 128

    @nn.compact
    def __call__(self, x, degraded, train: bool):
        middle = min(x.shape[-1], self.features)

        def spade(name, h):
            return SPADE(self.spade_hidden, name=name)(h, degraded, train)

        if x.shape[-1] != self.features:
            shortcut = SpectralConv(self.features, 1, use_bias=False, name="conv_s")(
                spade("norm_s", x), train)
        else:
            shortcut = x
        dx = SpectralConv(middle, name="conv_0")(nn.leaky_relu(spade("norm_0", x), LEAKY_SLOPE),
                                                 train)
        dx = SpectralConv(self.features, name="conv_1")(
            nn.leaky_relu(spade("norm_1", dx), LEAKY_SLOPE), train)
        return shortcut + dx


class FaceSPADEGenerator(nn.Module):
    """Degraded face [B, H, W, 3] in [-1, 1] -> enhanced face [B, load_size, load_size, 3].

    ngf 64 and spade_hidden 128 are the reference's (92,059,587 parameters); load_size 256, or
    512 for its HR setting (the same weights fit both).
    """

    ngf: int = 64
    load_size: int = 256
    spade_hidden: int = 128

    @nn.compact
    def __call__(self, degraded, train: bool = False):
        start = self.load_size // 32
        x = conv3x3(16 * self.ngf, "fc")(resize_bilinear(degraded, (start, start)))
        for name, width in zip(BLOCKS, BLOCK_WIDTHS, strict=True):
            if name in UPSAMPLE_BEFORE:
                x = upsample_nearest(x)
            x = SPADEResBlock(width * self.ngf, self.spade_hidden, name=name)(x, degraded, train)
        x = conv3x3(3, "conv_img")(nn.leaky_relu(x, LEAKY_SLOPE))
        return jnp.tanh(x)
