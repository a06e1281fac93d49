"""Stage-1 VAE: parameter counts, shapes, posteriors, fidelity to the golden vectors."""

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from oldrestore.losses.vae import kl_gaussian
from oldrestore.models.layers import count_params, instance_norm
from oldrestore.models.torch_import import conv_transpose_weight, import_vae
from oldrestore.models.vae import (
    VAE,
    ConvTranspose2x,
    Decoder,
    Encoder,
    colour_statistics,
    join_colour,
    split_colour,
)
from tests.golden_helpers import assert_close, nhwc

GOLDEN_WIDTH = 16  # the golden VAE is the reference at ngf = mc = 16






pytestmark = pytest.mark.usefixtures("fast_compile")


@pytest.fixture(scope="module")
def golden(golden_dir):
    return dict(np.load(golden_dir / "vae_encoder_decoder.npz"))


def test_parameter_counts_at_reference_configuration():
    key, x = jax.random.key(0), jnp.zeros((1, 32, 32, 3))
    latent = jnp.zeros((1, 8, 8, 64))
    assert count_params(jax.eval_shape(Encoder().init, key, x)) == 436_096
    assert count_params(jax.eval_shape(Decoder().init, key, latent)) == 436_035
    assert count_params(jax.eval_shape(VAE().init, key, x)) == 872_131


def test_shapes_at_256():
    vae = VAE()
    x = jnp.zeros((1, 256, 256, 3))
    (reconstruction, encoded), _ = jax.eval_shape(vae.init_with_output, jax.random.key(0), x)
    assert encoded.latent.shape == encoded.mean.shape == (1, 64, 64, 64)
    assert reconstruction.shape == (1, 256, 256, 3)


def test_conv_transpose_matches_pytorch_definition():
    """Against the definition (input pixel m adds w[k] to output 2m - 1 + k), in != out channels."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, 3, 5, 2))
    w_iohw = rng.normal(size=(2, 3, 4, 4))
    bias = rng.normal(size=3)
    expected = np.zeros((1, 8, 12, 3)) + bias  # 2H + 2 rows before cropping the padding 1
    for i in range(3):
        for j in range(5):
            for ky in range(4):
                for kx in range(4):
                    expected[0, 2 * i + ky, 2 * j + kx] += x[0, i, j] @ w_iohw[:, :, ky, kx]
    expected = expected[:, 1:-1, 1:-1]
    params = {"kernel": conv_transpose_weight(w_iohw), "bias": bias}
    with jax.enable_x64(True):
        actual = ConvTranspose2x(3).apply({"params": params}, x)
    assert actual.shape == (1, 6, 10, 3)
    assert_close(actual, expected, 1e-13)


@pytest.mark.parametrize("suffix", ["", "_nonsquare"])
def test_golden_latent_and_reconstruction_float64(golden, suffix):
    vae = VAE(features=GOLDEN_WIDTH)
    with jax.enable_x64(True):
        params = import_vae(golden)
        x = nhwc(golden["input" + suffix])
        encoded = jax.jit(partial(vae.apply, method=VAE.encode))({"params": params}, x)
        reconstruction = jax.jit(partial(vae.apply, method=VAE.decode))(
            {"params": params}, encoded.latent
        )
    assert encoded.latent.dtype == jnp.float64
    assert_close(encoded.latent, nhwc(golden["latent" + suffix]), 1e-12)
    assert_close(reconstruction, nhwc(golden["reconstruction" + suffix]), 1e-12)


# Reference child index -> (our module path, whether the reference recorded the IN after it).
ENCODER_ACTIVATIONS = {
    1: "stem",
    2: "stem+IN",
    4: "down0",
    5: "down0+IN",
    7: "down1",
    8: "down1+IN",
}
ENCODER_ACTIVATIONS |= {10 + j: f"block{j}" for j in range(4)}
DECODER_ACTIVATIONS = {j: f"block{j}" for j in range(4)}
DECODER_ACTIVATIONS |= {4: "up0", 5: "up0+IN", 7: "up1", 8: "up1+IN", 11: "head"}


def test_golden_intermediate_activations_float64(golden):
    vae = VAE(features=GOLDEN_WIDTH)
    with jax.enable_x64(True):
        params = import_vae(golden)
        apply = jax.jit(partial(vae.apply, capture_intermediates=True))
        _, state = apply({"params": params}, nhwc(golden["input"]))
        for part, activations in (
            ("encoder", ENCODER_ACTIVATIONS),
            ("decoder", DECODER_ACTIVATIONS),
        ):
            captured = state["intermediates"][part]
            for index, name in activations.items():
                module, _, norm = name.partition("+")
                actual = captured[module]["__call__"][0]
                if norm:
                    actual = instance_norm(actual)
                assert_close(actual, nhwc(golden[f"act_{part}_{index}"]), 1e-12)
        reconstruction = state["intermediates"]["decoder"]["__call__"][0]
        assert_close(reconstruction, nhwc(golden["act_decoder_12"]), 1e-12)


@pytest.mark.parametrize("suffix", ["", "_nonsquare"])
def test_golden_float32(golden, suffix):
    vae = VAE(features=GOLDEN_WIDTH)
    params = import_vae(golden, dtype=np.float32)
    x = nhwc(golden["input" + suffix]).astype(np.float32)
    reconstruction, encoded = jax.jit(vae.apply)({"params": params}, x)
    assert reconstruction.dtype == jnp.float32
    assert_close(encoded.latent, nhwc(golden["latent" + suffix]), 1e-5)
    assert_close(reconstruction, nhwc(golden["reconstruction" + suffix]), 1e-5)


def small_vae(**kwargs):
    """A narrow VAE with random parameters drawn by numpy (a flax init compiles slowly)."""
    vae = VAE(features=8, **kwargs)
    x = jax.random.uniform(jax.random.key(1), (2, 16, 16, 3), minval=-1, maxval=1)
    shapes = jax.eval_shape(vae.init, jax.random.key(0), x)["params"]
    rng = np.random.default_rng(0)
    params = jax.tree.map(lambda s: 0.1 * rng.standard_normal(s.shape, np.float32), shapes)
    return vae, params, x


def test_conv_transpose_init():
    params = ConvTranspose2x(32).init(jax.random.key(0), jnp.zeros((1, 4, 4, 16)))["params"]
    assert params["kernel"].shape == (4, 4, 16, 32)
    assert 0.015 < float(jnp.std(params["kernel"])) < 0.025  # the reference's N(0, 0.02)
    assert float(jnp.abs(params["bias"]).max()) <= 1 / np.sqrt(16 * 32)  # PyTorch's default bound


def test_reference_posterior():
    vae, params, x = small_vae()
    encode = jax.jit(partial(vae.apply, method=VAE.encode))
    mean_only = encode({"params": params}, x)
    np.testing.assert_array_equal(mean_only.latent, mean_only.mean)
    np.testing.assert_allclose(mean_only.kl, jnp.mean(mean_only.mean**2), rtol=1e-6)
    sampled = encode({"params": params}, x, jax.random.key(2))
    np.testing.assert_allclose(sampled.mean, mean_only.mean, rtol=1e-6)
    noise = sampled.latent - sampled.mean
    assert abs(float(jnp.std(noise)) - 1.0) < 0.1  # unit variance, 512 draws
    other = encode({"params": params}, x, jax.random.key(3))
    assert not np.allclose(other.latent, sampled.latent)


def test_learned_variance_posterior():
    vae, params, x = small_vae(learned_variance=True)
    assert count_params(params) == count_params(small_vae()[1]) + 2 * (8 * 8 + 8)

    def encode_and_heads(module, x, key):
        h = module.encoder(x)
        return module.encode(x, key), module.mean_head(h), module.logvar_head(h)

    key = jax.random.key(2)
    encoded, mean, logvar = jax.jit(partial(vae.apply, method=encode_and_heads))(
        {"params": params}, x, key
    )
    np.testing.assert_allclose(encoded.mean, mean, rtol=1e-6)
    np.testing.assert_allclose(encoded.kl, kl_gaussian(mean, logvar), rtol=1e-6)
    sample = mean + jnp.exp(0.5 * logvar) * jax.random.normal(key, mean.shape)
    np.testing.assert_allclose(encoded.latent, sample, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("learned_variance", [False, True])
def test_gradients_are_finite(learned_variance):
    vae, params, x = small_vae(learned_variance=learned_variance)

    def loss(params):
        reconstruction, encoded = vae.apply({"params": params}, x, jax.random.key(2))
        return jnp.mean(jnp.abs(reconstruction - x)) + encoded.kl

    leaves = jax.tree.leaves(jax.jit(jax.grad(loss))(params))
    assert all(bool(jnp.all(jnp.isfinite(g))) for g in leaves)
    assert any(float(jnp.abs(g).max()) > 0 for g in leaves)


def test_colour_statistics_ride_in_the_latent_and_set_the_reconstructions_colour():
    vae, params, x = small_vae(colour_stats=True)
    assert count_params(params) == count_params(small_vae()[1])  # no parameters added
    x = 0.3 * x + jnp.asarray([0.2, -0.1, 0.05])  # stays inside [-1, 1]: no clamping
    pixels = np.asarray(x).reshape(x.shape[0], -1, 3)
    expected = np.concatenate([pixels.mean(1), pixels.std(1)], -1)
    np.testing.assert_allclose(colour_statistics(x), expected, rtol=1e-5, atol=1e-6)

    reconstruction, encoded = jax.jit(vae.apply)({"params": params}, x, jax.random.key(2))
    assert encoded.latent.shape[-1] == vae.latent_channels == 8 + 6
    learned, colour = split_colour(encoded.latent)
    np.testing.assert_allclose(colour, expected, rtol=1e-5, atol=1e-6)  # no noise on colour
    np.testing.assert_allclose(join_colour(learned, colour), encoded.latent, rtol=1e-6)
    np.testing.assert_allclose(colour_statistics(reconstruction), expected, rtol=1e-3, atol=2e-3)
