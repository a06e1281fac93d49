"""The latent mapping networks of stage 2: quality (`Mapping_Model`) and scratch
(`Mapping_Model_with_mask`), docs/reference-implementation.md sections 3a and 3b.

Both map a domain-A latent (B, h, w, 64) to a domain-B latent of the same shape:

    head:  4 x (conv3x3 zero-pad, IN, ReLU), widths 128, 256, 512, 512 (capped at max_channels)
    [scratch only: the partial non-local block, with the full-resolution hole mask]
    tail:  n_blocks x ResBlock, 3 x (conv3x3, IN, ReLU) to 512, 256, 128, conv3x3 to 64

At the reference configuration (max_channels 512, n_blocks 6) the quality network has
36,135,232 parameters and the scratch network 51,344,704.

colour_stats (a cpu deviation, with the VAEs' own, models/vae.py): the latents end in the photo's
colour statistics; the network maps the learned channels as above, and a small ColourHead
predicts the clean photo's statistics from the degraded photo's (trained by the same latent L1).
"""

import flax.linen as nn
import jax.numpy as jnp

from oldrestore.models.layers import Conv, ResBlock, instance_norm
from oldrestore.models.masked_attention import DEFAULT_BLOCK_K, DEFAULT_BLOCK_Q
from oldrestore.models.nonlocal_block import PartialNonLocalBlock
from oldrestore.models.vae import join_colour, split_colour

# The reference's width schedule doubles from a hard-coded 64 (= the latent width) and is then
# capped at max_channels; its last conv is hard-coded 128 -> 64, so max_channels >= 128.
BASE_WIDTH = 64


def _conv_in_relu(features: int, name: str):
    def apply(x):
        return nn.relu(instance_norm(Conv(features, 3, padding=1, name=name)(x)))

    return apply


class MappingHead(nn.Module):
    """4 x (conv3x3, IN, ReLU): 64 -> 128 -> 256 -> 512 -> 512 at max_channels 512."""

    max_channels: int = 512

    @nn.compact
    def __call__(self, x):
        for i in range(4):
            x = _conv_in_relu(min(BASE_WIDTH * 2 ** (i + 1), self.max_channels), f"conv_{i}")(x)
        return x


class MappingTail(nn.Module):
    """n_blocks x ResBlock, 3 x (conv3x3, IN, ReLU) to 512, 256, 128, then conv3x3 to 64."""

    max_channels: int = 512
    n_blocks: int = 6
    out_channels: int = BASE_WIDTH

    @nn.compact
    def __call__(self, x):
        for i in range(self.n_blocks):
            x = ResBlock(self.max_channels, name=f"block_{i}")(x)
        for i in range(3):
            x = _conv_in_relu(min(BASE_WIDTH * 2 ** (3 - i), self.max_channels), f"conv_{i}")(x)
        return Conv(self.out_channels, 3, padding=1, name="out")(x)


class ColourHead(nn.Module):
    """(degraded latent's learned channels, its colour [B, 6]) -> the clean photo's colour: the
    degraded colour plus a correction from both, pooled. Starts as the identity."""

    hidden: int = 64

    @nn.compact
    def __call__(self, latent, colour):
        pooled = jnp.concatenate([colour, jnp.mean(latent, axis=(1, 2)),
                                  jnp.std(latent, axis=(1, 2))], axis=-1)
        h = nn.relu(nn.Dense(self.hidden, name="hidden")(pooled))
        out = nn.Dense(colour.shape[-1], kernel_init=nn.initializers.zeros, name="out")
        return colour + out(h)


def with_colour(module: nn.Module, latent, map_learned):
    """map_learned(learned channels) for a latent with colour statistics (module.colour_stats),
    their ColourHead prediction appended; map_learned(latent) otherwise."""
    if not module.colour_stats:
        return map_learned(latent)
    learned, colour = split_colour(latent)
    return join_colour(map_learned(learned), ColourHead(name="colour")(learned, colour))


class QualityMapping(nn.Module):
    """`Mapping_Model`: latent (B, h, w, 64) -> latent (B, h, w, 64)."""

    max_channels: int = 512
    n_blocks: int = 6
    colour_stats: bool = False

    @nn.compact
    def __call__(self, latent):
        def map_learned(learned):
            x = MappingHead(self.max_channels, name="head")(learned)
            return MappingTail(self.max_channels, self.n_blocks, learned.shape[-1],
                               name="tail")(x)

        return with_colour(self, latent, map_learned)


class ScratchMapping(nn.Module):
    """`Mapping_Model_with_mask`: (latent (B, h, w, 64), hole mask (B, H, W, 1), 1 = hole) ->
    latent (B, h, w, 64). The mask is at image resolution (H = 4h for the VAE latents)."""

    max_channels: int = 512
    n_blocks: int = 6
    temperature: float = 1.0
    mask_rule: str = "reference"
    attention: str = "blockwise"
    block_q: int = DEFAULT_BLOCK_Q
    block_k: int = DEFAULT_BLOCK_K
    attention_queries: str = "all"  # "all" (exact) or "holes" (inference): PartialNonLocalBlock
    pooled_keys: int = 0  # 0: every key; K: keys pooled to at most K positions (huge scans)
    # False: no non-local block, i.e. the quality mapping on photos with holes (the ablation of
    # the paper's partial non-local block; the mask still paints the holes white).
    partial_nonlocal: bool = True
    colour_stats: bool = False

    def nonlocal_block(self, **kwargs) -> PartialNonLocalBlock:
        """The partial non-local block with this network's settings (kwargs: e.g. its name)."""
        return PartialNonLocalBlock(
            self.max_channels,
            temperature=self.temperature,
            mask_rule=self.mask_rule,
            attention=self.attention,
            block_q=self.block_q,
            block_k=self.block_k,
            attention_queries=self.attention_queries,
            pooled_keys=self.pooled_keys,
            **kwargs,
        )

    @nn.compact
    def __call__(self, latent, mask):
        def map_learned(learned):
            x = MappingHead(self.max_channels, name="head")(learned)
            if self.partial_nonlocal:
                x = self.nonlocal_block(name="nonlocal")(x, mask)
            return MappingTail(self.max_channels, self.n_blocks, learned.shape[-1],
                               name="tail")(x)

        return with_colour(self, latent, map_learned)
