"""Restoring one photo: VAE1's encoder -> the latent mapping (quality, or scratch with the hole
mask) -> VAE2's decoder.

`translate` is the one encode -> map -> decode of the project: the mapping stage's training step
and samples, its evaluation, the benchmarks and the restore command all call it. `Restorer`
wraps it for one photo of any size: holes painted white (as in training), reflect-padded up to a
size bucket (one compilation per bucket, not per photo), translated, cropped back and clamped,
then given the input's colours where the config says so (colour.py).
"""

import dataclasses
import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from oldrestore.inference.colour import with_input_chroma
from oldrestore.inference.flip import mean_with_mirror
from oldrestore.inference.large_images import translate_in_stages
from oldrestore.inference.tiling import padded_shape, reflect_pad_to
from oldrestore.models.mapping import ScratchMapping
from oldrestore.models.vae import VAE
from oldrestore.runs import Trained
from oldrestore.stages import stage_spec


@dataclasses.dataclass(frozen=True)
class ChainModules:
    vae1: VAE  # its encoder reads the old photo
    mapping: nn.Module  # QualityMapping or ScratchMapping
    vae2: VAE  # its decoder writes the restored photo

    @property
    def scratch(self) -> bool:
        return isinstance(self.mapping, ScratchMapping)


def translate(modules: ChainModules, params: dict, photos, holes=None):
    """(mapped latent, restored photos) for [-1, 1] photos [B, H, W, 3] (H, W multiples of the
    VAEs' stride). params: {"vae1", "mapping", "vae2"} -> params. holes [B, H, W, 1] (1 = hole,
    already painted white in `photos`) for the scratch mapping. VAE1 gives its posterior mean,
    as the reference's inference does."""
    latent = modules.vae1.apply({"params": params["vae1"]}, photos, method=VAE.encode).mean
    if modules.scratch:
        mapped = modules.mapping.apply({"params": params["mapping"]}, latent, holes)
    else:
        mapped = modules.mapping.apply({"params": params["mapping"]}, latent)
    return mapped, modules.vae2.apply({"params": params["vae2"]}, mapped, method=VAE.decode)


def paint_holes(photos, holes):
    """Hole pixels painted white ([-1, 1] photos), as the training inputs and the reference."""
    return jnp.where(holes > 0, 1.0, photos)


def inference_mapping(trained: Trained, attention_queries: str | None = None,
                      pooled_keys: int | None = None) -> nn.Module:
    """The trained mapping network as inference runs it: for the scratch mapping, the attention
    shortcuts its config chooses (model.inference_*; the arguments override them). The params
    are the same in every mode."""
    mapping = stage_spec(trained.stage).networks(trained.config)["mapping"]
    if not isinstance(mapping, ScratchMapping):
        return mapping
    model = trained.config.model
    if attention_queries is None:
        attention_queries = model.get("inference_attention_queries", "holes")
    if pooled_keys is None:
        pooled_keys = model.get("inference_pooled_keys", 0)
    return mapping.clone(attention_queries=attention_queries, pooled_keys=pooled_keys)


class Restorer:
    """One trained chain (a mapping and the two VAEs it was trained on), restoring photos.

    bucket: photos are reflect-padded up to multiples of this (itself a multiple of the VAEs'
    stride), so a folder of photos of similar sizes compiles a few times, not once per photo.
    Photos above `staged_above` pixels run stage by stage (large_images.py), in less memory.
    attention_queries, pooled_keys: override the scratch mapping's inference attention.
    chroma_sigma: overrides the mapping config's model.inference_chroma_sigma (0: the chain's
    own colours, as the reference; > 0: the input's, colour.py).
    flip_ensemble: overrides the mapping config's model.inference_flip_ensemble (True: the mean
    of the photo's restoration and its mirror image's, mirrored back; twice the time).
    """

    def __init__(self, mapping: Trained, vae1: Trained, vae2: Trained, bucket: int = 64,
                 staged_above: int = 2048 * 2048, attention_queries: str | None = None,
                 pooled_keys: int | None = None, chroma_sigma: float | None = None,
                 flip_ensemble: bool | None = None):
        modules = {t.stage: stage_spec(t.stage).networks(t.config) for t in (vae1, vae2)}
        self.modules = ChainModules(
            vae1=modules["vae1"]["vae"], vae2=modules["vae2"]["vae"],
            mapping=inference_mapping(mapping, attention_queries, pooled_keys))
        self.staged_above = staged_above
        if chroma_sigma is None:
            chroma_sigma = mapping.config.model.get("inference_chroma_sigma", 0.0)
        self.chroma_sigma = float(chroma_sigma)
        if flip_ensemble is None:
            flip_ensemble = mapping.config.model.get("inference_flip_ensemble", False)
        self.flip_ensemble = bool(flip_ensemble)
        self.params = jax.device_put({"vae1": vae1.variables["vae"]["params"],
                                      "mapping": mapping.variables["mapping"]["params"],
                                      "vae2": vae2.variables["vae"]["params"]})
        stride = 2 ** vae1.config.model.num_downsamples
        self.bucket = -(-bucket // stride) * stride
        self._translate = jax.jit(functools.partial(translate, self.modules))

    @property
    def scratch(self) -> bool:
        return self.modules.scratch

    def compilations(self) -> int:
        """How many programs the restorer has compiled (one per size bucket)."""
        return self._translate._cache_size()

    def __call__(self, photo: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """photo: H x W x 3 float in [0, 1]; mask: H x W bool (scratch mode; None = no holes).
        Returns the restored H x W x 3 float32 photo in [0, 1]."""
        if self.flip_ensemble:  # the mirror image has the same size: no new compilation
            restored = mean_with_mirror(self._chain, photo, mask)
        else:
            restored = self._chain(photo, mask)
        if self.chroma_sigma > 0:
            restored = with_input_chroma(restored, photo, mask, self.chroma_sigma)
        return restored

    def _chain(self, photo: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        """The chain's own restoration of `photo`, clamped to [0, 1]."""
        height, width = photo.shape[:2]
        bucket = padded_shape(height, width, self.bucket)
        x = reflect_pad_to(np.asarray(photo, np.float32) * 2.0 - 1.0, *bucket)
        holes = None
        if self.scratch:
            hole_mask = np.zeros((height, width), np.float32) if mask is None else mask
            holes = reflect_pad_to(np.asarray(hole_mask, np.float32), *bucket)[None, ..., None]
            x = paint_holes(x[None], holes)[0]
        run = self._translate
        if bucket[0] * bucket[1] > self.staged_above:
            run = functools.partial(translate_in_stages, self.modules)
        _, restored = run(self.params, x[None], holes)
        restored = np.asarray(restored[0, :height, :width])
        return np.clip((restored + 1.0) / 2.0, 0.0, 1.0)  # clamp, never min-max stretch
