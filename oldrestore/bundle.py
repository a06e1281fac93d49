"""Restoration bundles: the trained networks of a restoration chain in one file.

A bundle is a msgpack file (flax.serialization: numpy arrays, strings and numbers; nothing is
unpickled when it is read) holding, for each stage (vae1, vae2, mapping, mapping_scratch,
detector, ...) and each of its checkpoint steps that the chain needs, the run's config and its
networks' variables, plus a free-form `meta` record (command, commit, data, budget).
"""

import json
from pathlib import Path

import ml_collections
import numpy as np
from flax import serialization

from oldrestore.outputs import write_bytes_atomically
from oldrestore.runs import RunError, Trained
from oldrestore.stages import stage_spec

FORMAT = "oldrestore-bundle"
VERSION = 1


def write_bundle(path, trained: list[Trained], meta: dict) -> None:
    """One file holding `trained` (at most one per stage and step: the networks restoring uses,
    without discriminators) and `meta`."""
    networks = {}
    for t in trained:
        keep = stage_spec(t.stage).restores_with
        networks.setdefault(t.stage, {})[str(t.step)] = {
            "config": json.dumps(t.config.to_dict(), sort_keys=True, default=str),
            "frozen_steps": json.dumps(t.frozen_steps),
            "variables": {name: t.variables[name] for name in keep},
        }
    record = {"format": FORMAT, "version": VERSION, "meta": json.dumps(meta, sort_keys=True),
              "networks": networks}
    write_bytes_atomically(Path(path), serialization.msgpack_serialize(record))


class Bundle:
    """A bundle file, read once; `load(stage, step)` as runs.load does for a workdir."""

    def __init__(self, path):
        self.path = Path(path)
        try:
            record = serialization.msgpack_restore(self.path.read_bytes())
        except OSError as error:
            raise RunError(f"{path}: cannot read ({error.strerror})") from None
        except Exception as error:  # msgpack raises several unrelated types on bad data
            raise RunError(f"{path}: not a restoration bundle ({error})") from None
        if not isinstance(record, dict) or record.get("format") != FORMAT:
            raise RunError(f"{path}: not a restoration bundle")
        if record["version"] > VERSION:
            raise RunError(f"{path}: bundle version {record['version']} is newer than this "
                           f"oldrestore reads ({VERSION}); update oldrestore")
        self.meta = json.loads(record["meta"])
        self._networks = record["networks"]

    def stages(self) -> list[str]:
        return sorted(self._networks)

    def load(self, stage: str, step: int | None = None) -> Trained:
        by_step = self._networks.get(stage)
        if not by_step:
            raise RunError(f"{self.path}: holds no {stage} network "
                           f"(it holds: {', '.join(self.stages())})")
        steps = sorted(int(s) for s in by_step)
        step = steps[-1] if step is None else step
        if str(step) not in by_step:
            raise RunError(f"{self.path}: no {stage} network at step {step} "
                           f"(it holds steps {', '.join(map(str, steps))})")
        entry = by_step[str(step)]
        variables = _as_numpy(entry["variables"])
        return Trained(config=ml_collections.ConfigDict(json.loads(entry["config"])), step=step,
                       variables=variables, frozen_steps=json.loads(entry["frozen_steps"]))


def _as_numpy(tree):
    if isinstance(tree, dict):
        return {k: _as_numpy(v) for k, v in tree.items()}
    return np.asarray(tree)
