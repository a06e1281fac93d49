"""The training loop every stage shares: mesh, sharded jit, checkpoints and resume, records,
progress, non-finite checks and clean stops on SIGINT/SIGTERM.

A stage supplies pure functions (`Stage`); the loop owns everything stateful. Randomness inside
a step comes from `fold_in(key(seed), step)`, so nothing random is checkpointed and a resumed run
draws the same numbers as an uninterrupted one.
"""

import dataclasses
import logging
import math
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jax
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P
from tqdm import tqdm

from oldrestore import runs
from oldrestore.configuration import ConfigError, write_config_json
from oldrestore.data.sharding import shard_batch
from oldrestore.stages import stage_spec
from oldrestore.train.checkpoints import Checkpoints, find_checkpoint_dir
from oldrestore.train.records import Records

State = Any
Batch = dict[str, np.ndarray]


class NonFiniteLossError(FloatingPointError):
    pass


@dataclasses.dataclass
class Stage:
    """What the loop needs from a stage. Every function is pure and traced once."""

    name: str
    init: Callable[[jax.Array], State]  # key -> state (state["step"] counts updates)
    # (state, batch, seed key, constants) -> (state, metrics, rows), rows: the step's own inputs
    # and outputs as [-1, 1] image batches, for the grids (nothing is recomputed to draw them)
    step: Callable[[State, Batch, jax.Array, Any], tuple[State, dict, dict]]
    param_counts: Callable[[State], dict[str, int]]
    batches: Iterator[Batch]  # process-local numpy batches, with get_state() / set_state()
    constants: Any = None  # frozen networks (e.g. VGG): inputs of every step, never trained
    # state -> the constants for it, where they depend on the (restored) state; default: constants
    constants_for: Callable[[State], Any] | None = None


@dataclasses.dataclass
class RunResult:
    state: State
    step: int
    stopped_by: str | None  # None when total_steps was reached


def with_trained_variables(config, state):
    """`state` with every network's variables (not its optimizer state) taken from the latest
    checkpoint of the workdir `config.init_from`, a run of the same stage: a weights-only start."""
    spec = stage_spec(config.stage)
    try:
        trained = runs.load(config.init_from)
    except runs.RunError as error:
        raise ConfigError(f"config.init_from={config.init_from!r}: {error}") from None
    if trained.stage != config.stage:
        raise ConfigError(f"config.init_from={config.init_from!r}: is a {trained.stage} run, "
                          f"not a {config.stage} run")
    # The state path of every variable: the stage's layout applied to a tree of path names.
    where = spec.variables(jax.tree_util.tree_map_with_path(
        lambda path, _: jax.tree_util.keystr(path), state))
    if jax.tree.structure(where) != jax.tree.structure(trained.variables):
        raise ConfigError(f"config.init_from={config.init_from!r}: its networks have other "
                          f"layers than this config's")
    loaded = dict(zip(jax.tree.leaves(where), jax.tree.leaves(trained.variables), strict=True))

    def take(path, value):
        new = loaded.get(jax.tree_util.keystr(path))
        if new is None:
            return value
        if new.shape != value.shape:
            raise ConfigError(f"config.init_from={config.init_from!r}: "
                              f"{jax.tree_util.keystr(path)} has shape {new.shape}, "
                              f"this config's has {value.shape}")
        return new.astype(value.dtype)

    return jax.tree_util.tree_map_with_path(take, state)


def _start_state(config, state, ckpts: Checkpoints):
    """(state, data_state, origin): the workdir's latest checkpoint, then config.resume, then
    config.init_from (weights only), then the fresh state."""
    if ckpts.latest_step() is not None:
        origin = f"resumed from {ckpts.directory} step {ckpts.latest_step()}"
        return (*ckpts.restore(state), origin)
    if config.resume:
        other = Checkpoints(find_checkpoint_dir(config.resume), keep=config.keep_checkpoints)
        try:
            if other.latest_step() is None:
                raise FileNotFoundError(f"config.resume={config.resume!r}: no checkpoint there")
            return (*other.restore(state), f"resumed from {config.resume}")
        finally:
            other.close()
    if config.init_from:
        return with_trained_variables(config, state), None, f"initialised from {config.init_from}"
    return state, None, "started from scratch"


class _StopRequest:
    """Turns SIGINT/SIGTERM into a flag the loop checks between steps, so it can checkpoint."""

    def __init__(self):
        self.signal_name = None
        self._previous = {}

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        self.signal_name = signal.Signals(signum).name

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def _check_finite(step: int, metrics: dict) -> None:
    for name, value in sorted(metrics.items()):
        if not math.isfinite(float(value)):
            raise NonFiniteLossError(
                f"step {step}: {name} is {float(value)}; stopping (the last checkpoint is intact)")


def train(config, workdir, stage: Stage, mesh, *, stop_at_step: int | None = None) -> RunResult:
    """Runs `stage` to config.total_steps in `workdir`, resuming from whatever is there.

    stop_at_step: stop (with a checkpoint) once this step is reached, as if the run were killed
    there; used by resume tests.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    if jax.process_index() == 0:  # one writer: processes share the workdir
        write_config_json(config, workdir)
    records = Records(workdir)
    replicated = NamedSharding(mesh, P())
    by_example = NamedSharding(mesh, P("data"))
    seed_key = jax.random.key(config.seed)
    init_key, step_key = jax.random.split(seed_key)

    state = jax.jit(stage.init, out_shardings=replicated)(init_key)
    records.params(stage.param_counts(state))
    ckpts = Checkpoints(workdir / "checkpoints", keep=config.keep_checkpoints)
    state, data_state, origin = _start_state(config, state, ckpts)
    state = jax.device_put(state, replicated)
    if data_state is not None:
        stage.batches.set_state(data_state)
    step = int(jax.device_get(state["step"]))
    logging.info("%s: %s", stage.name, origin)
    records.truncate_metrics_after(step)
    if step == 0 and ckpts.latest_step() is None:
        ckpts.save(0, state, stage.batches.get_state())  # the initialised state, as step 0

    constants = stage.constants if stage.constants_for is None else stage.constants_for(state)
    constants = jax.device_put(constants, replicated)
    in_shardings = (replicated, by_example, replicated, replicated)
    train_step = jax.jit(stage.step, in_shardings=in_shardings,
                         out_shardings=(replicated, replicated, by_example), donate_argnums=0)
    gather = jax.jit(lambda rows: rows, out_shardings=replicated)  # every process's examples
    total = config.total_steps
    last = min(total, stop_at_step) if stop_at_step is not None else total
    stopped_by = None
    pending = None  # (step, device metrics) of the previous step: checked one step late so
    #                 that the host never waits for the step it has just dispatched
    progress = tqdm(total=total, initial=step, desc=stage.name, unit="step", dynamic_ncols=True,
                    disable=not records.is_writer or step >= last)
    started, started_step = time.perf_counter(), step
    try:
        with _StopRequest() as stop:
            while step < last and stop.signal_name is None:
                batch = shard_batch(next(stage.batches), mesh)
                state, metrics, rows = train_step(state, batch, step_key, constants)
                step += 1
                if pending is not None:
                    _log_step(config, records, *pending, progress, last)
                pending = (step, metrics)
                if step % config.image_every_steps == 0 or step == last:
                    records.images(step, jax.device_get(gather(rows)))
                if step % config.ckpt_every_steps == 0 or step == last:
                    if pending is not None:
                        _log_step(config, records, *pending, progress, last)
                        pending = None
                    ckpts.save(step, state, stage.batches.get_state())
                progress.update(1)
            if pending is not None:
                _log_step(config, records, *pending, progress, last)
            stopped_by = stop.signal_name
            if stopped_by is not None and ckpts.latest_step() != step:
                ckpts.save(step, state, stage.batches.get_state())
    finally:
        progress.close()
        ckpts.close()
        records.close()
    elapsed = time.perf_counter() - started
    if step > started_step:
        logging.info("%s: %d steps in %.1f s (%.2f steps/s)", stage.name, step - started_step,
                     elapsed, (step - started_step) / elapsed)
    if stopped_by:
        logging.warning("%s: stopped by %s at step %d; checkpoint saved, rerun to resume",
                        stage.name, stopped_by, step)
    return RunResult(state=state, step=step, stopped_by=stopped_by)


def _log_step(config, records: Records, step: int, metrics, progress, last: int) -> None:
    values = jax.device_get(metrics)
    _check_finite(step, values)
    if step % config.log_every_steps == 0 or step == last:
        records.scalars(step, values)
        progress.set_postfix({k: f"{float(v):.3g}" for k, v in sorted(values.items())[:4]})
