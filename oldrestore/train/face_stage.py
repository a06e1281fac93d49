"""The face stage: the SPADE face generator learns to undo the degradation model on face photos;
a multi-scale PatchGAN with spectral norm judges its output (configs/face.py says whose every
setting is).

Losses (SPADE's, which the reference's face model calls into): generator = hinge GAN + D feature
matching x10 + VGG x10 (+ an optional pixel L1, ours); discriminator = hinge on real + hinge on
fake. As in SPADE, D sees the generated and the clean faces as one batch: one D pass (one
spectral-norm power iteration) gives D's loss and gradient and the generator's adversarial terms.
SPADE's trainer steps G, then runs the updated G again to make D's fake; we update both from one
forward, as the other stages do (so D learns from the fake of the G before the step, and G's
batch-norm statistics and spectral vectors advance once per step instead of twice).
"""

import jax
import jax.numpy as jnp

from oldrestore.losses import face as face_losses
from oldrestore.losses.perceptual import vgg_loss
from oldrestore.models.layers import count_params
from oldrestore.models.vgg import load_vgg16_params
from oldrestore.stages import face_networks
from oldrestore.train.adversarial import disc_forward, pixel_l1
from oldrestore.train.face_data import face_batches
from oldrestore.train.loop import Stage
from oldrestore.train.optim import adam, apply_gradients
from oldrestore.train.pairs import degraded_pairs
from oldrestore.train.vae_stage import psnr

MIN_BATCH = 1
GENERATOR_STATE = ("batch_stats", "spectral")  # the generator's non-trained variables


def stride(config) -> int:
    """Face sizes must be multiples of 32: the generator starts at size / 32."""
    return 32


def optimizers_for(config) -> dict:
    """Adam per network; with TTUR the generator at lr / 2 and the discriminator at 2 lr."""
    ttur = config.optim.ttur
    factors = {"generator": 0.5 if ttur else 1.0, "disc": 2.0 if ttur else 1.0}
    optimizers = {}
    for name, factor in factors.items():
        optim = config.optim.copy_and_resolve_references()
        optim.lr = config.optim.lr * factor
        optimizers[name] = adam(optim, config.total_steps)
    return optimizers


def initial_state_fn(config):
    """key -> {"step", "generator": {"params", "opt", "batch_stats", "spectral"},
    "disc": {"params", "opt"[, "spectral"]}}."""
    nets, optimizers = face_networks(config), optimizers_for(config)
    size = config.data.crop_size

    def init(key):
        state = {"step": jnp.zeros((), jnp.int32)}
        keys = jax.random.split(key, len(nets))
        for key, (name, net) in zip(keys, sorted(nets.items()), strict=True):
            variables = dict(net.init(key, jnp.zeros((1, size, size, 3))))
            params = variables.pop("params")
            state[name] = {"params": params, "opt": optimizers[name].init(params), **variables}
        return state

    return init


def generator_variables(net_state) -> dict:
    return {name: net_state[name] for name in ("params", *GENERATOR_STATE)}


def enhance(generator, net_state, degraded):
    """Inference, as the reference runs it: eval mode (running statistics, stored vectors)."""
    return generator.apply(generator_variables(net_state), degraded)


def make_stage(config, mesh) -> Stage:
    nets = face_networks(config)
    generator, disc = nets["generator"], nets["disc"]
    optimizers = optimizers_for(config)
    weights = config.loss

    def losses_and_grads(state, x, y, vgg_params):
        g_state = state["generator"]

        def generate(params):
            variables = dict(generator_variables(g_state), params=params)
            return generator.apply(variables, x, train=True, mutable=list(GENERATOR_STATE))

        fake, g_vjp, g_updates = jax.vjp(generate, g_state["params"], has_aux=True)
        outputs, d_vjp, disc_state = disc_forward(disc, state["disc"],
                                                  jnp.concatenate([fake, y]))
        n = x.shape[0]

        def fake_and_real(outputs):
            return ([[o[:n] for o in scale] for scale in outputs],
                    [[o[n:] for o in scale] for scale in outputs])

        def d_loss(outputs):
            fake_outputs, real_outputs = fake_and_real(outputs)
            return face_losses.hinge_d_loss(real_outputs, fake_outputs)

        def generator_terms(outputs, fake):
            fake_outputs, real_outputs = fake_and_real(outputs)
            terms = {
                "g_gan": face_losses.hinge_g_loss(fake_outputs) * weights.gan,
                "g_feature_matching": face_losses.feature_matching(
                    real_outputs, fake_outputs, weights.feature_matching),
                "g_vgg": vgg_loss(fake, y, vgg_params, layer_weights=weights.vgg_layer_weights,
                                  weight=weights.vgg,
                                  imagenet_normalize=weights.vgg_imagenet_normalize),
            }
            if weights.get("l1"):
                terms["g_l1"] = pixel_l1(fake, y) * weights.l1
            return sum(terms.values()), terms

        d_value, ct_d = jax.value_and_grad(d_loss)(outputs)
        (g_total, terms), (ct_outputs, ct_fake) = jax.value_and_grad(
            generator_terms, argnums=(0, 1), has_aux=True)(outputs, fake)
        ct_fake = ct_fake + d_vjp(ct_outputs)[1][:n]
        grads = {"generator": g_vjp(ct_fake)[0], "disc": d_vjp(ct_d)[0]}
        new_states = {"generator": dict(g_state, **g_updates), "disc": disc_state}
        metrics = dict(terms, d_loss=d_value, g_total=g_total, enhanced_psnr=psnr(fake, y),
                       input_psnr=psnr(x, y))
        return grads, metrics, new_states, fake

    def step(state, batch, seed_key, constants):
        key = jax.random.fold_in(seed_key, state["step"])
        x, y = degraded_pairs(config, batch, key)
        grads, metrics, new_states, enhanced = losses_and_grads(state, x, y, constants["vgg"])
        new_state = {"step": state["step"] + 1}
        for name in nets:
            new_state[name] = apply_gradients(optimizers[name], new_states[name], grads[name])
        return new_state, metrics, {"input": x, "enhanced": enhanced, "clean": y}

    def param_counts(state):
        return {name: count_params(state[name]["params"]) for name in nets}

    return Stage(name="face", init=initial_state_fn(config), step=step,
                 param_counts=param_counts, batches=face_batches(config),
                 constants={"vgg": load_vgg16_params()})
