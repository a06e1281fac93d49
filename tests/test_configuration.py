"""Config variants and validation: a bad config stops with one line naming the field."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from oldrestore.configuration import ConfigError, validate, write_config_json

REPO = Path(__file__).resolve().parents[1]


def load_config(name: str, variant: str | None = None):
    spec = importlib.util.spec_from_file_location(name, REPO / "configs" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.get_config(variant)


@pytest.mark.parametrize("name", ["vae1", "vae2", "detector", "mapping", "mapping_scratch"])
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


def test_init_from_paths_are_checked_by_name():
    config = load_config("mapping", "smoke")
    config.init_from.vae2 = "/no/such/run"
    with pytest.raises(ConfigError, match=r"config.init_from.vae2='/no/such/run': path does not"):
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
    one_device = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=1")
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
