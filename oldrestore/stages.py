"""The stage registry: for every stage, in one typed place, how to build its networks from a
config, where each network's variables sit in its checkpointed state, the module that trains it
and the function that evaluates it. Training (train/run.py), evaluation (launch/evaluate.py) and
loading (runs.py) all read it.

This module imports the networks only: loading a trained network never imports training code.
"""

import dataclasses
import importlib
from collections.abc import Callable

import flax.linen as nn
import ml_collections

from oldrestore.models.discriminator import MultiscaleDiscriminator
from oldrestore.models.face_spade import FaceSPADEGenerator
from oldrestore.models.mapping import QualityMapping, ScratchMapping
from oldrestore.models.pix2pix_unet import Pix2PixUNet
from oldrestore.models.scratch_unet import ScratchUNet
from oldrestore.models.vae import VAE

Config = ml_collections.ConfigDict


@dataclasses.dataclass(frozen=True)
class EvaluationOptions:
    split: str = "test"
    size: int = 256  # side of the centre crops (VAEs and mappings)
    max_images: int | None = None
    real_photos: tuple[str, ...] = ()  # detector: photos to draw the masks of


@dataclasses.dataclass(frozen=True)
class StageSpec:
    name: str
    # config -> {network name: flax module}
    networks: Callable[[Config], dict[str, nn.Module]]
    # checkpointed state -> {network name: its flax variables}; works on abstract trees too
    variables: Callable[[dict], dict[str, dict]]
    # the module with MIN_BATCH, stride(config), initial_state_fn(config), make_stage(config, mesh)
    training: str
    # "module:function", function(workdir, EvaluationOptions) -> report dict
    evaluation: str
    # frozen networks the stage trains on top of (config.frozen.<name>), recorded in its state
    frozen: tuple[str, ...] = ()
    # the networks restoring needs (a restoration bundle keeps these, not the discriminators)
    restores_with: tuple[str, ...] = ()

    def training_module(self):
        return importlib.import_module(self.training)

    def evaluate(self, workdir, options: EvaluationOptions) -> dict:
        module, function = self.evaluation.split(":")
        return getattr(importlib.import_module(module), function)(workdir, options)


def vae_networks(config: Config) -> dict[str, nn.Module]:
    m, d = config.model, config.disc
    nets = {
        "vae": VAE(features=m.width, n_downsample=m.num_downsamples, n_blocks=m.num_blocks,
                   learned_variance=m.posterior == "gaussian",
                   noise_std=m.get("posterior_noise_std", 1.0),
                   colour_stats=m.get("colour_stats", False)),
        "disc": MultiscaleDiscriminator(num_scales=d.num_scales, ndf=d.ndf, n_layers=d.num_layers,
                                        spectral_norm=d.spectral_norm),
    }
    if config.stage == "vae1":
        ld = config.latent_disc
        nets["latent_disc"] = MultiscaleDiscriminator(num_scales=1, ndf=ld.ndf,
                                                      n_layers=ld.num_layers)
    return nets


def mapping_networks(config: Config) -> dict[str, nn.Module]:
    m, d = config.model, config.disc
    if config.stage == "mapping_scratch":
        mapping = ScratchMapping(max_channels=m.max_channels, n_blocks=m.num_blocks,
                                 temperature=m.temperature, mask_rule=m.mask_rule,
                                 attention=m.attention,
                                 partial_nonlocal=m.get("partial_nonlocal", True),
                                 colour_stats=m.get("colour_stats", False))
    else:
        mapping = QualityMapping(max_channels=m.max_channels, n_blocks=m.num_blocks,
                                 colour_stats=m.get("colour_stats", False))
    disc = MultiscaleDiscriminator(num_scales=d.num_scales, ndf=d.ndf, n_layers=d.num_layers,
                                   spectral_norm=d.spectral_norm)
    return {"mapping": mapping, "disc": disc}


def detector_networks(config: Config) -> dict[str, nn.Module]:
    return {"unet": ScratchUNet(wf=config.model.wf, depth=config.model.depth)}


def face_networks(config: Config) -> dict[str, nn.Module]:
    m, d = config.model, config.disc
    return {
        "generator": FaceSPADEGenerator(ngf=m.ngf, load_size=config.data.crop_size,
                                        spade_hidden=m.spade_hidden),
        "disc": MultiscaleDiscriminator(num_scales=d.num_scales, ndf=d.ndf,
                                        n_layers=d.num_layers, spectral_norm=d.spectral_norm),
    }


def pix2pix_networks(config: Config) -> dict[str, nn.Module]:
    m, d = config.model, config.disc
    return {
        "generator": Pix2PixUNet(ngf=m.ngf, depth=m.depth, dropout_levels=m.dropout_levels,
                                 dropout_rate=m.dropout_rate),
        "disc": MultiscaleDiscriminator(num_scales=d.num_scales, ndf=d.ndf,
                                        n_layers=d.num_layers, spectral_norm=d.spectral_norm),
    }


def _per_network(state: dict) -> dict[str, dict]:
    """States laid out as {network: {"params", "opt"[, "spectral"]}, "step", ...}: everything but
    the optimizer state is the network's variables."""
    return {name: {k: v for k, v in entry.items() if k != "opt"}
            for name, entry in state.items() if isinstance(entry, dict)}


def _detector_variables(state: dict) -> dict[str, dict]:
    return {"unet": {"params": state["params"], "batch_stats": state["batch_stats"]}}


_VAE = dict(networks=vae_networks, variables=_per_network, training="oldrestore.train.vae_stage",
            evaluation="oldrestore.evaluation.reconstruction:evaluate", restores_with=("vae",))
_MAPPING = dict(networks=mapping_networks, variables=_per_network,
                training="oldrestore.train.mapping_stage",
                evaluation="oldrestore.evaluation.restoration:evaluate", frozen=("vae1", "vae2"),
                restores_with=("mapping",))

STAGES: dict[str, StageSpec] = {spec.name: spec for spec in (
    StageSpec("vae1", **_VAE),
    StageSpec("vae2", **_VAE),
    StageSpec("mapping", **_MAPPING),
    StageSpec("mapping_scratch", **_MAPPING),
    StageSpec("detector", networks=detector_networks, variables=_detector_variables,
              training="oldrestore.train.detector_stage",
              evaluation="oldrestore.evaluation.detection:evaluate", restores_with=("unet",)),
    StageSpec("face", networks=face_networks, variables=_per_network,
              training="oldrestore.train.face_stage",
              evaluation="oldrestore.evaluation.faces:evaluate", restores_with=("generator",)),
    StageSpec("pix2pix", networks=pix2pix_networks, variables=_per_network,
              training="oldrestore.train.pix2pix_stage",
              evaluation="oldrestore.evaluation.direct:evaluate", restores_with=("generator",)),
)}


def stage_spec(name: str) -> StageSpec:
    if name not in STAGES:
        raise ValueError(f"config.stage={name!r}: unknown stage; known: {', '.join(STAGES)}")
    return STAGES[name]
