"""Stage-1 training end to end on the embedded photos: records, determinism, resume, signals,
non-finite stops, no recompilation, sharded-versus-single-device equality."""

import json
import os
import shutil
import signal
from pathlib import Path

import chex
import jax
import numpy as np
import pytest

from oldrestore import runs
from oldrestore.configuration import ConfigError, with_overrides
from oldrestore.data.sharding import make_mesh, shard_batch
from oldrestore.evaluation.reconstruction import evaluate
from oldrestore.stages import EvaluationOptions, stage_spec
from oldrestore.train import vae_stage
from oldrestore.train.checkpoints import Checkpoints
from oldrestore.train.loop import NonFiniteLossError
from oldrestore.train.run import run as run_on_devices
from tests.test_configuration import load_config

pytestmark = pytest.mark.usefixtures("fast_compile")


def smoke_config(name="vae2", tfds_dir=None, **overrides):
    return with_overrides(load_config(name, "smoke"),
                          {"data.tfds_dir": str(tfds_dir), **overrides})


def run(config, workdir, **kwargs):
    """One device: the sharded step has its own test."""
    return run_on_devices(config, workdir, devices=jax.devices()[:1], **kwargs)


def read_metrics(workdir):
    return [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]


def load_state(workdir):
    """The whole state (optimizer included) of a workdir's latest checkpoint, for tests that
    compare runs; restoration reads params only (oldrestore.runs)."""
    config = runs.load_config(workdir)
    init = stage_spec(config.stage).training_module().initial_state_fn(config)
    like = jax.tree.map(lambda s: jax.numpy.zeros(s.shape, s.dtype),
                        jax.eval_shape(init, jax.random.key(0)))
    checkpoints = Checkpoints(Path(workdir) / "checkpoints", keep=config.keep_checkpoints)
    try:
        return checkpoints.restore(like)[0]
    finally:
        checkpoints.close()


@pytest.fixture(scope="module")
def straight_run(tmp_path_factory, tfds_dir):
    """VAE2, 4 steps uninterrupted."""
    workdir = tmp_path_factory.mktemp("straight")
    config = smoke_config(tfds_dir=tfds_dir, total_steps=4)
    result = run(config, workdir)
    return workdir, config, result


def test_workdir_records(straight_run):
    workdir, config, result = straight_run
    assert result.step == 4 and result.stopped_by is None
    assert json.loads((workdir / "config.json").read_text())["total_steps"] == 4
    counts = json.loads((workdir / "params.json").read_text())
    assert counts["vae"] == counts["vae.encoder"] + counts["vae.decoder"] > 0
    assert set(counts) == {"vae", "vae.encoder", "vae.decoder", "disc"}
    metrics = read_metrics(workdir)
    assert [m["step"] for m in metrics] == [1, 2, 3, 4]
    for name in ("g_gan", "g_feature_matching", "g_vgg", "g_kl", "g_total", "d_loss"):
        assert all(np.isfinite(m[name]) for m in metrics), name
    assert sorted(p.name for p in (workdir / "images").iterdir())[-1] == "step_0000004.png"
    assert list((workdir / "tensorboard").glob("events.out.tfevents.*"))
    assert sorted(int(p.name) for p in (workdir / "checkpoints").iterdir()
                  if p.name.isdigit())[-3:] == [2, 3, 4]


def test_same_seed_same_metrics(straight_run, tmp_path, tfds_dir):
    workdir, config, _ = straight_run
    run(config, tmp_path)
    assert read_metrics(tmp_path) == read_metrics(workdir)


def test_resume_is_bitwise_equal(straight_run, tmp_path, tfds_dir):
    workdir, config, _ = straight_run
    first = run(config, tmp_path, stop_at_step=2)
    assert first.step == 2
    second = run(config, tmp_path)
    assert second.step == 4
    assert read_metrics(tmp_path) == read_metrics(workdir)
    chex.assert_trees_all_equal(load_state(tmp_path), load_state(workdir))


def test_init_from_starts_from_another_runs_weights_only(straight_run, tmp_path, tfds_dir):
    source, _, _ = straight_run
    config = smoke_config(tfds_dir=tfds_dir, total_steps=0, init_from=str(source))
    run(config, tmp_path / "child")
    child, parent = load_state(tmp_path / "child"), load_state(source)
    assert int(child["step"]) == 0 and int(parent["step"]) == 4
    for name in ("vae", "disc"):
        chex.assert_trees_all_equal(child[name]["params"], parent[name]["params"])
        assert all(np.all(mu == 0) for mu in jax.tree.leaves(child[name]["opt"][0].mu))
    with pytest.raises(ConfigError, match=r"config.init_from=.*: is a vae2 run, not a vae1 run"):
        run(smoke_config("vae1", tfds_dir=tfds_dir, total_steps=0, init_from=str(source)),
            tmp_path / "other")


def test_sigterm_checkpoints_then_resumes(tmp_path, tfds_dir, monkeypatch):
    config = smoke_config(tfds_dir=tfds_dir, total_steps=3, ckpt_every_steps=100)
    stage_builder = vae_stage.make_stage

    def make_stage_that_is_killed(config, mesh):
        stage = stage_builder(config, mesh)
        batches, taken = stage.batches, []

        class Killed:
            def __next__(self):
                taken.append(1)
                if len(taken) == 2:
                    os.kill(os.getpid(), signal.SIGTERM)
                return next(batches)

            def get_state(self):
                return batches.get_state()

            def set_state(self, state):
                batches.set_state(state)

        stage.batches = Killed()
        return stage

    monkeypatch.setattr(vae_stage, "make_stage", make_stage_that_is_killed)
    result = run(config, tmp_path)
    monkeypatch.undo()
    assert result.stopped_by == "SIGTERM" and result.step == 2
    assert Checkpoints(tmp_path / "checkpoints", keep=3).latest_step() == 2
    assert run(config, tmp_path).step == 3


def test_total_steps_zero_writes_initial_checkpoint(tmp_path, tfds_dir):
    run(smoke_config(tfds_dir=tfds_dir, total_steps=0), tmp_path)
    assert Checkpoints(tmp_path / "checkpoints", keep=3).latest_step() == 0


def test_non_finite_loss_stops_naming_step_and_loss(tmp_path, tfds_dir):
    config = smoke_config(tfds_dir=tfds_dir, **{"loss.kl": float("nan")})
    with pytest.raises(NonFiniteLossError, match=r"step 1: g_kl is nan"):
        run(config, tmp_path)


def test_vae1_mixes_old_and_synthetic(tmp_path, tfds_dir):
    mesh = make_mesh(jax.devices()[:1])
    for batch_size in (2, 3):
        config = smoke_config("vae1", tfds_dir=tfds_dir, total_steps=1, batch_size=batch_size)
        batch = next(vae_stage.make_stage(config, mesh).batches)
        assert list(batch["domain"]) == [1] * (batch_size // 2) + [0] * (batch_size -
                                                                          batch_size // 2)
    result = run(config, tmp_path)  # an odd batch through the step and the latent D
    metrics = read_metrics(tmp_path)[-1]
    assert result.step == 1 and np.isfinite(metrics["latent_d_loss"])
    assert np.isfinite(metrics["g_latent_gan"])
    report = evaluate(tmp_path, EvaluationOptions(split="train", size=32, max_images=2),
                      batch_size=2)
    assert set(report) == {"split", "size", "synthetic"}  # no old_dir: no real old photos


def compiled_step(config, mesh, stage_module=vae_stage):
    stage = stage_module.make_stage(config, mesh)
    # Initialised as a one-device run initialises (the compilation cache's program for this
    # config, whatever the mesh), then replicated over the mesh.
    one_device = jax.sharding.NamedSharding(make_mesh(jax.devices()[:1]), jax.P())
    replicated = jax.sharding.NamedSharding(mesh, jax.P())
    state = jax.device_put(jax.jit(stage.init, out_shardings=one_device)(jax.random.key(1)),
                           replicated)
    step = jax.jit(stage.step)
    constants = jax.device_put(stage.constants, replicated)
    return stage, state, step, constants


def step_on_one_and_all_devices(config, stage_module=vae_stage):
    """[(state, metrics) after one step on 1 device, the same on all 8], on host."""
    assert len(jax.devices()) == 8
    results = []
    for devices in (jax.devices()[:1], jax.devices()):
        mesh = make_mesh(devices)
        stage, state, step, constants = compiled_step(config, mesh, stage_module)
        state, metrics, _ = step(state, shard_batch(next(stage.batches), mesh),
                                 jax.random.key(0), constants)
        results.append((jax.device_get(state), jax.device_get(metrics)))
    return results


def test_step_compiles_once(tfds_dir):
    config = smoke_config("vae1", tfds_dir=tfds_dir)
    mesh = make_mesh(jax.devices()[:1])
    stage, state, step, constants = compiled_step(config, mesh)
    for _ in range(3):
        state, *_ = step(state, shard_batch(next(stage.batches), mesh), jax.random.key(0),
                         constants)
    assert step._cache_size() == 1


def test_sharded_step_equals_single_device(tfds_dir):
    """One VAE1 step on 1 and on 8 devices. Float sums in another order differ in the last bits,
    and Adam's first step is lr * sign(gradient), so parameters whose gradient is ~0 (biases
    followed by instance norm) may move either way: those are compared within 2 lr, the
    gradients themselves (Adam's first moment) within 2e-3 of each kernel's largest entry."""
    config = smoke_config("vae1", tfds_dir=tfds_dir, batch_size=8)
    (single, single_metrics), (sharded, sharded_metrics) = step_on_one_and_all_devices(config)
    chex.assert_trees_all_close(single_metrics, sharded_metrics, rtol=1e-5)
    for name in ("vae", "disc", "latent_disc"):
        chex.assert_trees_all_close(single[name]["params"], sharded[name]["params"],
                                    atol=2 * config.optim.lr)
        first_moments = (single[name]["opt"][0].mu, sharded[name]["opt"][0].mu)
        for (path, a), b in zip(jax.tree_util.tree_leaves_with_path(first_moments[0]),
                                jax.tree.leaves(first_moments[1]), strict=True):
            if "kernel" in jax.tree_util.keystr(path):
                assert np.max(np.abs(a - b)) <= 2e-3 * np.max(np.abs(a)), path


def test_evaluation_of_a_run(straight_run):
    workdir, _, _ = straight_run
    report = evaluate(workdir, EvaluationOptions(split="train", size=32, max_images=3),
                      batch_size=2)
    assert report["clean"]["images"] == 3
    assert 0 < report["clean"]["psnr"] < 60 and -1 <= report["clean"]["ssim"] <= 1
    assert (workdir / "eval" / "train.json").exists()
    assert (workdir / "eval" / "train_clean.png").exists()


def test_a_save_killed_half_way_leaves_the_last_checkpoint_usable(straight_run, tmp_path):
    """Orbax writes into a temporary folder and renames it when complete: a save killed half-way
    leaves such a folder behind, which restoring ignores."""
    workdir, config, _ = straight_run
    shutil.copytree(workdir / "checkpoints", tmp_path / "checkpoints")
    shutil.copy(workdir / "config.json", tmp_path / "config.json")
    partial = tmp_path / "checkpoints" / "5.orbax-checkpoint-tmp-1234" / "state"
    partial.mkdir(parents=True)
    (partial / "half_written").write_bytes(b"\0" * 100)
    assert Checkpoints(tmp_path / "checkpoints", keep=3).latest_step() == 4
    chex.assert_trees_all_equal(load_state(tmp_path), load_state(workdir))
