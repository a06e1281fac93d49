"""From a config and a workdir to a finished (or resumable) run: everything launch/train.py does,
importable so that tests can run it too."""

import logging
import os

import jax

from oldrestore.configuration import make_run_paths_absolute, validate
from oldrestore.data.sharding import make_mesh
from oldrestore.stages import stage_spec
from oldrestore.train.loop import RunResult, train


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
    module = stage_spec(config.stage).training_module()
    initialize_distributed(config)
    mesh = make_mesh(devices)
    validate(config, stride=module.stride(config), num_devices=mesh.size,
             min_batch=module.MIN_BATCH)
    logging.info("process %d of %d, %d devices: %s", jax.process_index(), jax.process_count(),
                 jax.device_count(), jax.devices())
    make_run_paths_absolute(config)
    stage = module.make_stage(config, mesh)
    return train(config, os.path.expanduser(workdir), stage, mesh, **train_kwargs)
