"""Pieces shared by every stage's config, and the checks that run before any work starts.

Every config file in `configs/` builds on `base_config()`: the canonical fields `seed`,
`batch_size` (global), `total_steps`, `data.clean_dir`, `data.old_dir`, `data.crop_size` have the
same names in every stage. `with_variant()` turns a stage's reference config into its `cpu` or
`smoke` variant, whose common part is `shrink_for_cpu()` / `shrink_for_smoke()`.
`with_overrides()` applies {"dotted.field": value} (a sweep entry's, or a test's). `validate()`
turns a bad config into one `ConfigError` line naming the field, before any data is read or any
network is built.
"""

import copy
import importlib.util
import json
import os
import types
from collections.abc import Callable, Mapping
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

    c.init_from = ""  # a workdir of the same stage: start from its weights (not its optimizer)
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


def with_variant(config: ml_collections.ConfigDict, arg: str | None,
                 **variants: Callable[[ml_collections.ConfigDict], None]
                 ) -> ml_collections.ConfigDict:
    """`config` (the reference) as the variant `arg` names, "reference" by default; each keyword
    is a variant and the function that edits the reference into it."""
    config.variant = parse_variant(arg, ("reference", *variants))
    if config.variant in variants:
        variants[config.variant](config)
    return config


SHARED_DATA = "../shared/data"  # the development photos, next to the checkout
OPTIMIZERS = ("optim", "disc_optim")  # every stage's `optim`; stage 2's discriminator has its own


def _optimizers(config) -> list[ml_collections.ConfigDict]:
    return [config[name] for name in OPTIMIZERS if name in config]


def shrink_for_cpu(config, *, total_steps: int, decay_steps: int) -> None:
    """What every `cpu` variant shares: a real run on ../shared/data for a 2-core machine (one
    device, batch 4, 128 px crops, short); the stage then narrows its own networks."""
    config.batch_size = 4
    config.total_steps = total_steps
    for optim in _optimizers(config):
        optim.decay_steps = decay_steps
    config.data.crop_size = 128
    config.data.clean_dir = f"{SHARED_DATA}/clean"
    if "masks_dir" in config.data:  # the stages that stamp real defect shapes
        config.data.masks_dir = f"{SHARED_DATA}/masks"
    if "degradation" in config:
        # One device: per-example degradation runs only the chosen operations (about 8x faster
        # than the vectorised form, which is what sharded batches need).
        config.degradation.loop_over_examples = True
    config.log_every_steps = 20
    config.ckpt_every_steps = 200
    config.image_every_steps = 200


def shrink_for_smoke(config) -> None:
    """What every `smoke` variant shares: the fastest run through every code path (the tests use
    it): two steps of batch 2 on 32 px crops, every record written at every step; the stage then
    makes its networks tiny."""
    config.batch_size = 2
    config.total_steps = 2
    for optim in _optimizers(config):
        optim.decay_steps = min(optim.decay_steps, 1)  # decays within the run; 0 (constant) stays
    config.data.crop_size = 32
    config.log_every_steps = 1
    config.ckpt_every_steps = 1
    config.image_every_steps = 1


def load_config_module(path) -> types.ModuleType:
    """A file of configs/ loaded by its path, as ml_collections' config_flags loads it (configs/
    is no package): its get_config(variant) and sweeps(). Also how a config file builds on a
    sibling (mapping_scratch.py on mapping.py)."""
    path = Path(path)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def with_overrides(config, overrides: Mapping[str, object]) -> ml_collections.ConfigDict:
    """A copy of `config` with {"dotted.field": value} applied. A field that does not exist is a
    ConfigError naming it (a typo in a sweep must not add a field that nothing reads)."""
    config = copy.deepcopy(config)
    for field, value in overrides.items():
        node, name = _parent_of(config, field)
        try:
            node[name] = value
        except TypeError as err:
            raise ConfigError(f"config.{field}={value!r}: {err}") from None
    return config


def _parent_of(config, field: str) -> tuple[ml_collections.ConfigDict, str]:
    """(the ConfigDict holding `field`, its last name); `field` is dotted, e.g. "loss.kl"."""
    *parents, name = field.split(".")
    node = config
    for key in parents:
        node = node.get(key) if isinstance(node, ml_collections.ConfigDict) else None
    if not isinstance(node, ml_collections.ConfigDict) or name not in node:
        raise ConfigError(f"config.{field}: no such field")
    return node, name


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
    for field, path in _run_paths(config):
        _check(Path(os.path.expanduser(path)).exists(), field, path, "path does not exist")


def _run_paths(config) -> list[tuple[str, str]]:
    """(field, path) of every non-empty field naming another run: init_from, resume and the
    frozen networks (frozen.<name>)."""
    paths = [(name, config[name]) for name in ("init_from", "resume")]
    paths += [(f"frozen.{name}", path) for name, path in config.get("frozen", {}).items()]
    return [(field, path) for field, path in paths if path]


def make_run_paths_absolute(config) -> None:
    """So that a workdir's config.json names its sources wherever it is read from."""
    for field, path in _run_paths(config):
        node, name = _parent_of(config, field)
        node[name] = os.path.abspath(os.path.expanduser(path))


def write_config_json(config, workdir) -> Path:
    """The resolved config, as the run used it, for studies that read runs without TensorBoard."""
    path = Path(workdir) / "config.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(config.to_dict(), indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, path)
    return path
