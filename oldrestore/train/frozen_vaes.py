"""Stage 2's frozen networks: the two stage-1 VAEs, weights only, from what `config.frozen`
names: training workdirs, or a restoration bundle holding the VAEs (the shipped default
weights are one), at their latest steps or the steps a resumed run recorded. They are inputs of
every step, never trained."""

import dataclasses
import logging
import os
from pathlib import Path

from oldrestore import runs
from oldrestore.configuration import ConfigError
from oldrestore.inference.weights import load_network
from oldrestore.models.vae import VAE, latent_channels
from oldrestore.stages import stage_spec

NAMES = ("vae1", "vae2")  # VAE1 encodes the degraded photo; VAE2 the clean one, and decodes


def stage1_config(config, name: str):
    """The config of the stage-1 run in config.frozen[name]; ConfigError naming the field when
    it is missing or is not a `name` run."""
    field, path = f"config.frozen.{name}", config.frozen[name]
    if not path:
        raise ConfigError(f"{field}='': stage 2 needs the workdir of a finished {name} run")
    location = Path(os.path.expanduser(path))
    if not location.exists():
        raise ConfigError(f"{field}={path!r}: path does not exist")
    try:
        frozen = (load_network(path, name).config if location.is_file()
                  else runs.load_config(path))
    except runs.RunError as error:
        if location.is_file():
            raise ConfigError(f"{field}={path!r}: {error}") from None
        raise ConfigError(f"{field}={path!r}: not a training workdir (no config.json)") from None
    if frozen.get("stage") != name:
        raise ConfigError(f"{field}={path!r}: is a {frozen.get('stage')} run, not a {name} run")
    return frozen


def latent_shape(config) -> tuple[int, int]:
    """(downsampling factor, latent channels) shared by both VAEs; ConfigError if they differ or
    if their colour statistics do not match the mapping's."""
    models = [stage1_config(config, name).model for name in NAMES]
    shapes = [(2**m.num_downsamples, latent_channels(m.width, m.get("colour_stats", False)))
              for m in models]
    if shapes[0] != shapes[1]:
        raise ConfigError(f"config.frozen: VAE1 and VAE2 latents differ (stride, channels): "
                          f"{shapes[0]} vs {shapes[1]}")
    colour = config.model.get("colour_stats", False)
    if any(m.get("colour_stats", False) != colour for m in models):
        raise ConfigError(f"config.model.colour_stats={colour}: the frozen VAEs were trained "
                          f"with colour_stats={not colour}")
    return shapes[0]


@dataclasses.dataclass(frozen=True)
class FrozenVAEs:
    modules: dict  # name -> VAE module
    params: dict  # name -> its params (a pytree: pass it to the step as a constant)
    steps: dict  # name -> the checkpoint step the params come from

    def encode(self, params, name: str, images):
        """The posterior mean (no sampling noise), as the reference's mapping stage uses it."""
        return self.modules[name].apply({"params": params[name]}, images, method=VAE.encode).mean


def load_frozen_vaes(config, steps: dict | None = None) -> FrozenVAEs:
    """steps: name -> the checkpoint step to load (default: each workdir's latest)."""
    latent_shape(config)  # checks that the two fit together before loading anything
    modules, params, loaded = {}, {}, {}
    for name in NAMES:
        path = config.frozen[name]
        try:
            trained = load_network(path, name, None if steps is None else steps[name])
        except runs.RunError as error:
            raise ConfigError(f"config.frozen.{name}={path!r}: {error}") from None
        modules[name] = stage_spec(name).networks(trained.config)["vae"]
        params[name] = trained.variables["vae"]["params"]
        loaded[name] = trained.step
        logging.info("frozen %s: %s at step %d", name, path, loaded[name])
    return FrozenVAEs(modules=modules, params=params, steps=loaded)
