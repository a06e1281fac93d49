"""Restoring multi-megapixel photos in bounded memory: the chain of `restore.translate` run as
separate compiled stages, each freeing what it no longer needs.

One program for the whole chain keeps the buffers of every stage in one assignment; at 4000 x
3000 a single 512-channel latent activation is 1.5 GB and a 64-channel full-resolution one 3 GB.
As stages (VAE1's encoder; the mapping's head, partial non-local block, tail and colour head;
VAE2's decoder), the peak is that of the largest stage (measured: benchmarks/restore.py).
Every stage computes exactly what `translate` computes (instance norms over the whole map).
"""

import functools

import jax

from oldrestore.models.mapping import ColourHead, MappingHead, MappingTail, ScratchMapping
from oldrestore.models.vae import VAE, join_colour, split_colour


def _mapping_stages(mapping, latent_width: int):
    """(name, module) of the mapping's parts in order; the names are its params' top level."""
    stages = [("head", MappingHead(mapping.max_channels))]
    if isinstance(mapping, ScratchMapping):
        # Unbound: built outside the mapping's own scope, so it runs as a program of its own.
        stages.append(("nonlocal", mapping.nonlocal_block(parent=None)))
    stages.append(("tail", MappingTail(mapping.max_channels, mapping.n_blocks, latent_width)))
    return stages


def _apply_part(module, params, x, *holes):
    return module.apply({"params": params}, x, *holes)


@functools.cache
def _compiled_stages(modules):
    """Jitted stages of a ChainModules: encoder, [(name, mapping part)], decoder."""

    def encode(params, photos):
        return modules.vae1.apply({"params": params}, photos, method=VAE.encode).mean

    def decode(params, latent):
        return modules.vae2.apply({"params": params}, latent, method=VAE.decode)

    # The non-local block's output has its input's shape: it can take over the input's buffer.
    parts = [
        (name, jax.jit(functools.partial(_apply_part, module),
                       donate_argnums=1 if name == "nonlocal" else ()))
        for name, module in _mapping_stages(modules.mapping, modules.vae1.features)
    ]
    colour = jax.jit(functools.partial(_apply_part, ColourHead()))
    return jax.jit(encode), parts, colour, jax.jit(decode)


def translate_in_stages(modules, params: dict, photos, holes=None):
    """`restore.translate(modules, params, photos, holes)`, stage by stage (see module doc):
    returns (mapped latent, restored photos)."""
    encode, parts, colour_head, decode = _compiled_stages(modules)
    x = encode(params["vae1"], photos)
    if modules.mapping.colour_stats:
        x, colour = split_colour(x)
        learned = x
    for name, part in parts:
        x = part(params["mapping"][name], x, *([holes] if name == "nonlocal" else []))
    if modules.mapping.colour_stats:
        x = join_colour(x, colour_head(params["mapping"]["colour"], learned, colour))
    return x, decode(params["vae2"], x)
