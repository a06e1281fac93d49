"""Config variants and validation: a bad config stops with one line naming the field."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from oldrestore.configuration import (
    ConfigError,
    load_config_module,
    validate,
    with_overrides,
    write_config_json,
)

REPO = Path(__file__).resolve().parents[1]
STAGES = ("vae1", "vae2", "mapping", "mapping_scratch", "detector")


def config_module(name: str):
    return load_config_module(REPO / "configs" / f"{name}.py")


def load_config(name: str, variant: str | None = None):
    return config_module(name).get_config(variant)


@pytest.mark.parametrize("name", [*STAGES, "face"])
def test_variants_share_the_canonical_fields(name):
    for variant in ("reference", "cpu", "smoke"):
        config = load_config(name, variant)
        for field in ("seed", "batch_size", "total_steps"):
            assert field in config
        for field in ("clean_dir", "old_dir", "crop_size"):
            assert field in config.data
    assert load_config(name).variant == "reference"


def test_reference_values_are_the_authors():
    config = load_config("vae1")
    assert (config.model.width, config.model.num_blocks, config.model.num_downsamples) == (64, 4, 2)
    assert (config.optim.lr, config.optim.b1, config.optim.b2) == (2e-4, 0.5, 0.999)
    assert (config.loss.feature_matching, config.loss.vgg, config.loss.kl) == (10.0, 10.0, 1.0)
    assert config.loss.latent_gan == 1.0 and config.loss.l1 == 0.0
    assert (config.disc.num_scales, config.disc.num_layers, config.disc.ndf) == (2, 3, 64)
    assert "latent_disc" not in load_config("vae2")
    assert (config.batch_size, load_config("vae2").batch_size) == (100, 120)
    assert (config.total_steps, config.optim.decay_steps, config.data.crop_size) == (
        200_000, 100_000, 256)
    assert config.model.posterior == "reference" and config.latent_disc.ndf == 64
    assert config.loss.vgg_layer_weights == (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)


def test_mapping_reference_values_are_the_authors():
    quality, scratch = load_config("mapping"), load_config("mapping_scratch")
    for config in (quality, scratch):
        assert (config.model.max_channels, config.model.num_blocks) == (512, 6)
        assert (config.loss.latent_l1, config.loss.gan, config.loss.feature_matching,
                config.loss.vgg) == (60.0, 1.0, 10.0, 10.0)
        assert (config.disc.num_scales, config.disc.num_layers, config.disc.ndf) == (2, 3, 64)
    assert (quality.optim.lr, quality.optim.b1, quality.optim.b2) == (1e-4, 0.0, 0.9)
    assert (quality.disc_optim.lr, quality.disc_optim.b1, quality.disc_optim.b2) == (4e-4, 0.0, 0.9)
    for optim in (scratch.optim, scratch.disc_optim):
        assert (optim.lr, optim.b1, optim.b2) == (2e-4, 0.5, 0.999)
    assert not quality.disc.spectral_norm and scratch.disc.spectral_norm
    assert not quality.degradation.structured.enabled
    assert scratch.data.no_hole_fraction == 0.5
    assert (quality.batch_size, scratch.batch_size) == (80, 36)
    assert quality.total_steps == scratch.total_steps == 250_000
    assert quality.data.grayscale_prob == scratch.data.grayscale_prob == 0.0  # the pair's, together
    assert (scratch.model.temperature, scratch.model.mask_rule) == (1.0, "reference")
    assert scratch.degradation.structured.enabled
    assert scratch.degradation.structured.no_defect_prob == 0.0  # no_hole_fraction decides
    assert "temperature" not in quality.model and "masks_dir" not in quality.data


def test_detector_reference_values():
    config = load_config("detector")
    assert (config.model.wf, config.model.depth, config.threshold) == (6, 4, 0.4)
    assert config.loss.name == "balanced_bce"
    assert (config.batch_size, config.total_steps, config.optim.decay_steps) == (16, 100_000,
                                                                                   50_000)
    assert config.degradation.structured.no_defect_prob == 0.1


# stage: (total_steps, decay_steps, network widths) of its cpu variant
CPU_RECIPE = {
    "vae1": (800, 300, {"model.width": 32, "disc.ndf": 32, "latent_disc.ndf": 32}),
    "vae2": (800, 300, {"model.width": 32, "disc.ndf": 32}),
    "mapping": (600, 200, {"model.max_channels": 128, "model.num_blocks": 2, "disc.ndf": 32}),
    "mapping_scratch": (600, 200, {"model.max_channels": 128, "model.num_blocks": 2}),
    "detector": (2400, 800, {"model.wf": 4}),
}


def field(config, dotted: str):
    for name in dotted.split("."):
        config = config[name]
    return config


@pytest.mark.parametrize("name", STAGES)
def test_cpu_variant_is_the_recipe(name):
    config = load_config(name, "cpu")
    total_steps, decay_steps, widths = CPU_RECIPE[name]
    assert (config.batch_size, config.data.crop_size, config.total_steps) == (4, 128, total_steps)
    assert config.optim.decay_steps == config.get("disc_optim", config.optim).decay_steps == (
        decay_steps)
    assert {dotted: field(config, dotted) for dotted in widths} == widths
    assert config.data.clean_dir == "../shared/data/clean"
    assert (config.log_every_steps, config.ckpt_every_steps) == (20, 200)
    assert config.get("degradation", {}).get("loop_over_examples", True)  # one device: fast form
    assert config.data.get("masks_dir", "../shared/data/masks") == "../shared/data/masks"
    # The loss deviations: the VAEs' pixel term (the paper's alpha, absent from the reference),
    # the detector's plain BCE and the mappings' weights moved to the restored photo, each stated
    # in the config's DEVIATIONS; every other loss weight is the reference's.
    mappings = {"latent_l1": 10.0, "gan": 0.1, "feature_matching": 1.0, "l1": 50.0, "ssim": 30.0,
                "vgg": 0.0}
    stated = {"vae1": {"l1": 10.0}, "vae2": {"l1": 10.0}, "detector": {"name": "bce"},
              "mapping": mappings, "mapping_scratch": mappings}
    assert config.loss.to_dict() == {**load_config(name).loss.to_dict(), **stated.get(name, {})}
    notes = config_module(name).DEVIATIONS
    assert {f"loss.{field}" for field in stated.get(name, {})} <= notes.keys()


def test_cpu_variant_sources():
    assert load_config("vae1", "cpu").data.old_dir == "../shared/data/old"
    assert load_config("vae2", "cpu").data.old_dir == ""
    for name in ("mapping", "mapping_scratch"):
        frozen = load_config(name, "cpu").frozen
        assert (frozen.vae1, frozen.vae2) == ("runs/vae1_cpu", "runs/vae2_cpu")


@pytest.mark.parametrize("name", ["vae1", "vae2"])
def test_demo_is_the_cpu_networks_on_embedded_photos(name):
    demo, cpu = load_config(name, "demo"), load_config(name, "cpu")
    assert (demo.data.clean_dir, demo.data.old_dir) == ("embedded", "")
    assert (demo.total_steps, demo.optim.decay_steps) == (100, 50)
    assert demo.model.to_dict() == cpu.model.to_dict()


@pytest.mark.parametrize("name", STAGES)
def test_smoke_variant_is_two_tiny_steps(name):
    config = load_config(name, "smoke")
    assert (config.batch_size, config.total_steps, config.data.crop_size) == (2, 2, 32)
    assert config.optim.decay_steps == config.get("disc_optim", config.optim).decay_steps == 1
    assert config.log_every_steps == config.ckpt_every_steps == config.image_every_steps == 1


@pytest.mark.parametrize("name", STAGES)
def test_sweeps_apply_and_validate(name):
    """Every entry of every study overrides existing fields of every variant, the result
    validates, and the arms of a study are distinct runs with distinct, path-safe labels."""
    module = config_module(name)
    sweeps = module.sweeps()
    assert sweeps
    for study, arms in sweeps.items():
        labels = [label for label, _ in arms]
        assert len(arms) >= 2 and len(set(labels)) == len(labels), study
        assert all(re.fullmatch(r"[a-z0-9_]+", label) for label in labels), labels
        for variant in ("reference", "cpu", "smoke"):
            configs = [with_overrides(module.get_config(variant), overrides)
                       for _, overrides in arms]
            resolved = {repr(sorted(c.to_dict().items())) for c in configs}
            assert len(resolved) == len(arms), f"{study}: arms that change nothing ({variant})"
            if variant != "cpu":  # the cpu variant needs ../shared/data and the stage-1 runs
                for config in configs:  # 16: the largest stride of any stage (the detector's)
                    validate(config, stride=16, num_devices=1, min_batch=2)


def test_overrides_copy_and_name_the_field():
    config = load_config("vae1", "smoke")
    changed = with_overrides(config, {"loss.kl": 0.0, "model.posterior": "gaussian"})
    assert (changed.loss.kl, changed.model.posterior) == (0.0, "gaussian")
    assert (config.loss.kl, config.model.posterior) == (1.0, "reference")
    for overrides, message in [({"loss.kll": 0.0}, r"config.loss.kll: no such field"),
                               ({"seed.x": 1}, r"config.seed.x: no such field"),
                               ({"nope.kl": 1}, r"config.nope.kl: no such field"),
                               ({"loss.kl": "none"}, r"config.loss.kl='none': ")]:
        with pytest.raises(ConfigError, match=message):
            with_overrides(config, overrides)


def test_frozen_paths_are_checked_by_name():
    config = load_config("mapping", "smoke")
    config.frozen.vae2 = "/no/such/run"
    with pytest.raises(ConfigError, match=r"config.frozen.vae2='/no/such/run': path does not"):
        validate(config, stride=4, num_devices=1)


def test_unknown_variant():
    with pytest.raises(ConfigError, match="variant 'nope' unknown"):
        load_config("vae1", "nope")


def smoke():
    return load_config("vae1", "smoke")


@pytest.mark.parametrize("edit, message", [
    (lambda c: setattr(c.data, "crop_size", 30), r"config.data.crop_size=30: .*multiple of 4"),
    (lambda c: setattr(c, "batch_size", 3), r"config.batch_size=3: .*divisible by .* \(2\)"),
    (lambda c: setattr(c, "batch_size", 1), r"config.batch_size=1: must be at least 2"),
    (lambda c: setattr(c, "total_steps", -1), r"config.total_steps=-1"),
    (lambda c: setattr(c.data, "grayscale_prob", 1.5), r"config.data.grayscale_prob=1.5: .*probab"),
    (lambda c: setattr(c.degradation.unstructured.blur, "prob", -0.1),
     r"config.degradation.unstructured.blur.prob=-0.1"),
    (lambda c: setattr(c.data, "clean_dir", "/no/such/folder"),
     r"config.data.clean_dir='/no/such/folder': folder does not exist"),
    (lambda c: setattr(c, "init_from", "/no/such/run"), r"config.init_from='/no/such/run'"),
])
def test_validation_names_the_field(edit, message):
    config = smoke()
    edit(config)
    with pytest.raises(ConfigError, match=message):
        validate(config, stride=4, num_devices=2, min_batch=2)


def test_folder_without_images(tmp_path):
    (tmp_path / "notes.txt").write_text("no photos here")
    config = smoke()
    config.data.old_dir = str(tmp_path)
    with pytest.raises(ConfigError, match=r"config.data.old_dir=.*holds no images"):
        validate(config, stride=4, num_devices=1)


def test_valid_config_passes_and_is_written(tmp_path):
    config = smoke()
    validate(config, stride=4, num_devices=2, min_batch=2)
    path = write_config_json(config, tmp_path)
    assert '"crop_size": 32' in path.read_text()


def test_typed_fields_reject_wrong_types():
    config = smoke()
    with pytest.raises(TypeError):
        config.batch_size = "eight"


def run_launcher(*args):
    one_device = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=1",
                      JAX_DISABLE_MOST_OPTIMIZATIONS="1")  # compiles faster; two steps at most
    return subprocess.run([sys.executable, "launch/train.py", *args], cwd=REPO, env=one_device,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("override, message", [
    ("--config.data.crop_sz=3", 'error: --config.data.crop_sz: no such config field '
                                '(Did you mean "crop_size"?)'),
    ("--config.batch_size=abc", "error: flag --config.batch_size=abc: invalid literal"),
    ("--config.data.crop_size=30", "error: config.data.crop_size=30: must be a positive "
                                   "multiple of 4"),
])
def test_launcher_reports_one_line(tmp_path, override, message):
    result = run_launcher("--config=configs/vae1.py:smoke", f"--workdir={tmp_path}", override)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and lines[0].startswith(message), result.stderr[-2000:]
    assert "Traceback" not in result.stderr


def test_a_training_run_prints_our_lines_not_the_libraries(tmp_path):
    result = run_launcher("--config=configs/vae2.py:smoke", f"--workdir={tmp_path / 'run'}",
                          "--config.total_steps=1", f"--config.data.tfds_dir={tmp_path / 'tfds'}")
    assert result.returncode == 0, result.stderr[-2000:]
    console = result.stdout + result.stderr
    assert "vae2: started from scratch" in console and "preparing the 16 photos" in console
    for noise in ("CheckpointManager", "orbax", "Downloading and preparing", "oneDNN",
                  "Using custom data configuration"):
        assert noise not in console, noise
