"""Stage 2: the latent mapping T from VAE1's latent of a degraded photo to VAE2's latent of the
clean one; both VAEs frozen (frozen_vaes.py). The quality mapping sees unstructured degradation
only; the scratch mapping also sees holes, painted white, and their mask.

Losses (reference-implementation.md section 3d): latent L1 x 60 against VAE2's encoding of the
clean photo; conditional LSGAN on (degraded, restored) against (degraded, clean) with the 6-channel
multi-scale discriminator; its feature matching x 10; VGG x 10. As in stage 1, one forward pass
gives both gradients (see vae_stage.py): the reference's G-then-D order with D on the detached
fake is the same update.
"""

import logging

import jax
import jax.numpy as jnp

from oldrestore.data import degrade
from oldrestore.data.real_masks import load_masks, random_real_masks
from oldrestore.inference.restore import ChainModules, paint_holes, translate
from oldrestore.models.layers import count_params
from oldrestore.models.vgg import load_vgg16_params
from oldrestore.stages import mapping_networks
from oldrestore.train.adversarial import discriminate, generator_image_terms
from oldrestore.train.frozen_vaes import NAMES, latent_shape, load_frozen_vaes
from oldrestore.train.loop import Stage
from oldrestore.train.optim import adam, apply_gradients
from oldrestore.train.stage1_data import clean_batches
from oldrestore.train.vae_stage import psnr

MIN_BATCH = 1


def stride(config) -> int:
    return latent_shape(config)[0]


def is_scratch(config) -> bool:
    return config.stage == "mapping_scratch"


def optimizers_for(config) -> dict:
    return {"mapping": adam(config.optim, config.total_steps),
            "disc": adam(config.disc_optim, config.total_steps)}


def initial_state_fn(config):
    """key -> {"step", "frozen_steps", "mapping": {"params", "opt"}, "disc": {"params", "opt"[,
    "spectral"]}}. frozen_steps: the checkpoint steps of the frozen VAEs (NAMES order), which
    make_stage fills in; -1 here."""
    nets, optimizers = mapping_networks(config), optimizers_for(config)
    factor, channels = latent_shape(config)
    crop = config.data.crop_size

    def init(key):
        mapping_key, disc_key = jax.random.split(key)
        latent = jnp.zeros((1, crop // factor, crop // factor, channels))
        holes = jnp.zeros((1, crop, crop, 1))
        inputs = (latent, holes) if is_scratch(config) else (latent,)
        state = {"step": jnp.zeros((), jnp.int32),
                 "frozen_steps": jnp.full((len(NAMES),), -1, jnp.int32)}
        for name, key, args in (("mapping", mapping_key, inputs),
                                ("disc", disc_key, (jnp.zeros((1, crop, crop, 6)),))):
            variables = dict(nets[name].init(key, *args))
            params = variables.pop("params")
            state[name] = {"params": params, "opt": optimizers[name].init(params), **variables}
        return state

    return init


def frozen_steps_of(state) -> dict:
    """name -> the checkpoint step of the frozen VAE that `state` was trained with."""
    steps = jax.device_get(state["frozen_steps"])
    return {name: int(step) for name, step in zip(NAMES, steps, strict=True)}


def pair_degradation(config):
    """The degradation of the pair without structured defects: the scratch mapping's holes are
    painted white over the unstructured result instead (see mapping_inputs)."""
    cfg = config.degradation.copy_and_resolve_references()
    cfg.structured.enabled = False
    return cfg


def mapping_inputs(config, batch, key, masks):
    """(degraded, clean, holes): [-1, 1] images and the [B, H, W, 1] hole mask (1 = hole; all
    zeros for the quality mapping). The pair turns grey together (degrade_pair)."""
    images = batch["image"].astype(jnp.float32) / 255.0
    size = images.shape[0]
    pair_key, hole_key, real_key = jax.random.split(key, 3)
    cfg = pair_degradation(config)
    clean, degraded, holes = jax.vmap(lambda k, image: degrade.degrade_pair(k, image, cfg))(
        jax.random.split(pair_key, size), images)
    if is_scratch(config):
        _, holes = jax.vmap(lambda k, image: degrade.structured(k, image, config.degradation))(
            jax.random.split(hole_key, size), degraded)
        if masks is not None:
            holes = jnp.maximum(holes, random_real_masks(real_key, masks, size,
                                                         config.data.real_mask_prob))
        without_holes = round(size * config.data.no_hole_fraction)
        holes = holes * (jnp.arange(size) >= without_holes)[:, None, None, None]
        return paint_holes(degraded * 2.0 - 1.0, holes), clean * 2.0 - 1.0, holes
    return degraded * 2.0 - 1.0, clean * 2.0 - 1.0, holes


def make_stage(config, mesh) -> Stage:
    nets = mapping_networks(config)
    disc = nets["disc"]
    optimizers = optimizers_for(config)
    frozen = load_frozen_vaes(config)
    chain = ChainModules(vae1=frozen.modules["vae1"], mapping=nets["mapping"],
                         vae2=frozen.modules["vae2"])
    weights = config.loss
    masks = None
    if is_scratch(config) and config.data.masks_dir:
        masks = load_masks(config.data.masks_dir, config.data.crop_size)

    def restore(params, vaes, x, holes):
        return translate(chain, dict(vaes, mapping=params), x, holes)

    def losses_and_grads(state, x, y, holes, constants):
        vaes = constants["vaes"]
        target = frozen.encode(vaes, "vae2", y)
        (mapped, restored), mapping_vjp = jax.vjp(
            lambda params: restore(params, vaes, x, holes), state["mapping"]["params"])
        d = discriminate(disc, state["disc"], jnp.concatenate([x, y], -1),
                         jnp.concatenate([x, restored], -1))

        def generator_terms(fake_outs, mapped, restored):
            terms = {"g_latent_l1": jnp.mean(jnp.abs(mapped - target)) * weights.latent_l1,
                     **generator_image_terms(weights, config.disc.num_layers, d.real_outputs,
                                             fake_outs, restored, y, constants["vgg"])}
            return sum(terms.values()), terms

        (g_total, terms), (ct_outs, ct_mapped, ct_restored) = jax.value_and_grad(
            generator_terms, argnums=(0, 1, 2), has_aux=True)(d.fake_outputs, mapped, restored)
        ct_restored = ct_restored + d.fake_vjp(ct_outs)[1][..., 3:]  # D's input: (x, restored)
        grads = {"mapping": mapping_vjp((ct_mapped, ct_restored))[0], "disc": d.grads}
        metrics = dict(terms, d_loss=d.loss, g_total=g_total, restored_psnr=psnr(restored, y),
                       input_psnr=psnr(x, y))
        return grads, metrics, d.state, restored

    def step(state, batch, seed_key, constants):
        key = jax.random.fold_in(seed_key, state["step"])
        x, y, holes = mapping_inputs(config, batch, key, constants["masks"])
        grads, metrics, disc_state, restored = losses_and_grads(state, x, y, holes, constants)
        new_state = {"step": state["step"] + 1, "frozen_steps": state["frozen_steps"]}
        for name, net_state in (("mapping", state["mapping"]), ("disc", disc_state)):
            new_state[name] = apply_gradients(optimizers[name], net_state, grads[name])
        rows = {"input": x, "restored": restored, "clean": y}
        if is_scratch(config):
            rows["holes"] = holes * 2.0 - 1.0
        return new_state, metrics, rows

    def param_counts(state):
        counts = {name: count_params(state[name]["params"]) for name in nets}
        if is_scratch(config) and config.model.partial_nonlocal:  # off: the ablation, no block
            counts["mapping.nonlocal"] = count_params(state["mapping"]["params"]["nonlocal"])
        return counts

    fresh_state = initial_state_fn(config)
    loaded_steps = jnp.asarray([frozen.steps[name] for name in NAMES], jnp.int32)
    constants = {"vgg": load_vgg16_params(), "vaes": frozen.params, "masks": masks}

    def constants_for(state):
        """A resumed run keeps the frozen VAEs it started with, even if their runs went on."""
        steps = frozen_steps_of(state)
        if steps == frozen.steps:
            return constants
        logging.warning("%s: this run was trained on the frozen VAEs' steps %s; loading those "
                        "(the latest are %s)", config.stage, steps, frozen.steps)
        return dict(constants, vaes=load_frozen_vaes(config, steps).params)

    return Stage(
        name=config.stage, step=step, param_counts=param_counts,
        init=lambda key: dict(fresh_state(key), frozen_steps=loaded_steps),
        batches=clean_batches(config), constants=constants, constants_for=constants_for)
