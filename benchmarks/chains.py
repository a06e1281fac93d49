"""Scratch-mode restores (`oldrestore.inference.restore.translate`) with a chosen attention mode:
the reference configuration at random init, or a trained chain (workdirs or a bundle)."""

import dataclasses
import functools

import jax
import jax.numpy as jnp

from oldrestore.inference.restore import ChainModules, Restorer, translate
from oldrestore.inference.weights import load_chain, open_weights
from oldrestore.models.mapping import QualityMapping, ScratchMapping
from oldrestore.models.vae import VAE


@functools.cache
def random_reference_params(scratch: bool) -> dict:
    """VAE1, VAE2 (width 64) and the mapping (width 512) of the reference, at random init."""
    vae = VAE()
    image, latent = jnp.zeros((1, 32, 32, 3)), jnp.zeros((1, 8, 8, 64))
    mapping = ScratchMapping() if scratch else QualityMapping()
    mapping_inputs = (latent, jnp.zeros((1, 32, 32, 1))) if scratch else (latent,)
    return {
        "vae1": jax.jit(vae.init)(jax.random.key(0), image)["params"],
        "vae2": jax.jit(vae.init)(jax.random.key(1), image)["params"],
        "mapping": jax.jit(mapping.init)(jax.random.key(2), *mapping_inputs)["params"],
    }


def restore_chain(weights: str = "random", **mapping_fields):
    """(image (1, H, W, 3) in [-1, 1], mask (1, H, W, 1)) -> restored image, jitted, with the
    scratch mapping's fields overridden. weights: "random" (the reference configuration at
    random init) or what launch/restore.py's --checkpoints takes."""
    if weights == "random":
        vae, params = VAE(), random_reference_params(scratch=True)
        modules = ChainModules(vae1=vae, mapping=ScratchMapping(**mapping_fields), vae2=vae)
    else:
        restorer = Restorer(*load_chain(open_weights(weights), scratch=True))
        modules = dataclasses.replace(
            restorer.modules, mapping=restorer.modules.mapping.clone(**mapping_fields))
        params = restorer.params
    restore = jax.jit(lambda params, image, mask: translate(modules, params, image, mask)[1])
    return functools.partial(restore, params)
