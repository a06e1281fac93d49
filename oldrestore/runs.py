"""Trained networks from a training workdir, params only.

Reads the workdir's `config.json` and, from one checkpoint (the latest by default), only the
networks' variables (no optimizer state is built or read), as numpy arrays. Imports no training
code, clu or TensorFlow; orbax is imported on first use.
"""

import dataclasses
import json
import logging
from pathlib import Path

import jax
import ml_collections
import numpy as np

from oldrestore.stages import stage_spec


class RunError(ValueError):
    """A workdir that cannot give what was asked; the message names it and the problem."""


@dataclasses.dataclass(frozen=True)
class Trained:
    """One stage's trained networks at one step."""

    config: ml_collections.ConfigDict
    step: int
    variables: dict  # network name -> flax variables (numpy)
    frozen_steps: dict  # frozen network name -> the checkpoint step it was trained on

    @property
    def stage(self) -> str:
        return self.config.stage


def load_config(workdir) -> ml_collections.ConfigDict:
    path = Path(workdir).expanduser() / "config.json"
    if not path.is_file():
        raise RunError(f"{workdir}: no config.json; is it a training workdir?")
    return ml_collections.ConfigDict(json.loads(path.read_text()))


def checkpoint_steps(workdir) -> list[int]:
    """Steps of the finished checkpoints (orbax renames a step's folder when it is complete)."""
    directory = Path(workdir).expanduser() / "checkpoints"
    if not directory.is_dir():
        return []
    return sorted(int(p.name) for p in directory.iterdir() if p.name.isdigit())


def _quiet_orbax():
    import orbax.checkpoint as ocp

    for name in ("absl", "orbax"):  # INFO and "metadata file does not exist" lines
        logging.getLogger(name).setLevel(logging.ERROR)
    return ocp


def _keep(tree, paths: set[str], prefix=()):
    """The part of a nested dict whose leaves' key paths are in `paths`."""
    kept = {}
    for key, value in tree.items():
        here = (*prefix, jax.tree_util.DictKey(key))
        if isinstance(value, dict):
            value = _keep(value, paths, here)
            if value:
                kept[key] = value
        elif jax.tree_util.keystr(here) in paths:
            kept[key] = value
    return kept


def _restore_part(path: Path, spec):
    """The stage's network variables (and recorded frozen steps) from the state saved at `path`,
    as numpy arrays: a partial restore, so the optimizer state is never read."""
    ocp = _quiet_orbax()
    checkpointer = ocp.PyTreeCheckpointer()
    saved = checkpointer.metadata(path).item_metadata.tree
    # The saved paths that the stage's layout picks: its layout applied to a tree of path names.
    names = jax.tree_util.tree_map_with_path(lambda p, _: jax.tree_util.keystr(p), saved)
    paths = set(jax.tree.leaves(spec.variables(names)))
    if spec.frozen:
        paths.add(names["frozen_steps"])
    wanted = _keep(saved, paths)
    restored = checkpointer.restore(path, args=ocp.args.PyTreeRestore(
        item=jax.tree.map(lambda m: jax.ShapeDtypeStruct(m.shape, m.dtype), wanted),
        restore_args=jax.tree.map(lambda m: ocp.RestoreArgs(restore_type=np.ndarray), wanted),
        partial_restore=True))
    return spec.variables(restored), restored.get("frozen_steps")


def load(workdir, step: int | None = None) -> Trained:
    """The networks of `workdir` at `step` (default: its latest checkpoint)."""
    config = load_config(workdir)
    spec = stage_spec(config.stage)
    steps = checkpoint_steps(workdir)
    if not steps:
        raise RunError(f"{workdir}: no checkpoint")
    if step is None:
        step = steps[-1]
    elif step not in steps:
        raise RunError(f"{workdir}: no checkpoint at step {step} "
                       f"(kept: {', '.join(map(str, steps))})")

    path = Path(workdir).expanduser().absolute() / "checkpoints" / str(step) / "state"
    try:
        variables, frozen_steps = _restore_part(path, spec)
    except (OSError, ValueError, KeyError) as error:
        raise RunError(f"{workdir}: cannot read the checkpoint at step {step} ({error})") from None
    frozen = {}
    if spec.frozen:
        frozen = {name: int(s) for name, s in zip(spec.frozen, frozen_steps, strict=True)}
    return Trained(config=config, step=step, variables=variables, frozen_steps=frozen)
