"""Orbax checkpoints of the train state and the input pipeline's position.

Orbax writes each step into a temporary folder and renames it when complete, so a save killed
half-way never damages the previous checkpoint; the last `keep` are kept. This file is the only
one that talks to orbax, so moving to its V1 API is a one-file change.
"""

from pathlib import Path

import jax
import orbax.checkpoint as ocp


def abstract_like(state):
    """Shapes, dtypes and shardings of `state`: the restore target."""
    return jax.tree.map(
        lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding), state)


class Checkpoints:
    def __init__(self, directory, keep: int):
        self.directory = Path(directory).absolute()
        options = ocp.CheckpointManagerOptions(
            max_to_keep=keep, create=True, enable_async_checkpointing=False)
        self._manager = ocp.CheckpointManager(self.directory, options=options)

    def latest_step(self) -> int | None:
        return self._manager.latest_step()

    def steps(self) -> list[int]:
        return sorted(self._manager.all_steps())

    def save(self, step: int, state, data_state: dict) -> None:
        self._manager.save(
            step,
            args=ocp.args.Composite(
                state=ocp.args.StandardSave(state), data=ocp.args.JsonSave(data_state)),
            force=True,
        )
        self._manager.wait_until_finished()

    def restore(self, state_like, step: int | None = None):
        """(state, data_state) at `step` (default latest), laid out like `state_like`."""
        step = self.latest_step() if step is None else step
        restored = self._manager.restore(
            step,
            args=ocp.args.Composite(
                state=ocp.args.StandardRestore(abstract_like(state_like)),
                data=ocp.args.JsonRestore()),
        )
        return restored.state, restored.data

    def close(self) -> None:
        self._manager.wait_until_finished()
        self._manager.close()


def find_checkpoint_dir(path) -> Path:
    """A workdir or its checkpoints folder -> the checkpoints folder."""
    path = Path(path).expanduser()
    return path / "checkpoints" if (path / "checkpoints").is_dir() else path
