"""Time and memory of the scratch mapping network (reference configuration) by image size.

    python benchmarks/scratch_mapping.py [--sizes 256 512 1024 2048] [--runs 3]
        [--block-q 512] [--block-k 1024] [--out benchmarks/results/scratch_mapping.json]

Each size runs in a fresh subprocess (so that its peak RSS is its own): batch 1, a random latent
(size/4 x size/4 x 64), a scratch mask of a few thin strokes (~3% of the pixels), the
memory-linear blockwise attention. Reported: compile time; the median forward time over --runs
runs after compilation (fewer once two minutes are spent) and the process CPU time of the
fastest run (other jobs on the machine inflate wall time, not CPU time); the whole restore's
time ("+VAEs": the mapping plus VAE1's encoder and VAE2's decoder at the reference width, what the
reference's time covers and what `x ref` divides); the mapping's XLA compiled memory
(temporaries + arguments + outputs); peak RSS. Also the attention kernel alone at that size,
over all queries (what the network computes) and over the hole queries only
(`masked_attention_at_queries`), to show what skipping clean queries would save.

Reference numbers (anchors.md; 2 cores, PyTorch CPU): the whole restore in scratch mode
(encoder + mapping + decoder; the mapping is 89-95% of it): 2.51 s / 0.78 GB peak at 256,
15.48 s / 4.7 GB at 512, fails at 1024 (its dense attention needs ~64 GiB).
"""

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from oldrestore.models.mapping import ScratchMapping
from oldrestore.models.masked_attention import (
    DEFAULT_BLOCK_K,
    DEFAULT_BLOCK_Q,
    masked_attention,
    masked_attention_at_queries,
)
from oldrestore.models.nonlocal_block import latent_valid_mask
from oldrestore.models.vae import VAE

REFERENCE = {  # image side -> (seconds, peak GB) of the reference's whole scratch-mode restore
    256: (2.51, 0.78),
    512: (15.48, 4.7),
    1024: (None, None),  # fails: needs about 64 GiB
}
GIB = 2**30


def scratch_mask(size: int, seed: int = 0, strokes: int = 8) -> np.ndarray:
    """(1, size, size, 1) float32, 1 = scratch: thin polylines, the same pattern at every size.

    Stroke widths are 1-3 pixels at 512 and scale with the image, as the scratches of one photo
    scanned at different resolutions would.
    """
    rng = np.random.default_rng(seed)
    mask = np.zeros((size, size), np.float32)
    for _ in range(strokes):
        corners = rng.uniform(0.05, 0.95, size=(rng.integers(2, 5), 2)) * size
        radius = int(rng.integers(1, 4) * size / 512) // 2
        for start, stop in zip(corners[:-1], corners[1:], strict=True):
            steps = int(np.abs(stop - start).max() * 2) + 1
            points = np.round(np.linspace(start, stop, steps)).astype(int)
            for dy in range(-radius, radius + 1):
                for dx in range(-radius, radius + 1):
                    ys = np.clip(points[:, 0] + dy, 0, size - 1)
                    xs = np.clip(points[:, 1] + dx, 0, size - 1)
                    mask[ys, xs] = 1
    return mask[None, :, :, None]


def timed_runs(compiled, args, runs: int, budget_s: float = 120.0):
    """Median wall seconds of up to `runs` calls (fewer once `budget_s` is spent, at least one),
    and the process CPU seconds of the fastest."""
    walls, cpus = [], []
    while len(walls) < runs and sum(walls) < budget_s:
        wall, cpu = time.perf_counter(), time.process_time()
        jax.block_until_ready(compiled(*args))
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), cpus[int(np.argmin(walls))], len(walls)


def measure_size(size: int, runs: int, block_q: int, block_k: int) -> dict:
    model = ScratchMapping(block_q=block_q, block_k=block_k)
    small = (jnp.zeros((1, 8, 8, 64)), jnp.zeros((1, 32, 32, 1)))
    params = jax.jit(model.init)(jax.random.key(0), *small)["params"]
    latent = jax.random.normal(jax.random.key(1), (1, size // 4, size // 4, 64))
    mask = jnp.asarray(scratch_mask(size))
    inputs = ({"params": params}, latent, mask)

    start = time.perf_counter()
    compiled = jax.jit(model.apply).lower(*inputs).compile()
    compile_s = time.perf_counter() - start
    memory = compiled.memory_analysis()
    xla_bytes = memory.temp_size_in_bytes + memory.argument_size_in_bytes
    xla_bytes += memory.output_size_in_bytes
    seconds, cpu_seconds, runs_made = timed_runs(compiled, inputs, runs)

    # The two VAEs of the restore (reference width 64): VAE1's encoder and VAE2's decoder, so
    # that mapping + VAEs is the whole restore the reference's time covers.
    vae = VAE()
    vae_params = jax.jit(vae.init)(jax.random.key(2), jnp.zeros((1, 32, 32, 3)))
    photo = jax.random.uniform(jax.random.key(3), (1, size, size, 3), minval=-1.0, maxval=1.0)

    def encode_decode(variables, x):
        return vae.apply(variables, vae.apply(variables, x, method=VAE.encode).mean,
                         method=VAE.decode)

    vaes = jax.jit(encode_decode).lower(vae_params, photo).compile()
    vaes_s, _, _ = timed_runs(vaes, (vae_params, photo), runs)

    # The attention kernel alone, width 512: over all queries, and over the hole queries only.
    n = (size // 4) ** 2
    key_valid = latent_valid_mask(mask, (size // 4, size // 4)).reshape(1, n) > 0
    q, k, v = (0.05 * jax.random.normal(jax.random.key(i), (1, n, 512)) for i in range(3))
    blocks = {"block_q": block_q, "block_k": block_k}
    full = jax.jit(lambda *a: masked_attention(*a, **blocks)).lower(q, k, v, key_valid).compile()
    holes = jax.jit(lambda *a: masked_attention_at_queries(*a, **blocks))
    holes = holes.lower(q, k, v, key_valid, ~key_valid).compile()
    attention_s, _, _ = timed_runs(full, (q, k, v, key_valid), 1)
    holes_only_s, _, _ = timed_runs(holes, (q, k, v, key_valid, ~key_valid), runs)

    return {
        "size": size,
        "latent": size // 4,
        "hole_pixels": float(mask.mean()),
        "hole_latent_cells": float(1 - key_valid.mean()),
        "compile_s": compile_s,
        "seconds": seconds,
        "vaes_seconds": vaes_s,
        "restore_seconds": seconds + vaes_s,
        "cpu_seconds_of_fastest": cpu_seconds,
        "runs": runs_made,
        "xla_gb": xla_bytes / GIB,
        "xla_temp_gb": memory.temp_size_in_bytes / GIB,
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GIB,
        "attention_all_queries_s": attention_s,
        "attention_hole_queries_s": holes_only_s,
        "load_average_1min": os.getloadavg()[0],
    }


def measure_in_subprocess(size: int, args) -> dict:
    command = [
        sys.executable,
        __file__,
        "--single",
        str(size),
        "--runs",
        str(args.runs),
        "--block-q",
        str(args.block_q),
        "--block-k",
        str(args.block_k),
    ]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def print_table(rows):
    header = (
        f"{'size':>5} {'latent':>6} {'holes':>6} {'time s':>8} {'cpu s':>8} {'+VAEs s':>8} "
        f"{'xla GB':>7} "
        f"{'RSS GB':>7} {'attn s':>8} {'holes-only':>10} {'ref s':>6} {'ref GB':>6} "
        f"{'x ref':>6}"
    )
    print(header)
    for row in rows:
        ref_s, ref_gb = REFERENCE.get(row["size"], (None, None))
        ratio = f"{row['restore_seconds'] / ref_s:6.2f}" if ref_s else f"{'-':>6}"
        ref_s = f"{ref_s:6.2f}" if ref_s else f"{'fails' if row['size'] == 1024 else '-':>6}"
        ref_gb = f"{ref_gb:6.2f}" if ref_gb else f"{'-':>6}"
        print(
            f"{row['size']:>5} {row['latent']:>6} {row['hole_pixels']:>6.1%} "
            f"{row['seconds']:>8.2f} {row['cpu_seconds_of_fastest']:>8.2f} "
            f"{row['restore_seconds']:>8.2f} {row['xla_gb']:>7.2f} "
            f"{row['peak_rss_gb']:>7.2f} {row['attention_all_queries_s']:>8.2f} "
            f"{row['attention_hole_queries_s']:>10.2f} {ref_s} {ref_gb} {ratio}"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024, 2048])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--block-q", type=int, default=DEFAULT_BLOCK_Q)
    parser.add_argument("--block-k", type=int, default=DEFAULT_BLOCK_K)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/scratch_mapping.json"))
    parser.add_argument("--single", type=int, help=argparse.SUPPRESS)  # child process: one size
    args = parser.parse_args()
    if args.single:
        print(json.dumps(measure_size(args.single, args.runs, args.block_q, args.block_k)))
        return

    args.out.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "rows": [],
        "reference_whole_restore": {str(k): v for k, v in REFERENCE.items()},
        "block_q": args.block_q,
        "block_k": args.block_k,
        "jax": jax.__version__,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
    }
    for size in args.sizes:
        record["rows"].append(measure_in_subprocess(size, args))
        args.out.write_text(json.dumps(record, indent=2))  # after each size: long runs may stop
        print(f"measured {size}x{size}", file=sys.stderr, flush=True)
    print_table(record["rows"])
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
