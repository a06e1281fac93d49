"""benchmarks/run_all.py (launch/benchmark.py) and benchmarks/train_steps.py: the FLOP counts
they report against hand arithmetic, their arithmetic of throughput and shares, the tables they
render from a result (ratios, missing reference, failed items), and one real child item. Nothing
here is timed."""

import sys

import jax
import jax.numpy as jnp
import pytest

from benchmarks import run_all as benchmark
from benchmarks import train_steps


def conv(x, kernel, padding="SAME"):
    return jax.lax.conv_general_dilated(x, kernel, (1, 1), padding,
                                        dimension_numbers=("NHWC", "HWIO", "NHWC"))


@pytest.mark.parametrize("padding", ["SAME", "VALID"])
def test_conv_flops_are_two_per_multiply_add_inside_the_image(padding):
    """XLA counts the kernel taps that land on the image: with zero padding, an output pixel on
    a border has fewer, so each 1-D side contributes 3n - 2 taps instead of 3n."""
    height, width, cin, cout = 8, 6, 4, 5
    x, kernel = jnp.ones((1, height, width, cin)), jnp.ones((3, 3, cin, cout))
    compiled = jax.jit(lambda x, k: conv(x, k, padding)).lower(x, kernel).compile()
    taps = (3 * height - 2) * (3 * width - 2) if padding == "SAME" else 9 * (height - 2) * (
        width - 2)
    assert train_steps.xla_flops(compiled) == 2 * cin * cout * taps


def test_peak_flops_by_hand_count_the_padding_too():
    """The peak conv's FLOPs are the issue's by-hand count: 2% more than XLA's for the same
    conv, whose border pixels have fewer taps."""
    assert train_steps.PEAK_FLOPS == 2 * 64 * 64 * 512 * 512 * 9
    xla_count = 2 * 512 * 512 * (3 * 64 - 2) ** 2
    assert 1.02 < train_steps.PEAK_FLOPS / xla_count < 1.03


def test_loops_that_multiply_make_the_flops_a_lower_bound():
    x, kernel = jnp.ones((1, 8, 8, 4)), jnp.ones((3, 3, 4, 4))
    looped = lambda x, k: jax.lax.scan(lambda x, _: (conv(x, k), None), x, None, length=5)[0]
    compiled = jax.jit(looped).lower(x, kernel).compile()
    assert train_steps.loops_hide_flops(compiled)
    once = jax.jit(conv).lower(x, kernel).compile()
    # The body counted once, not five times (plus the loop counter's few FLOPs).
    assert train_steps.xla_flops(once) <= train_steps.xla_flops(compiled) < 2 * \
        train_steps.xla_flops(once)
    assert not train_steps.loops_hide_flops(once)
    random_bits = jax.jit(lambda key: jax.random.normal(key, (4, 4))).lower(jax.random.key(0))
    assert not train_steps.loops_hide_flops(random_bits.compile())  # threefry's loop: no FLOPs


def test_throughput_and_share_arithmetic():
    assert train_steps.gflops(3e9, 0.5) == 6.0
    assert benchmark.share_of_peak(50.0, {"gflops": 200.0}) == 0.25
    assert benchmark.share_of_peak(50.0, {"error": "failed"}) is None
    assert benchmark.ratio(2.0, 4.0) == 0.5
    assert benchmark.ratio(2.0, None) is None


def header(load=0.1, reference="../shared/bench/reference_torch.py"):
    return {"date": "2026-11-28T10:00:00+00:00", "mode": "quick", "runs": 3, "cpu_count": 2,
            "cpu_model": "Some CPU", "platform": "Linux", "reference": reference,
            "versions": {"jax": "0.10.2", "torch (reference)": None},
            "load_average_start": [load, 0.2, 0.3], "load_average_end": [0.4, 0.3, 0.3]}


def step(stage, variant, seconds, flops, total_steps=600, lower_bound=False):
    return {"stage": stage, "variant": variant, "batch": 2, "size": 256, "flops": flops,
            "flops_lower_bound": lower_bound, "compile_s": 40.0, "seconds": seconds,
            "gflops": flops / seconds / 1e9, "total_steps": total_steps}


def result(reference_results, load=0.1):
    return {
        "header": header(load),
        "peak": {"what": "512-channel conv", "flops": 2e10, "seconds": 0.1, "gflops": 200.0},
        "train_steps": [
            step("vae1", "reference", 2.0, 200e9),
            step("mapping_scratch", "cpu", 0.5, 50e9, total_steps=600, lower_bound=True),
            {"stage": "face", "variant": "cpu", "error": "ConfigError: no faces"},
        ],
        "detection": {"size": 256, "flops": 40e9, "seconds": 0.4, "gflops": 100.0},
        "restore": {"rows": [
            {"size": "256", "mode": "quality", "seconds": 1.0, "peak_rss_gb": 1.5,
             "gflop": 300.0, "gflops": 300.0,
             "reference": {"seconds": 2.0, "peak_rss_gb": 0.8, "gflops": 150.0}},
            {"size": "256", "mode": "scratch_pooled", "seconds": 3.0, "peak_rss_gb": 2.0},
            {"size": "4000x3000", "mode": "scratch", "error": "MemoryError"},
        ]},
        "reference": {"results": reference_results},
    }


def table_rows(text: str, title: str) -> list[list[str]]:
    """The body rows of the markdown table under `title`, as lists of cells."""
    section = text.split(f"## {title}")[1].split("\n## ")[0]
    lines = [line for line in section.splitlines() if line.startswith("|")][2:]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]


def test_tables_put_ours_next_to_the_reference_with_the_ratio():
    text = benchmark.report(result({"train_vae_a": {"full": {"median_s": 4.0}},
                                    "unet_256": {"full": {"median_s": 0.8}}}))
    vae1, scratch, face = table_rows(text, "Train steps")
    columns = benchmark.STEP_COLUMNS
    vae1 = dict(zip(columns, vae1, strict=True))
    assert vae1["GFLOP"] == "200.0" and vae1["GFLOP/s"] == "100.0" and vae1["% of peak"] == "50"
    assert vae1["reference s"] == "4.000" and vae1["ours/ref"] == "0.50"
    assert vae1["cpu run min"] == "-"  # the reference configuration has no cpu run
    scratch = dict(zip(columns, scratch, strict=True))
    assert (scratch["GFLOP"], scratch["GFLOP/s"], scratch["% of peak"]) == (
        ">=50.0", ">=100.0", ">=50")  # XLA counted a loop's body once
    assert scratch["reference s"] == "-" and scratch["ours/ref"] == "-"
    assert scratch["cpu run min"] == "5.0"  # 600 steps of 0.5 s
    assert face[:3] == ["face", "cpu", "failed: ConfigError: no faces"]

    quality, pooled, failed = table_rows(text, "Restoration")
    assert quality == ["256", "quality", "1.000", "1.50", "300.0", "300.0", "2.000", "0.80",
                       "150.0", "0.50"]
    assert pooled[4:] == ["-"] * 6
    assert failed[2] == "failed: MemoryError"
    (detection,) = table_rows(text, "Scratch detection")
    assert detection == ["256", "40.0", "0.400", "100.0", "50", "0.800", "0.50"]
    assert "Attention" not in text  # not measured in this result
    assert "not quiet" not in text and "missing" not in text


def test_restore_gflops_count_the_same_work_only():
    """The reference's scratch mode computes every attention query exactly and ours does not, so
    only its quality mode turns our FLOP count into its GFLOP/s."""
    from benchmarks import restore

    quality = {"mode": "quality", "gflop": 300.0, "seconds": 1.5}
    scratch = {"mode": "scratch", "gflop": 450.0, "seconds": 1.5}
    assert restore.gflops(quality, 1.5) == 200.0
    assert restore.gflops(quality, 1.0, reference=True) == 300.0
    assert restore.gflops(scratch, 1.5) == 300.0
    assert restore.gflops(scratch, 1.0, reference=True) is None
    assert restore.gflops({"mode": "quality", "gflop": None}, 1.0) is None  # staged: not counted


def test_without_reference_the_columns_stay_empty_and_the_header_says_why():
    busy = result({}, load=1.7)
    busy["header"]["reference"] = None
    text = benchmark.report(busy)
    assert "WARNING: machine not quiet: ratios unreliable" in text
    assert "reference columns left empty" in text
    vae1 = dict(zip(benchmark.STEP_COLUMNS, table_rows(text, "Train steps")[0], strict=True))
    assert vae1["reference s"] == "-" and vae1["ours/ref"] == "-"
    assert table_rows(text, "Scratch detection")[0][-2:] == ["-", "-"]


def test_attention_table_reads_the_reference_mapping_alone():
    attention = {"rows": [{"size": 256, "attention_all_queries_s": 0.3,
                           "attention_hole_queries_s": 0.05, "seconds": 1.0, "xla_gb": 0.5}]}
    reference = {"results": {"scratch_256": {"mapping": {"median_s": 2.0},
                                             "full": {"median_s": 2.5}}}}
    table = benchmark.attention_table(attention, reference)
    assert table.splitlines()[-1] == "| 256 | 0.300 | 0.050 | 1.000 | 2.000 | 0.50 | 0.50 |"


def test_reference_items_follow_the_plan():
    assert benchmark.QUICK.reference_arguments() == ["--only", "train,unet"]
    full = benchmark.full_plan(["256", "512"])
    assert full.reference_arguments()[-3:] == ["--sizes", "256,512", "--split"]
    assert ("face", "cpu") in full.steps and ("face", "reference") not in full.steps
    assert {stage for stage, variant in full.steps if variant == "reference"} == set(
        benchmark.STAGES)


def test_a_failing_item_becomes_its_last_error_line():
    failed = benchmark.json_line([sys.executable, "-c", "import sys; sys.exit('no such stage')"])
    assert failed == {"error": "no such stage"}


@pytest.mark.slow
def test_one_child_item_reports_its_step(tfds_dir, monkeypatch):
    """A real child process: VAE2's smoke step, built and compiled as the benchmark does."""
    monkeypatch.setenv("JAX_DISABLE_MOST_OPTIMIZATIONS", "1")  # compiles faster; not timed here
    row = benchmark.json_line([sys.executable, train_steps.__file__, "--child", "vae2", "smoke",
                               "--runs", 1, "--tfds-dir", tfds_dir])
    assert "error" not in row, row
    assert (row["stage"], row["variant"], row["batch"], row["size"]) == ("vae2", "smoke", 2, 32)
    assert row["flops"] > 0 and len(row["runs_s"]) == 1 and row["seconds"] > 0
    assert row["gflops"] == pytest.approx(row["flops"] / row["seconds"] / 1e9)
    assert row["flops_lower_bound"] is False  # no loop of VAE2's step multiplies


def test_face_detection_counts_faces_per_photo_and_draws_sheets(tmp_path):
    """benchmarks/face_detection.py on one portrait, one blank photo and one broken file: one
    face, on the portrait, a sheet with it, the broken file skipped, and a clear refusal of a
    missing or empty folder."""
    import json

    import numpy as np
    import skimage.data
    from PIL import Image

    from benchmarks import face_detection

    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(skimage.data.astronaut()).save(photos / "astronaut.png")
    Image.fromarray(np.full((60, 80, 3), 200, np.uint8)).save(photos / "blank.png")
    (photos / "broken.png").write_bytes(b"not a png")
    out = tmp_path / "out"
    assert face_detection.main(["--photos", str(photos), "--out", str(out)]) == 0
    result = json.loads((out / "face_detection.json").read_text())
    counts = {r["photo"]: r["faces"] for r in result["photos"]}
    assert counts == {"astronaut.png": 1, "blank.png": 0}
    assert result["summary"]["with_faces"] == 1 and result["sheets"] == ["faces_00.jpg"]
    assert Image.open(out / "faces_00.jpg").size == (face_detection.CELL,) * 2
    assert face_detection.main(["--photos", str(tmp_path / "none"), "--out", str(out)]) == 2
    (tmp_path / "empty").mkdir()
    assert face_detection.main(["--photos", str(tmp_path / "empty"), "--out", str(out)]) == 2
