"""One process of a multi-process run on localhost (used by test_distributed.py).

    python tests/distributed_worker.py PROCESS_ID NUM_PROCESSES PORT WORKDIR TFDS_DIR
"""

import os
import sys

os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import jax  # noqa: E402

from oldrestore.train.run import run  # noqa: E402
from tests.test_configuration import load_config  # noqa: E402


def main(process_id: int, num_processes: int, port: int, workdir: str, tfds_dir: str):
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    config = load_config("vae2", "smoke")
    config.data.tfds_dir = tfds_dir
    config.distributed.enabled = True
    config.distributed.coordinator_address = f"localhost:{port}"
    config.distributed.num_processes = num_processes
    config.distributed.process_id = process_id
    result = run(config, workdir)
    assert jax.process_count() == num_processes and jax.device_count() == num_processes
    print(f"process {process_id} finished at step {result.step}")


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5])
