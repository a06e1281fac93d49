"""Placing each process's batches on the device mesh as one global, batch-sharded array."""

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

DATA_AXIS = "data"


def make_mesh(devices=None) -> Mesh:
    """A 1-D mesh, axis `data`, over `devices` (default: every device of every process)."""
    devices = jax.devices() if devices is None else devices
    return Mesh(np.asarray(devices), (DATA_AXIS,))


def shard_batch(local_batch: dict[str, np.ndarray], mesh: Mesh) -> dict[str, jax.Array]:
    """Assemble every process's `local_batch` into global arrays split along the batch axis.

    Each process passes its own slice (as `ImageBatches` yields it); the global batch is the
    concatenation of the slices of processes 0, 1, ... and must divide evenly over the devices.
    """
    sharding = NamedSharding(mesh, PartitionSpec(DATA_AXIS))
    process_count = len({device.process_index for device in mesh.devices.flat})

    def place(array):
        global_size = len(array) * process_count
        if global_size % mesh.size:
            raise ValueError(f"global batch of {global_size} ({len(array)} per process x "
                             f"{process_count} processes) does not divide over {mesh.size} "
                             "devices")
        return jax.make_array_from_process_local_data(sharding, array)

    return jax.tree.map(place, local_batch)
