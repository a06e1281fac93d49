"""Loading a finished (or running) training workdir: its config and latest state."""

import json
from pathlib import Path

import jax
import ml_collections

from oldrestore.train.checkpoints import Checkpoints
from oldrestore.train.run import stage_module


def load_config(workdir) -> ml_collections.ConfigDict:
    path = Path(workdir) / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"{workdir}: no config.json; is it a training workdir?")
    return ml_collections.ConfigDict(json.loads(path.read_text()))


def load_state(workdir, step: int | None = None):
    """(config, state) of `workdir` at `step` (default: its latest checkpoint)."""
    config = load_config(workdir)
    init = stage_module(config.stage).initial_state_fn(config)
    like = jax.eval_shape(init, jax.random.key(0))
    like = jax.tree.map(lambda s: jax.numpy.zeros(s.shape, s.dtype), like)
    checkpoints = Checkpoints(Path(workdir) / "checkpoints", keep=config.keep_checkpoints)
    try:
        if checkpoints.latest_step() is None:
            raise FileNotFoundError(f"{workdir}: no checkpoint")
        if step is not None and step not in checkpoints.steps():
            raise FileNotFoundError(f"{workdir}: no checkpoint at step {step} (kept: "
                                    f"{', '.join(map(str, checkpoints.steps()))})")
        state, _ = checkpoints.restore(like, step)
    finally:
        checkpoints.close()
    return config, state
