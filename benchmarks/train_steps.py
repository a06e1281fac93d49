"""Single measurements for launch/benchmark.py, each meant for a fresh process (so that items do
not share allocator or compilation state), each printing one JSON line:

    python benchmarks/train_steps.py --child STAGE VARIANT [--runs 3]   # one training step
    python benchmarks/train_steps.py --peak [--runs 3]                   # this CPU's peak
    python benchmarks/train_steps.py --detect SIZE [--runs 3]            # scratch detection

--child: one training step of STAGE (vae1, vae2, mapping, mapping_scratch, detector, face,
pix2pix) at the config file's VARIANT, built as training builds it (the stage's make_stage, the
step jitted with its state donated, one device) on synthetic uint8 photos. `reference` is the
config's default variant at batch 2 and 256 px crops (VAE1: one old and one synthetic photo);
any other variant (`cpu`: batch 4, 128 px) keeps the config's batch and crop. The mapping stages
train on VAE1 and VAE2 workdirs of the same variant, made here by 0-step runs (their initial
checkpoints). Reported: the step's FLOPs by XLA's cost analysis of the compiled step, compile
seconds, the first step's seconds, the median of --runs steps after it, and GFLOP/s.

--peak: a 512-channel 3x3 conv (zero padding) on a (1, 64, 64, 512) input, forward only, its
FLOPs counted by hand: what the CPU reaches on the layer shape it runs fastest.

--detect: `oldrestore.inference.scratch_detection.detect_scratches` on a SIZE x SIZE photo at the
reference U-Net (64 channels at full resolution, depth 4, random init), and the network's FLOPs.

XLA's cost analysis counts a loop body once, not once per trip: a step whose loops multiply
(the scratch mapping's blockwise attention, the per-example degradation's blurs) does more work
than its FLOPs say; `flops_lower_bound` marks it.
"""

import argparse
import json
import os
import re
import resource
import statistics
import tempfile
import time
from pathlib import Path

from oldrestore.console import quiet_libraries

quiet_libraries()  # before TensorFlow (tfds) and orbax are imported

import jax  # noqa: E402
import numpy as np  # noqa: E402

from oldrestore.configuration import load_config_module  # noqa: E402
from oldrestore.data.sharding import make_mesh, shard_batch  # noqa: E402
from oldrestore.data.sources import EMBEDDED  # noqa: E402
from oldrestore.stages import stage_spec  # noqa: E402
from oldrestore.train.stage1_data import OLD, SYNTHETIC  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
REFERENCE_BATCH, REFERENCE_SIZE = 2, 256  # the reference step: VAE1, 1 old + 1 synthetic
PEAK_SHAPE, PEAK_KERNEL = (1, 64, 64, 512), (3, 3, 512, 512)
PEAK_FLOPS = 2 * 64 * 64 * 512 * 512 * 9  # multiply-adds of every output pixel, padding included
MIN_PEAK_RUNS = 10  # the peak conv takes a tenth of a second: more runs cost nothing
# Where make_stage's photo loader reads; batches here are synthetic, so it gets the embedded
# photos and no folders, and the step then sees the config's own values again.
LOADER_FIELDS = {"clean_dir": EMBEDDED, "old_dir": "", "more_faces_dir": "", "align_faces": False}
GIB = 2**30


def xla_flops(compiled) -> float:
    """FLOPs of a compiled program by XLA's cost analysis (a dict, or in some jax versions a list
    of one dict per program)."""
    analysis = compiled.cost_analysis()
    if isinstance(analysis, dict):
        analysis = [analysis]
    return float(sum(part.get("flops", 0.0) for part in analysis))


def computations(hlo_text: str) -> dict[str, str]:
    """name -> text of each computation of an HLO module's text."""
    found = re.finditer(r"^(?:ENTRY )?%([\w.\-]+) [^\n]*\{\n(.*?)^\}", hlo_text, re.M | re.S)
    return {match[1]: match[2] for match in found}


def loops_hide_flops(compiled) -> bool:
    """Whether a while loop of the optimised program multiplies (conv or dot) in its body, or in
    what its body calls: XLA counts those FLOPs once, not once per trip, so the program's FLOPs
    are a lower bound. (Loops without them, such as the random-bit generator's, do not count.)"""
    text = compiled.as_text()
    bodies, pending = computations(text), re.findall(r"body=%([\w.\-]+)", text)
    seen = set()
    while pending:
        name = pending.pop()
        if name in seen or name not in bodies:
            continue
        seen.add(name)
        if re.search(r" (convolution|dot)\(", bodies[name]):
            return True
        pending += re.findall(r"%([\w.\-]+)", bodies[name])
    return False


def gflops(flops: float, seconds: float) -> float:
    return flops / seconds / 1e9


def timed(call, runs: int) -> tuple[float, list[float]]:
    """(seconds of the first call, seconds of each of the `runs` calls after it)."""
    times = []
    for _ in range(runs + 1):
        start = time.perf_counter()
        jax.block_until_ready(call())
        times.append(time.perf_counter() - start)
    return times[0], times[1:]


def stage_config(stage: str, variant: str, tfds_dir: str | None = None):
    """configs/<stage>.py at `variant`, as measured here (see the module docstring)."""
    config = load_config_module(REPO / "configs" / f"{stage}.py").get_config(variant)
    if variant == "reference":
        config.batch_size, config.data.crop_size = REFERENCE_BATCH, REFERENCE_SIZE
    if "degradation" in config:
        config.degradation.loop_over_examples = True  # one device: the fast form
    if config.data.get("masks_dir"):  # relative to the checkout; optional, the step runs without
        masks = REPO / config.data.masks_dir
        config.data.masks_dir = str(masks) if masks.is_dir() else ""
    if tfds_dir:
        config.data.tfds_dir = tfds_dir
    return config


def point_loader_at_embedded(config) -> dict:
    """Sets LOADER_FIELDS in config.data; returns the values they had."""
    fields = {name: value for name, value in LOADER_FIELDS.items() if name in config.data}
    kept = {name: config.data[name] for name in fields}
    config.data.update(fields)
    return kept


def initial_vae_workdirs(variant: str, folder: Path, tfds_dir: str | None) -> dict[str, str]:
    """VAE1 and VAE2 workdirs at `variant` holding their step-0 checkpoints: the frozen networks
    the mapping stages load."""
    from oldrestore.train.run import run

    workdirs = {}
    for name in ("vae1", "vae2"):
        config = stage_config(name, variant, tfds_dir)
        point_loader_at_embedded(config)
        config.total_steps = 0
        workdirs[name] = str(folder / name)
        run(config, workdirs[name], devices=jax.devices()[:1])
    return workdirs


def synthetic_batch(config) -> dict[str, np.ndarray]:
    """Random uint8 crops; VAE1's first half old photos, the rest clean (as DomainBatches)."""
    n, size = config.batch_size, config.data.crop_size
    batch = {"image": np.random.default_rng(0).integers(0, 256, (n, size, size, 3), np.uint8)}
    if config.stage == "vae1":
        batch["domain"] = np.array([OLD] * (n // 2) + [SYNTHETIC] * (n - n // 2), np.int32)
    return batch


def measure_step(stage_name: str, variant: str, runs: int, tfds_dir: str | None = None) -> dict:
    config = stage_config(stage_name, variant, tfds_dir)
    module = stage_spec(stage_name).training_module()
    mesh = make_mesh(jax.devices()[:1])
    with tempfile.TemporaryDirectory() as folder:
        if "frozen" in config:
            config.frozen.update(initial_vae_workdirs(variant, Path(folder), tfds_dir))
        kept = point_loader_at_embedded(config)
        stage = module.make_stage(config, mesh)
    config.data.update(kept)  # the step reads them when traced (VAE1: data.old_dir)
    batch = shard_batch(synthetic_batch(config), mesh)
    state = jax.jit(stage.init)(jax.random.key(0))
    key, constants = jax.random.key(1), jax.device_put(stage.constants)

    start = time.perf_counter()
    compiled = jax.jit(stage.step, donate_argnums=0).lower(state, batch, key, constants).compile()
    compile_s = time.perf_counter() - start
    carry = [state]  # the donated state of each step is the next step's input

    def step():
        carry[0], metrics, _ = compiled(carry[0], batch, key, constants)  # _: grid rows
        return carry[0], metrics

    first_s, times = timed(step, runs)
    seconds, flops = statistics.median(times), xla_flops(compiled)
    return {
        "item": "train_step", "stage": stage_name, "variant": variant,
        "batch": config.batch_size, "size": config.data.crop_size,
        "total_steps": config.total_steps, "real_masks": bool(config.data.get("masks_dir")),
        "flops": flops, "flops_lower_bound": loops_hide_flops(compiled), "compile_s": compile_s,
        "first_step_s": first_s, "seconds": seconds, "runs_s": times,
        "gflops": gflops(flops, seconds), **process_record(),
    }


def measure_peak(runs: int) -> dict:
    """The conv in float32 (the peak) and in bfloat16: this CPU has AMX bfloat16 tiles, which
    XLA's CPU convolutions do not use, so bfloat16 buys no speed here (measured, not assumed)."""
    x = jax.random.normal(jax.random.key(0), PEAK_SHAPE)
    kernel = 0.02 * jax.random.normal(jax.random.key(1), PEAK_KERNEL)
    conv = jax.jit(lambda x, k: jax.lax.conv_general_dilated(
        x, k, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")))

    def conv_in(dtype):
        """(median s, runs, compiled) of the conv in `dtype`."""
        x_, kernel_ = x.astype(dtype), kernel.astype(dtype)
        compiled = conv.lower(x_, kernel_).compile()
        _, times = timed(lambda: compiled(x_, kernel_), max(runs, MIN_PEAK_RUNS))
        return statistics.median(times), times, compiled

    seconds, times, compiled = conv_in(jax.numpy.float32)
    bfloat16_seconds = conv_in(jax.numpy.bfloat16)[0]
    return {"item": "peak", "what": "512-channel 3x3 conv, zero padding, (1, 64, 64, 512), forward",
            "flops": PEAK_FLOPS, "xla_flops": xla_flops(compiled), "seconds": seconds,
            "runs_s": times, "gflops": gflops(PEAK_FLOPS, seconds),
            "bfloat16_gflops": gflops(PEAK_FLOPS, bfloat16_seconds), **process_record()}


def measure_detection(size: int, runs: int) -> dict:
    from oldrestore.inference.scratch_detection import detect_scratches
    from oldrestore.models.scratch_unet import ScratchUNet

    model, gray = ScratchUNet(), jax.numpy.zeros((1, size, size, 1))
    variables = jax.jit(model.init)(jax.random.key(0), gray)
    flops = xla_flops(jax.jit(model.apply).lower(variables, gray).compile())
    photo = np.random.default_rng(0).integers(0, 256, (size, size, 3), np.uint8)
    first_s, times = timed(lambda: detect_scratches(
        variables["params"], variables["batch_stats"], photo, working_short_side=size), runs)
    seconds = statistics.median(times)
    return {"item": "detection", "size": size, "flops": flops, "first_call_s": first_s,
            "seconds": seconds, "runs_s": times, "gflops": gflops(flops, seconds),
            **process_record()}


def process_record() -> dict:
    return {"peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GIB,
            "load_average_1min": os.getloadavg()[0]}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    item = parser.add_mutually_exclusive_group(required=True)
    item.add_argument("--child", nargs=2, metavar=("STAGE", "VARIANT"))
    item.add_argument("--peak", action="store_true")
    item.add_argument("--detect", type=int, metavar="SIZE")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tfds-dir", default=None,
                        help="where the embedded photos are prepared (default: the config's)")
    args = parser.parse_args(argv)
    if args.child:
        result = measure_step(*args.child, args.runs, args.tfds_dir)
    elif args.peak:
        result = measure_peak(args.runs)
    else:
        result = measure_detection(args.detect, args.runs)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
