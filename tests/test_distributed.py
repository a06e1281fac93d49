"""Two local processes joined by jax.distributed (CPU collectives through gloo) train two VAE2
steps and agree with one process."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

from oldrestore.train.run import run
from tests.test_configuration import load_config

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.usefixtures("fast_compile")  # the workers compile as fast (below)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def metrics(workdir: Path) -> list[dict]:
    return [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]


def test_two_processes_agree_with_one(tmp_path):
    tfds_dir = tmp_path / "tfds"
    single = tmp_path / "single"
    config = load_config("vae2", "smoke")
    config.data.tfds_dir = str(tfds_dir)
    run(config, single, devices=jax.devices()[:1])

    port, workdir = free_port(), tmp_path / "two"
    env = dict(os.environ, PYTHONPATH=str(REPO), JAX_DISABLE_MOST_OPTIMIZATIONS="1")
    workers = [
        subprocess.Popen([sys.executable, "tests/distributed_worker.py", str(i), "2", str(port),
                          str(workdir), str(tfds_dir)], cwd=REPO, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for i in range(2)
    ]
    outputs = [w.communicate(timeout=600)[0] for w in workers]
    for i, (worker, output) in enumerate(zip(workers, outputs, strict=True)):
        assert worker.returncode == 0, output[-3000:]
        assert f"process {i} finished at step 2" in output

    expected, got = metrics(single), metrics(workdir)
    assert [m["step"] for m in got] == [m["step"] for m in expected] == [1, 2]
    for a, b in zip(expected, got, strict=True):
        for name in a:
            np.testing.assert_allclose(b[name], a[name], rtol=1e-4, err_msg=name)
