"""The direct baseline: pix2pix's U-Net maps the degraded photo straight to the clean one.

Pairs are made inside the step from clean crops by the whole degradation model (degrade_pair:
structured defects blended in, the pair greyed together). Losses: the chain's image terms
(adversarial.generator_image_terms: LSGAN with the conditional multi-scale discriminator on
(degraded, output), its feature matching, VGG) plus the pixel L1. As in the other GAN stages, one
forward pass gives both networks' gradients (see vae_stage.py).
"""

import jax
import jax.numpy as jnp

from oldrestore.models.layers import count_params
from oldrestore.models.vgg import load_vgg16_params
from oldrestore.stages import pix2pix_networks
from oldrestore.train.adversarial import discriminate, generator_image_terms
from oldrestore.train.loop import Stage
from oldrestore.train.optim import adam, apply_gradients
from oldrestore.train.pairs import degraded_pairs
from oldrestore.train.stage1_data import clean_batches
from oldrestore.train.vae_stage import psnr

MIN_BATCH = 1


def stride(config) -> int:
    return 2**config.model.depth


def optimizers_for(config) -> dict:
    return {"generator": adam(config.optim, config.total_steps),
            "disc": adam(config.disc_optim, config.total_steps)}


def initial_state_fn(config):
    """key -> {"step", "generator": {"params", "opt"}, "disc": {"params", "opt"[, "spectral"]}}."""
    nets, optimizers = pix2pix_networks(config), optimizers_for(config)
    crop = config.data.crop_size

    def init(key):
        state = {"step": jnp.zeros((), jnp.int32)}
        keys = jax.random.split(key)
        for (name, channels), net_key in zip((("generator", 3), ("disc", 6)), keys, strict=True):
            variables = dict(nets[name].init(net_key, jnp.zeros((1, crop, crop, channels))))
            params = variables.pop("params")
            state[name] = {"params": params, "opt": optimizers[name].init(params), **variables}
        return state

    return init




def make_stage(config, mesh) -> Stage:
    nets = pix2pix_networks(config)
    generator, disc = nets["generator"], nets["disc"]
    optimizers = optimizers_for(config)
    weights = config.loss

    def losses_and_grads(state, x, y, dropout_key, vgg_params):
        restored, generator_vjp = jax.vjp(
            lambda params: generator.apply({"params": params}, x, train=True,
                                           rngs={"dropout": dropout_key}),
            state["generator"]["params"])
        d = discriminate(disc, state["disc"], jnp.concatenate([x, y], -1),
                         jnp.concatenate([x, restored], -1))

        def generator_terms(fake_outs, restored):
            terms = generator_image_terms(weights, config.disc.num_layers, d.real_outputs,
                                          fake_outs, restored, y, vgg_params)
            return sum(terms.values()), terms

        (g_total, terms), (ct_outs, ct_restored) = jax.value_and_grad(
            generator_terms, argnums=(0, 1), has_aux=True)(d.fake_outputs, restored)
        ct_restored = ct_restored + d.fake_vjp(ct_outs)[1][..., 3:]  # D's input: (x, restored)
        grads = {"generator": generator_vjp(ct_restored)[0], "disc": d.grads}
        metrics = dict(terms, d_loss=d.loss, g_total=g_total, restored_psnr=psnr(restored, y),
                       input_psnr=psnr(x, y))
        return grads, metrics, d.state, restored

    def step(state, batch, seed_key, constants):
        key = jax.random.fold_in(seed_key, state["step"])
        input_key, dropout_key = jax.random.split(key)
        x, y = degraded_pairs(config, batch, input_key)
        grads, metrics, disc_state, restored = losses_and_grads(state, x, y, dropout_key,
                                                                constants["vgg"])
        new_state = {"step": state["step"] + 1}
        for name, net_state in (("generator", state["generator"]), ("disc", disc_state)):
            new_state[name] = apply_gradients(optimizers[name], net_state, grads[name])
        return new_state, metrics, {"input": x, "restored": restored, "clean": y}

    return Stage(
        name=config.stage, init=initial_state_fn(config), step=step,
        param_counts=lambda state: {name: count_params(state[name]["params"]) for name in nets},
        batches=clean_batches(config), constants={"vgg": load_vgg16_params()})
