"""The project's one benchmark: every section's table, on one machine, in one invocation.

One table per section and one JSON, with date, machine, versions and load average.

    python launch/benchmark.py [--quick] [--out DIR] [--runs N] [--restore-sizes 256 512 ...]

Sections: (a) one training step per stage at its reference configuration (batch 2, 256 px) and
its cpu configuration (batch 4, 128 px): FLOPs, time, achieved GFLOP/s and share of this CPU's
peak (a 512-channel 3x3 conv at 64x64, measured in the same run); (b) restoration time and peak
memory per mode and size (benchmarks/restore.py); (c) the attention kernel alone and the scratch
mapping around it (benchmarks/scratch_mapping.py); (d) scratch detection. Every item with a
reference counterpart sits next to the number ../shared/bench/reference_torch.py measures in the
same invocation (run with the .refbench venv), and the ratio ours / reference (< 1: we are
faster). Every measurement runs in a fresh process.

--quick (about 5 minutes on a quiet 2-core machine): the peak, VAE1's reference step, the cpu
steps of VAE2, VAE1 and the quality mapping, quality and scratch restores at 256, detection at
256. Writes DIR/benchmark.json (everything, raw) and DIR/benchmark.md (the tables); default DIR
benchmarks/results/latest. Ratios mean something only on a quiet machine: the header says when
it was not.
"""

import argparse
import dataclasses
import datetime
import json
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TRAIN_STEPS = REPO / "benchmarks" / "train_steps.py"
RESTORE = REPO / "benchmarks" / "restore.py"
SCRATCH_MAPPING = REPO / "benchmarks" / "scratch_mapping.py"
REFERENCE_TOOL = REPO.parent / "shared" / "bench" / "reference_torch.py"
REFERENCE_PYTHON = REPO / ".refbench" / "bin" / "python"

STAGES = ("vae1", "vae2", "mapping", "mapping_scratch", "detector")
CPU_ONLY_STAGES = ("face", "pix2pix")  # no reference-scale step worth timing on a CPU
REFERENCE_SIZES = ("256", "512")  # the reference's dense attention fails above 512
QUIET_LOAD = 0.5  # 1-minute load average above which ratios are unreliable
# Our item -> the reference tool's item and the part of it that times the same work.
REFERENCE_STEP = {("vae1", "reference"): ("train_vae_a", "full")}


@dataclasses.dataclass(frozen=True)
class Plan:
    steps: tuple[tuple[str, str], ...]  # (stage, variant)
    restore_sizes: tuple[str, ...]
    restore_modes: tuple[str, ...]
    attention_sizes: tuple[int, ...]
    detection_size: int = 256

    def reference_arguments(self) -> list[str]:
        """reference_torch.py's items: the VAE1 step, the U-Net and, with the attention section,
        the scratch restore split into its parts (the mapping alone). Its quality and scratch
        restores run beside ours in benchmarks/restore.py."""
        if not self.attention_sizes:
            return ["--only", "train,unet"]
        sizes = ",".join(str(size) for size in self.attention_sizes)
        return ["--only", "train,unet,scratch", "--sizes", sizes, "--split"]


QUICK = Plan(steps=(("vae1", "reference"), ("vae2", "cpu"), ("vae1", "cpu"), ("mapping", "cpu")),
             restore_sizes=("256",), restore_modes=("quality", "scratch"), attention_sizes=())


def full_plan(restore_sizes) -> Plan:
    steps = [(stage, variant) for variant in ("reference", "cpu") for stage in STAGES]
    steps += [(stage, "cpu") for stage in CPU_ONLY_STAGES]
    return Plan(steps=tuple(steps), restore_sizes=tuple(restore_sizes),
                restore_modes=("quality", "scratch", "scratch_pooled", "scratch_exact"),
                attention_sizes=(256, 512))


# --- running the measurements ------------------------------------------------------------------

def say(message: str) -> None:
    print(message, flush=True)


def run_process(command: list) -> tuple[str | None, str]:
    """(error or None, stdout) of a measurement process run from the checkout."""
    process = subprocess.run([str(part) for part in command], cwd=REPO, capture_output=True,
                             text=True)
    if process.returncode:
        lines = process.stderr.strip().splitlines() or [f"exit status {process.returncode}"]
        return lines[-1], process.stdout
    return None, process.stdout


def json_line(command: list) -> dict:
    """The JSON line a benchmarks/train_steps.py item prints last, or {"error": ...}."""
    error, stdout = run_process(command)
    lines = stdout.strip().splitlines()
    if error or not lines:
        return {"error": error or "no output"}
    return json.loads(lines[-1])


def json_file(command: list, out: Path) -> dict:
    """The JSON file a benchmark script writes to `out`, or {"error": ...}."""
    error, _ = run_process(command)
    if error:
        return {"error": error}
    return json.loads(out.read_text())


def has_reference() -> bool:
    return REFERENCE_PYTHON.exists() and REFERENCE_TOOL.exists()


def item(*flags, runs: int) -> dict:
    return json_line([sys.executable, TRAIN_STEPS, *flags, "--runs", runs])


def measure_restores(plan: Plan, runs: int, out: Path) -> dict:
    reference_sizes = [s for s in plan.restore_sizes if s in REFERENCE_SIZES and has_reference()]
    command = [sys.executable, RESTORE, "--sizes", *plan.restore_sizes,
               "--modes", *plan.restore_modes, "--runs", runs,
               "--reference-sizes", *reference_sizes, "--out", out]
    return json_file(command, out)


def measure_attention(plan: Plan, runs: int, out: Path) -> dict:
    command = [sys.executable, SCRATCH_MAPPING, "--sizes", *plan.attention_sizes,
               "--runs", runs, "--out", out]
    return json_file(command, out)


def measure_reference(plan: Plan, runs: int, out: Path) -> dict:
    command = [REFERENCE_PYTHON, REFERENCE_TOOL, *plan.reference_arguments(), "--reps", runs,
               "--out", out]
    return json_file(command, out)


# --- the header ----------------------------------------------------------------------------------

def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def reference_torch_version() -> str | None:
    if not REFERENCE_PYTHON.exists():
        return None
    error, stdout = run_process([REFERENCE_PYTHON, "-c",
                                 "import importlib.metadata as m; print(m.version('torch'))"])
    return None if error else stdout.strip()


def machine_header(quick: bool, runs: int) -> dict:
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "mode": "quick" if quick else "full",
        "runs": runs,
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "platform": platform.platform(),
        "versions": {"python": platform.python_version(),
                     **{name: metadata.version(name) for name in ("jax", "jaxlib", "flax")},
                     "torch (reference)": reference_torch_version()},
        "reference": str(REFERENCE_TOOL) if has_reference() else None,
        "load_average_start": list(os.getloadavg()),
    }


def header_lines(header: dict) -> list[str]:
    versions = ", ".join(f"{name} {version or '-'}" for name, version in header["versions"].items())
    end = header.get("load_average_end")
    lines = [
        f"Date: {header['date']} ({header['mode']} mode, median of {header['runs']} runs)",
        f"Machine: {header['cpu_count']} CPUs, {header['cpu_model']}, {header['platform']}",
        f"Versions: {versions}",
        f"Load average (1, 5, 15 min): start {load_text(header['load_average_start'])}, "
        f"end {load_text(end) if end else '-'}",
    ]
    if header["load_average_start"][0] > QUIET_LOAD:
        lines.append("WARNING: machine not quiet: ratios unreliable")
    if header["reference"] is None:
        lines.append(f"Reference: {REFERENCE_PYTHON} or {REFERENCE_TOOL} missing: "
                     "reference columns left empty")
    return lines


def load_text(load) -> str:
    return ", ".join(f"{value:.2f}" for value in load)


# --- the tables ----------------------------------------------------------------------------------

def cell(value, spec: str = ".2f") -> str:
    return "-" if value is None else format(value, spec)


def ratio(ours, reference):
    return ours / reference if ours and reference else None


def markdown_table(columns: list[str], rows: list[list[str]], text_columns: int = 2) -> str:
    """Numbers right-aligned: every column after the first `text_columns`."""
    align = ["---"] * text_columns + ["---:"] * (len(columns) - text_columns)
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def error_row(columns: int, leading: list[str], error: str) -> list[str]:
    return [*leading, f"failed: {error}", *["" for _ in range(columns - len(leading) - 1)]]


def reference_seconds(reference: dict, name: str, part: str):
    return reference.get("results", {}).get(name, {}).get(part, {}).get("median_s")


def share_of_peak(gflops, peak: dict):
    return gflops / peak["gflops"] if gflops and peak.get("gflops") else None


def peak_line(peak: dict) -> str:
    if "error" in peak:
        return f"Peak: failed: {peak['error']}"
    line = (f"Peak: {peak['what']}: {peak['gflops']:.1f} GFLOP/s "
            f"({peak['flops'] / 1e9:.2f} GFLOP by hand in {peak['seconds'] * 1e3:.1f} ms)")
    if peak.get("bfloat16_gflops"):
        line += f"; the same conv in bfloat16: {peak['bfloat16_gflops']:.1f} GFLOP/s"
    return line


STEP_COLUMNS = ["stage", "config", "batch x px", "GFLOP", "compile s", "s/step", "steps/s",
                "GFLOP/s", "% of peak", "reference s", "ours/ref", "cpu run min"]


def step_row(row: dict, peak: dict, reference: dict) -> list[str]:
    if "error" in row:
        return error_row(len(STEP_COLUMNS), [row["stage"], row["variant"]], row["error"])
    counterpart = REFERENCE_STEP.get((row["stage"], row["variant"]))
    ref = reference_seconds(reference, *counterpart) if counterpart else None
    share = share_of_peak(row["gflops"], peak)
    # The config's whole run at this step time (not the reference's: 100k+ steps on accelerators).
    run_minutes = None
    if row["variant"] != "reference":
        run_minutes = row["total_steps"] * row["seconds"] / 60
    bound = ">=" if row["flops_lower_bound"] else ""  # XLA counted a loop's body once
    return [row["stage"], row["variant"], f"{row['batch']} x {row['size']}",
            bound + cell(row["flops"] / 1e9, ".1f"), cell(row["compile_s"], ".0f"),
            cell(row["seconds"], ".3f"), cell(1 / row["seconds"], ".2f"),
            bound + cell(row["gflops"], ".1f"), bound + cell(share and 100 * share, ".0f"),
            cell(ref, ".3f"), cell(ratio(row["seconds"], ref)), cell(run_minutes, ".1f")]


def steps_table(result: dict) -> str:
    rows = [step_row(row, result["peak"], result["reference"]) for row in result["train_steps"]]
    return markdown_table(STEP_COLUMNS, rows)


RESTORE_COLUMNS = ["size", "mode", "s", "peak RSS GB", "GFLOP", "GFLOP/s", "reference s",
                   "reference RSS GB", "reference GFLOP/s", "ours/ref"]


def restore_table(restore: dict) -> str:
    if "error" in restore:
        return f"failed: {restore['error']}"
    rows = []
    for row in restore["rows"]:
        if "seconds" not in row:
            rows.append(error_row(len(RESTORE_COLUMNS), [row["size"], row["mode"]], row["error"]))
            continue
        ref = row.get("reference") or {}
        ref_seconds = ref.get("seconds")
        rows.append([row["size"], row["mode"], cell(row["seconds"], ".3f"),
                     cell(row["peak_rss_gb"]), cell(row.get("gflop"), ".1f"),
                     cell(row.get("gflops"), ".1f"), cell(ref_seconds, ".3f"),
                     cell(ref.get("peak_rss_gb") if ref_seconds else None),
                     cell(ref.get("gflops"), ".1f"),
                     cell(ratio(row["seconds"], ref_seconds))])
    return markdown_table(RESTORE_COLUMNS, rows)


ATTENTION_COLUMNS = ["size", "attention, all queries s", "attention, hole queries s",
                     "scratch mapping s", "reference mapping s", "ours/ref", "XLA GB"]


def attention_table(attention: dict, reference: dict) -> str:
    if "error" in attention:
        return f"failed: {attention['error']}"
    rows = []
    for row in attention["rows"]:
        ref = reference_seconds(reference, f"scratch_{row['size']}", "mapping")
        rows.append([str(row["size"]), cell(row["attention_all_queries_s"], ".3f"),
                     cell(row["attention_hole_queries_s"], ".3f"), cell(row["seconds"], ".3f"),
                     cell(ref, ".3f"), cell(ratio(row["seconds"], ref)), cell(row["xla_gb"])])
    return markdown_table(ATTENTION_COLUMNS, rows, text_columns=1)


DETECTION_COLUMNS = ["size", "GFLOP", "s", "GFLOP/s", "% of peak", "reference U-Net s",
                     "ours/ref"]


def detection_table(result: dict) -> str:
    row = result["detection"]
    if "error" in row:
        return f"failed: {row['error']}"
    ref = reference_seconds(result["reference"], f"unet_{row['size']}", "full")  # U-Net alone
    share = share_of_peak(row["gflops"], result["peak"])
    return markdown_table(DETECTION_COLUMNS, [[
        str(row["size"]), cell(row["flops"] / 1e9, ".1f"), cell(row["seconds"], ".3f"),
        cell(row["gflops"], ".1f"), cell(share and 100 * share, ".0f"), cell(ref, ".3f"),
        cell(ratio(row["seconds"], ref))]], text_columns=1)


def report(result: dict) -> str:
    """The markdown of a benchmark result: header, then one table per section measured."""
    parts = ["\n".join(f"{line}  " for line in header_lines(result["header"])),
             "## Train steps\n\n" + peak_line(result["peak"]) + "\n\n" + steps_table(result)]
    if "restore" in result:
        parts.append("## Restoration (batch 1)\n\n" + restore_table(result["restore"]))
    if "attention" in result:
        parts.append("## Attention kernel and scratch mapping (batch 1)\n\n"
                     + attention_table(result["attention"], result["reference"]))
    if "detection" in result:
        parts.append("## Scratch detection (reference U-Net, random init)\n\n"
                     + detection_table(result))
    return "\n\n".join(parts) + "\n"


# --- the command ---------------------------------------------------------------------------------

def run_benchmark(plan: Plan, runs: int, out: Path, header: dict) -> dict:
    """Measures every item of `plan`; writes out/benchmark.json after each section."""
    result = {"header": header, "plan": dataclasses.asdict(plan), "reference": {}}
    save = lambda: (out / "benchmark.json").write_text(json.dumps(result, indent=2) + "\n")
    say("peak: 512-channel 3x3 conv at 64x64")
    result["peak"] = item("--peak", runs=runs)
    result["train_steps"] = []
    for stage, variant in plan.steps:
        say(f"train step: {stage} at {variant}")
        result["train_steps"].append(
            {"stage": stage, "variant": variant, **item("--child", stage, variant, runs=runs)})
        save()
    say(f"scratch detection at {plan.detection_size}")
    result["detection"] = item("--detect", plan.detection_size, runs=runs)
    if plan.attention_sizes:
        say(f"attention kernel and scratch mapping at {plan.attention_sizes}")
        result["attention"] = measure_attention(plan, runs, out / "scratch_mapping.json")
    if has_reference():
        say(f"reference: {' '.join(plan.reference_arguments())}")
        result["reference"] = measure_reference(plan, runs, out / "reference_torch.json")
    save()
    say(f"restoration: {' '.join(plan.restore_modes)} at {' '.join(plan.restore_sizes)}"
        + (" (and the reference's)" if has_reference() else ""))
    result["restore"] = measure_restores(plan, runs, out / "restore.json")
    header["load_average_end"] = list(os.getloadavg())
    save()
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the 5-minute subset")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "latest",
                        help="folder for benchmark.json, benchmark.md and the scripts' JSON")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per item (the median)")
    parser.add_argument("--restore-sizes", nargs="+", default=list(REFERENCE_SIZES),
                        help="full mode: restoration sizes, e.g. 256 512 1024 4000x3000")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else full_plan(args.restore_sizes)
    args.out.mkdir(parents=True, exist_ok=True)
    header = machine_header(args.quick, args.runs)
    for line in header_lines(header):
        say(line)
    text = report(run_benchmark(plan, args.runs, args.out, header))
    (args.out / "benchmark.md").write_text(text)
    say("\n" + text)
    say(f"wrote {args.out / 'benchmark.json'} and {args.out / 'benchmark.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
