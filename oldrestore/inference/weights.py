"""Where a restoration's networks come from: a folder of stage workdirs named after their stages
(vae1, vae2, mapping, mapping_scratch, detector, face), a restoration bundle (launch/export.py),
or the bundle shipped with the package as its default weights."""

import functools
import os
from pathlib import Path

from oldrestore import runs
from oldrestore.bundle import Bundle, write_bundle
from oldrestore.runs import RunError, Trained

DEFAULT_BUNDLE = Path(__file__).resolve().parents[1] / "weights" / "default.msgpack"
CHAIN_STAGES = ("vae1", "vae2", "mapping", "mapping_scratch", "detector", "face")


class Workdirs:
    """A folder holding one training workdir per stage, named after the stage."""

    meta: dict = {}  # what a bundle records of itself; workdirs record it in their own files

    def __init__(self, root):
        self.path = Path(root).expanduser()

    def stages(self) -> list[str]:
        return [s for s in CHAIN_STAGES if (self.path / s / "config.json").is_file()]

    def load(self, stage: str, step: int | None = None) -> Trained:
        workdir = self.path / stage
        if not workdir.is_dir():
            raise RunError(f"{self.path}: holds no {stage} workdir "
                           f"(it holds: {', '.join(self.stages()) or 'none'})")
        trained = runs.load(workdir, step)
        if trained.stage != stage:
            raise RunError(f"{workdir}: is a {trained.stage} run, not a {stage} run")
        return trained


def open_weights(path: str | None) -> Workdirs | Bundle:
    """--checkpoints: a folder of workdirs, a bundle file, or None for the shipped default."""
    if path is None:
        if not DEFAULT_BUNDLE.is_file():
            raise RunError("no default weights ship with this version yet: pass --checkpoints "
                           "DIR (workdirs vae1, vae2, mapping[, mapping_scratch, detector]) or a "
                           "bundle made by launch/export.py")
        return Bundle(DEFAULT_BUNDLE)
    location = Path(path).expanduser()
    if location.is_dir():
        return Workdirs(location)
    if location.is_file():
        return Bundle(location)
    raise RunError(f"{path}: no such folder or file")


def load_chain(weights, scratch: bool) -> tuple[Trained, Trained, Trained]:
    """(mapping, vae1, vae2): the quality or scratch mapping, and the VAE checkpoints it was
    trained on (the steps its state records): from `weights`, or, when they hold no such VAE,
    from where the mapping's run took it (its config.frozen: a workdir or a bundle)."""
    mapping = weights.load("mapping_scratch" if scratch else "mapping")
    vae1, vae2 = (_frozen_vae(weights, mapping, name) for name in ("vae1", "vae2"))
    return mapping, vae1, vae2


def _frozen_vae(weights, mapping: Trained, name: str) -> Trained:
    step = mapping.frozen_steps[name]
    if name in weights.stages():
        return weights.load(name, step)
    source = mapping.config.frozen[name]
    try:
        return load_network(source, name, step)
    except RunError as error:
        raise RunError(f"{weights.path}: holds no {name}, and where its {mapping.stage} run "
                       f"took it from fails: {error}") from None


def load_network(path, name: str, step: int | None = None) -> Trained:
    """`name`'s networks from what a `config.frozen` field names: a training workdir, or a
    bundle file holding them."""
    location = Path(os.path.expanduser(path)).absolute()
    if location.is_file():
        return _bundle(location, location.stat().st_mtime_ns).load(name, step)
    return runs.load(path, step)


@functools.lru_cache(maxsize=1)
def _bundle(path: Path, mtime_ns: int) -> Bundle:
    """Read once for the several loads of a run (the modification time keys a rewritten file)."""
    return Bundle(path)


def export_bundle(weights, output, meta: dict) -> list[str]:
    """Writes every chain network `weights` holds (each mapping with the VAE steps it was
    trained on, the detector, the face network) into one bundle; returns what went in, as
    'stage@step'."""
    trained = {}
    for scratch in (False, True):
        stage = "mapping_scratch" if scratch else "mapping"
        if stage in weights.stages():
            for t in load_chain(weights, scratch):
                trained[(t.stage, t.step)] = t
    for stage in ("detector", "face"):
        if stage in weights.stages():
            latest = weights.load(stage)
            trained[(stage, latest.step)] = latest
    if not any(stage.startswith("mapping") for stage, _ in trained):
        raise RunError(f"{weights.path}: holds no mapping workdir: nothing to restore with")
    write_bundle(output, list(trained.values()), meta)
    return [f"{stage}@{step}" for stage, step in sorted(trained)]
