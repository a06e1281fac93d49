"""Pieces shared by every stage's config, and the checks that run before any work starts.

Every config file in `configs/` builds on `base_config()`: the canonical fields `seed`,
`batch_size` (global), `total_steps`, `data.clean_dir`, `data.old_dir`, `data.crop_size` have the
same names in every stage. `validate()` turns a bad config into one `ConfigError` line naming the
field, before any data is read or any network is built.
"""

import json
import os
from pathlib import Path

import ml_collections

from oldrestore.data.sources import EMBEDDED, photo_paths


class ConfigError(ValueError):
    """A config that cannot run; the message names the field."""


def base_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.seed = 0
    c.batch_size = 8  # global, over all devices of all processes
    c.total_steps = 1000

    c.data = ml_collections.ConfigDict()
    c.data.clean_dir = EMBEDDED  # a folder of clean photos (domain Y), or "embedded"
    c.data.old_dir = ""  # a folder of real old photos (domain R); "" = none
    c.data.crop_size = 256
    c.data.grayscale_prob = 0.1  # reference: every sample turned gray with p = 0.1
    c.data.flip = True
    c.data.test_percent = 5  # held-out share, split by a stable hash of the file name
    c.data.tfds_dir = "~/.cache/oldrestore/tfds"  # where prepared datasets are kept

    c.log_every_steps = 50
    c.ckpt_every_steps = 500
    c.image_every_steps = 500
    c.keep_checkpoints = 3

    c.init_from = ""  # weights-only start (e.g. frozen VAEs of stage 2)
    c.resume = ""  # a workdir or checkpoint to resume from when the workdir is empty

    # Multi-host: jax.distributed.initialize() with these (empty = single process, or the
    # cluster's auto-detection when `distributed.enabled`).
    c.distributed = ml_collections.ConfigDict()
    c.distributed.enabled = False
    c.distributed.coordinator_address = ""
    c.distributed.num_processes = 0
    c.distributed.process_id = -1
    return c


def parse_variant(arg: str | None, variants: tuple[str, ...]) -> str:
    variant = arg or variants[0]
    if variant not in variants:
        raise ConfigError(
            f"config variant {variant!r} unknown; choose one of {', '.join(variants)}")
    return variant


def _check(condition: bool, field: str, value, problem: str) -> None:
    if not condition:
        raise ConfigError(f"config.{field}={value!r}: {problem}")


def _check_photo_folder(field: str, folder: str) -> None:
    if folder == EMBEDDED:
        return
    path = Path(os.path.expanduser(folder))
    _check(path.is_dir(), field, folder, "folder does not exist")
    try:
        photo_paths(str(path))
    except FileNotFoundError:
        _check(False, field, folder, "folder holds no images")


def _check_probabilities(config, prefix: str = "") -> None:
    """Every field named `*prob` or `*_fraction`, at any depth, is a probability."""
    for name, value in config.items():
        field = f"{prefix}{name}"
        if hasattr(value, "items"):
            _check_probabilities(value, field + ".")
        elif name.endswith(("prob", "_fraction")):
            _check(0.0 <= value <= 1.0, field, value, "must be a probability in [0, 1]")


def validate(config, *, stride: int, num_devices: int, min_batch: int = 1) -> None:
    """Raises ConfigError naming the first field that cannot work.

    stride: the factor the crop size must be a multiple of (the network's total downsampling).
    """
    _check(config.seed >= 0, "seed", config.seed, "must be >= 0")
    _check(config.total_steps >= 0, "total_steps", config.total_steps, "must be >= 0")
    _check(config.batch_size >= min_batch, "batch_size", config.batch_size,
           f"must be at least {min_batch}")
    _check(config.batch_size % num_devices == 0, "batch_size", config.batch_size,
           f"must be divisible by the number of devices ({num_devices})")
    crop = config.data.crop_size
    _check(crop > 0 and crop % stride == 0, "data.crop_size", crop,
           f"must be a positive multiple of {stride} (the network stride)")
    _check_probabilities(config)
    _check(0 <= config.data.test_percent < 100, "data.test_percent", config.data.test_percent,
           "must be in [0, 100)")
    for name in ("log_every_steps", "ckpt_every_steps", "image_every_steps", "keep_checkpoints"):
        _check(config[name] > 0, name, config[name], "must be > 0")
    for name in ("clean_dir", "old_dir", "masks_dir"):  # "" = not used
        if config.data.get(name):
            _check_photo_folder(f"data.{name}", config.data[name])
    for name in ("init_from", "resume"):
        value = config[name]  # a path, or (stage 2's init_from) named paths
        for field, path in (value.items() if hasattr(value, "items") else [("", value)]):
            if path:
                _check(Path(os.path.expanduser(path)).exists(),
                       f"{name}.{field}" if field else name, path, "path does not exist")


def write_config_json(config, workdir) -> Path:
    """The resolved config, as the run used it, for studies that read runs without TensorBoard."""
    path = Path(workdir) / "config.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(config.to_dict(), indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, path)
    return path
