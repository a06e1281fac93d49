"""From a config and a workdir to a finished (or resumable) run: everything launch/train.py does,
importable so that tests can run it too."""

import importlib
import logging
import os

import jax

from oldrestore.configuration import validate
from oldrestore.data.sharding import make_mesh
from oldrestore.train.loop import RunResult, train

# config.stage -> the module that builds it: make_stage(config, mesh), stride(config), MIN_BATCH.
STAGES = {
    "vae1": "oldrestore.train.vae_stage",
    "vae2": "oldrestore.train.vae_stage",
    "detector": "oldrestore.train.detector_stage",
    "mapping": "oldrestore.train.mapping_stage",
    "mapping_scratch": "oldrestore.train.mapping_stage",
}


def stage_module(name: str):
    if name not in STAGES:
        raise ValueError(f"config.stage={name!r}: unknown stage; known: {', '.join(STAGES)}")
    return importlib.import_module(STAGES[name])


def initialize_distributed(config) -> None:
    """Joins the other processes of a multi-host run (JAX's own distributed runtime)."""
    d = config.distributed
    if not d.enabled:
        return
    kwargs = {}
    if d.coordinator_address:
        kwargs = dict(coordinator_address=d.coordinator_address, num_processes=d.num_processes,
                      process_id=d.process_id)
    jax.distributed.initialize(**kwargs)


def run(config, workdir, devices=None, **train_kwargs) -> RunResult:
    """devices: the mesh's devices (default: every device of every process)."""
    module = stage_module(config.stage)
    initialize_distributed(config)
    mesh = make_mesh(devices)
    validate(config, stride=module.stride(config), num_devices=mesh.size,
             min_batch=module.MIN_BATCH)
    logging.info("process %d of %d, %d devices: %s", jax.process_index(), jax.process_count(),
                 jax.device_count(), jax.devices())
    stage = module.make_stage(config, mesh)
    return train(config, os.path.expanduser(workdir), stage, mesh, **train_kwargs)
