"""One VAE1 training step at the reference configuration: 256x256, batch 2 (one real old photo,
one synthetic), every loss (LSGAN, feature matching, VGG, KL, latent GAN), image D and latent D.

    python benchmarks/vae1_train_step.py [--runs 5] [--out FILE.json]

Prints a table next to the reference's 3.73 s per step on a machine like ours (anchors.md: 2 CPU
cores, PyTorch CPU, fp32) and writes JSON. Not a test: compare numbers from the same machine.
"""

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import jax
import numpy as np

from oldrestore.configuration import load_config_module
from oldrestore.data.sharding import make_mesh, shard_batch
from oldrestore.train import vae_stage

REFERENCE_SECONDS = 3.73  # anchors.md, same batch and size


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--out", default="benchmarks/results/vae1_train_step.json")
    args = parser.parse_args()

    config = load_config_module(Path(__file__).parents[1] / "configs/vae1.py").get_config()
    config.batch_size = 2
    config.data.crop_size = args.size
    config.degradation.loop_over_examples = True  # one device: the fast form (see its config)
    mesh = make_mesh(jax.devices()[:1])
    rng = np.random.default_rng(0)
    batch = {"image": rng.integers(0, 256, (2, args.size, args.size, 3), dtype=np.uint8),
             "domain": np.array([1, 0], np.int32)}
    stage = vae_stage.make_stage(config, mesh)
    step = jax.jit(stage.step, donate_argnums=0)
    state = jax.jit(stage.init)(jax.random.key(0))
    batch = shard_batch(batch, mesh)
    key = jax.random.key(1)

    start = time.perf_counter()
    state, metrics = step(state, batch, key, stage.constants)
    jax.block_until_ready(metrics)
    compile_and_first = time.perf_counter() - start
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        state, metrics = step(state, batch, key, stage.constants)
        jax.block_until_ready(metrics)
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    result = {
        "what": "VAE1 train step, reference configuration, batch 2 (1 old + 1 synthetic)",
        "size": args.size,
        "seconds_median": round(median, 3),
        "seconds_min": round(min(times), 3),
        "seconds_max": round(max(times), 3),
        "images_per_second": round(2 / median, 3),
        "compile_and_first_step_seconds": round(compile_and_first, 1),
        "reference_seconds": REFERENCE_SECONDS,
        "speedup_vs_reference": round(REFERENCE_SECONDS / median, 2),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "jax": jax.__version__, "devices": str(jax.devices())},
    }
    print(f"{'':32s}{'s/step':>10s}{'images/s':>10s}")
    print(f"{'oldrestore (median of ' + str(args.runs) + ')':32s}{median:10.2f}{2 / median:10.2f}")
    print(f"{'reference (anchors.md)':32s}{REFERENCE_SECONDS:10.2f}{2 / REFERENCE_SECONDS:10.2f}")
    print(f"speed-up: {REFERENCE_SECONDS / median:.2f}x (min {min(times):.2f} s, "
          f"max {max(times):.2f} s; compile + first step {compile_and_first:.0f} s)")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
