"""Discriminator passes shared by the GAN stages: one forward per input, two gradients from it.

The generator's adversarial terms and the discriminator's loss are both functions of the same
discriminator outputs; one forward with `jax.vjp` gives the discriminator's parameter gradient
(for its own loss) and the gradient with respect to the generated images (for the generator's
loss), instead of running D again on a detached copy.
"""

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from oldrestore.evaluation import image_metrics
from oldrestore.losses import gan, perceptual


def has_spectral_state(disc_state) -> bool:
    return "spectral" in disc_state


def disc_forward(net, disc_state, inputs):
    """D(inputs) with its vjp. Returns (outputs, vjp, new disc state).

    vjp(cotangent of outputs) -> (gradient w.r.t. D's params, gradient w.r.t. inputs). With
    spectral norm this is a training-mode pass: one power iteration, whose vectors are returned in
    the new state.
    """
    spectral = has_spectral_state(disc_state)

    def run(params, x):
        if not spectral:
            return net.apply({"params": params}, x), None
        outputs, mutated = net.apply({"params": params, "spectral": disc_state["spectral"]}, x,
                                     update_stats=True, mutable=["spectral"])
        return outputs, mutated["spectral"]

    outputs, vjp, new_spectral = jax.vjp(run, disc_state["params"], inputs, has_aux=True)
    new_state = dict(disc_state, spectral=new_spectral) if spectral else disc_state
    return outputs, vjp, new_state


def add_trees(a, b):
    return jax.tree.map(lambda x, y: x + y, a, b)


class DiscriminatorPass(NamedTuple):
    real_outputs: list
    fake_outputs: list
    fake_vjp: Callable  # cotangent of fake_outputs -> (D's param gradient, gradient w.r.t. fake)
    loss: jax.Array  # D's LSGAN loss
    grads: dict  # its gradient w.r.t. D's params
    state: dict  # D's new state (spectral-norm vectors)


def discriminate(net, disc_state, real, fake) -> DiscriminatorPass:
    """D on the real and on the generated images, with D's loss and gradient from those passes."""
    real_outputs, real_vjp, disc_state = disc_forward(net, disc_state, real)
    fake_outputs, fake_vjp, disc_state = disc_forward(net, disc_state, fake)
    loss, (ct_real, ct_fake) = jax.value_and_grad(gan.lsgan_d_loss, argnums=(0, 1))(
        real_outputs, fake_outputs)
    grads = add_trees(real_vjp(ct_real)[0], fake_vjp(ct_fake)[0])
    return DiscriminatorPass(real_outputs, fake_outputs, fake_vjp, loss, grads, disc_state)


def generator_image_terms(weights, num_layers: int, real_outputs, fake_outputs, fake, target,
                          vgg_params) -> dict:
    """The generator's image losses every GAN stage shares: LSGAN, D feature matching, VGG of
    `fake` against `target`, and a pixel L1 and an SSIM term where `weights.l1`, `weights.ssim`
    are set (config.loss)."""
    terms = {
        "g_gan": gan.lsgan_g_loss(fake_outputs) * weights.gan,
        "g_feature_matching": gan.feature_matching(
            real_outputs, fake_outputs, weight=weights.feature_matching, n_layers=num_layers),
    }
    if weights.vgg:  # a zero weight skips VGG16 and its gradient (29-61% of a cpu mapping step)
        terms["g_vgg"] = perceptual.vgg_loss(
            fake, target, vgg_params, layer_weights=weights.vgg_layer_weights,
            weight=weights.vgg, imagenet_normalize=weights.vgg_imagenet_normalize)
    if weights.get("l1"):
        terms["g_l1"] = pixel_l1(fake, target) * weights.l1
    if weights.get("ssim"):
        terms["g_ssim"] = ssim_loss(fake, target) * weights.ssim
    return terms


def pixel_l1(fake, target):
    return jnp.mean(jnp.abs(fake - target))


def ssim_loss(fake, target):
    """1 - SSIM of [-1, 1] images: the evaluation's own SSIM (image_metrics), batch-averaged."""
    return 1.0 - jnp.mean(image_metrics.ssim((fake + 1.0) / 2.0, (target + 1.0) / 2.0))
