"""Time and peak memory of the whole restore (VAE1 encoder -> mapping -> VAE2 decoder), batch 1,
reference configuration (random init, float32), next to the reference timed on the same machine,
back to back, by ../shared/bench/reference_torch.py (run with the .refbench venv).

    python benchmarks/restore.py [--sizes 256 512 1024 2048 4000x3000]
        [--modes quality scratch scratch_pooled scratch_exact] [--runs 3]
        [--reference-sizes 256 512] [--out benchmarks/results/restore.json]

Modes: `quality`; `scratch`: the scratch mapping with attention_queries="holes" (exact attention
where the hole outputs read it, bfloat16 elsewhere; 69-73 dB from exact,
benchmarks/fast_attention_accuracy.py); `scratch_pooled`: the same with keys pooled to at most
4096 positions (an approximation, for scans); `scratch_exact`: every query exact (the
reference's function). Unpooled scratch modes are skipped above --max-unpooled pixels (their
attention is quadratic in the pixel count: hours at 4000 x 3000).

Each (size, mode) runs in a fresh subprocess, so that its peak RSS (which includes compilation)
is its own; the reference's items too (the tool's --in-process, one item per process). Scratch
masks are real crack masks (../shared/data/masks, resized), which set how many latent cells get
exact attention. Photos above --staged-above pixels run stage by stage
(oldrestore/inference/large_images.py); smaller ones as one program (`restore.translate`).
"""

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

REPO = Path(__file__).resolve().parents[1]
REFERENCE_TOOL = REPO.parent / "shared" / "bench" / "reference_torch.py"
REFERENCE_PYTHON = REPO / ".refbench" / "bin" / "python"
MASKS = REPO.parent / "shared" / "data" / "masks"
MAPPING_FIELDS = {
    "scratch": {"attention_queries": "holes"},
    "scratch_pooled": {"attention_queries": "holes", "pooled_keys": 4096},
    "scratch_exact": {"attention_queries": "all"},
}
GIB = 2**30


def parse_size(text: str) -> tuple[int, int]:
    """'512' -> (512, 512); '4000x3000' (width x height) -> (3000, 4000) as (height, width)."""
    width, _, height = text.partition("x")
    return int(height or width), int(width)


def crack_mask(height: int, width: int) -> np.ndarray:
    """(1, H, W, 1) float32, 1 = defect: the first real crack mask, resized (nearest)."""
    from PIL import Image

    from oldrestore.data.images import list_images

    with Image.open(list_images(MASKS)[0]) as mask:
        mask = mask.convert("L").resize((width, height), Image.Resampling.NEAREST)
    return (np.asarray(mask) > 127).astype(np.float32)[None, ..., None]


def chain(mode: str):
    """(modules, params) of the whole restore: the reference configuration at random init."""
    from chains import random_reference_params

    from oldrestore.inference.restore import ChainModules
    from oldrestore.models.mapping import QualityMapping, ScratchMapping
    from oldrestore.models.vae import VAE

    scratch = mode != "quality"
    mapping = ScratchMapping(**MAPPING_FIELDS[mode]) if scratch else QualityMapping()
    return ChainModules(vae1=VAE(), mapping=mapping, vae2=VAE()), random_reference_params(scratch)


def compiled_restore(mode: str, photo, holes):
    """photos, holes -> restored photos, compiled ahead of time for this size, and its XLA
    floating-point operations in GFLOP (the reference's network too, so the reference's time
    turns into its GFLOP/s)."""
    from oldrestore.inference.restore import translate

    modules, params = chain(mode)
    restore = jax.jit(lambda params, photos, holes: translate(modules, params, photos, holes)[1])
    compiled = restore.lower(params, photo, holes).compile()
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    return (lambda photos, holes: compiled(params, photos, holes)), cost["flops"] / 1e9


def staged_restore(mode: str):
    """photos, holes -> restored photos, stage by stage (oldrestore/inference/large_images.py)."""
    from oldrestore.inference.large_images import translate_in_stages

    modules, params = chain(mode)
    return lambda photos, holes: translate_in_stages(modules, params, photos, holes)[1]


def measure_ours(size: str, mode: str, runs: int, staged_above: int) -> dict:
    height, width = parse_size(size)
    staged = height * width > staged_above
    photo = jax.random.uniform(jax.random.key(3), (1, height, width, 3), minval=-1, maxval=1)
    holes = None
    if mode != "quality":
        holes = jnp.asarray(crack_mask(height, width))
        photo = jnp.where(holes > 0, 1.0, photo)
    start = time.perf_counter()
    if staged:
        restore, gflop = staged_restore(mode), None
    else:
        restore, gflop = compiled_restore(mode, photo, holes)
    jax.block_until_ready(restore(photo, holes))  # compiles, if staged
    first_s = time.perf_counter() - start
    walls, cpus = [], []
    while len(walls) < runs and sum(walls) + first_s < 300:
        wall, cpu = time.perf_counter(), time.process_time()
        jax.block_until_ready(restore(photo, holes))
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return {
        "size": size, "mode": mode, "staged": staged,
        "hole_pixels": 0.0 if holes is None else float(holes.mean()),
        "first_call_s": first_s,
        "seconds": statistics.median(walls) if walls else first_s,
        "gflop": gflop,
        "cpu_seconds_of_fastest": cpus[int(np.argmin(walls))] if walls else None,
        "runs": len(walls),
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GIB,
        "load_average_1min": os.getloadavg()[0],
    }


def measure_reference(size: str, mode: str, runs: int) -> dict:
    """One item of the reference tool in its own process; its peak RSS as our child's."""
    item = f"{mode}_{parse_size(size)[0]}"
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "reference.json"
        command = [str(REFERENCE_PYTHON), str(REFERENCE_TOOL), "--in-process", "--only", mode,
                   "--sizes", str(parse_size(size)[0]), "--reps", str(runs), "--out", str(out)]
        subprocess.run(command, capture_output=True, text=True, check=True)
        result = json.loads(out.read_text())["results"].get(item, {})
    return {
        "seconds": result.get("full", {}).get("median_s"),
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 / GIB,
        "error": result.get("error"),
    }


def in_subprocess(*flags: str) -> dict:
    command = [sys.executable, __file__, *flags]
    process = subprocess.run(command, capture_output=True, text=True)
    if process.returncode:
        return {"error": process.stderr.strip().splitlines()[-1]}
    return json.loads(process.stdout.strip().splitlines()[-1])


def gflops(row: dict, seconds: float | None, reference: bool = False) -> float | None:
    """GFLOP/s of `seconds` spent on the row's XLA floating-point operations. For the reference,
    only in quality mode: its scratch mode computes every attention query exactly, ours does
    not (MAPPING_FIELDS), so the two do different work."""
    if not row.get("gflop") or not seconds:
        return None
    if reference and row["mode"] != "quality":
        return None
    return row["gflop"] / seconds


def print_table(rows):
    print(f"{'size':>9} {'mode':>14} {'time s':>8} {'cpu s':>8} {'RSS GB':>7} {'GFLOP':>7} "
          f"{'GFLOP/s':>8} {'ref s':>7} {'ref GB':>7} {'ref GF/s':>8} {'x ref':>6}")

    def text(value, width, spec=".2f"):
        return f"{'-':>{width}}" if value is None else f"{value:{width}{spec}}"

    for row in rows:
        if "error" in row and "seconds" not in row:
            print(f"{row['size']:>9} {row['mode']:>14} {row['error']}")
            continue
        ref = row.get("reference") or {}
        ref_s = ref.get("seconds")
        print(f"{row['size']:>9} {row['mode']:>14} {row['seconds']:8.2f} "
              f"{text(row['cpu_seconds_of_fastest'], 8)} {row['peak_rss_gb']:7.2f} "
              f"{text(row.get('gflop'), 7, '.1f')} "
              f"{text(row.get('gflops'), 8, '.1f')} {text(ref_s, 7)} "
              f"{text(ref.get('peak_rss_gb') if ref_s else None, 7)} "
              f"{text(ref.get('gflops'), 8, '.1f')} "
              f"{text(row['seconds'] / ref_s if ref_s else None, 6)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["256", "512", "1024", "2048", "4000x3000"])
    parser.add_argument("--modes", nargs="+",
                        default=["quality", "scratch", "scratch_pooled", "scratch_exact"])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reference-sizes", nargs="*", default=["256", "512"])
    parser.add_argument("--max-unpooled", type=int, default=1024 * 1024)
    parser.add_argument("--staged-above", type=int, default=2048 * 2048)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/restore.json"))
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)  # SIZE MODE: ours
    parser.add_argument("--reference-child", nargs=2, help=argparse.SUPPRESS)  # SIZE MODE
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure_ours(*args.child, args.runs, args.staged_above)))
        return
    if args.reference_child:
        print(json.dumps(measure_reference(*args.reference_child, args.runs)))
        return

    args.out.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "rows": [], "jax": jax.__version__, "command": " ".join(sys.argv),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "load_average_at_start": os.getloadavg(),
    }
    for size in args.sizes:
        height, width = parse_size(size)
        for mode in args.modes:
            if mode not in ("quality", "scratch_pooled") and height * width > args.max_unpooled:
                continue
            common = ["--runs", str(args.runs)]
            row = in_subprocess("--child", size, mode, "--staged-above",
                                str(args.staged_above), *common)
            row.update(size=size, mode=mode)
            if size in args.reference_sizes and mode in ("quality", "scratch"):
                row["reference"] = in_subprocess("--reference-child", size, mode, *common)
                row["reference"]["gflops"] = gflops(row, row["reference"].get("seconds"),
                                                    reference=True)
            row["gflops"] = gflops(row, row.get("seconds"))
            record["rows"].append(row)
            args.out.write_text(json.dumps(record, indent=2))  # after each row: runs are long
            print(f"measured {size} {mode}: {row}", file=sys.stderr, flush=True)
    record["load_average_at_end"] = os.getloadavg()
    args.out.write_text(json.dumps(record, indent=2))
    print_table(record["rows"])
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
