"""Stage 2 (quality and scratch mapping) on frozen stage-1 VAEs, end to end on the embedded
photos: parameter counts, frozen-VAE checks, the training inputs, gradients against the losses
written out plainly, records, resume, evaluation and sharded-versus-single-device equality."""

import shutil

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from oldrestore import runs
from oldrestore.bundle import write_bundle
from oldrestore.configuration import ConfigError, write_config_json
from oldrestore.data.sharding import make_mesh, shard_batch
from oldrestore.evaluation import restoration
from oldrestore.evaluation.image_metrics import ssim
from oldrestore.losses import gan, perceptual
from oldrestore.models.vae import VAE
from oldrestore.stages import EvaluationOptions, mapping_networks
from oldrestore.train import mapping_stage
from oldrestore.train.frozen_vaes import NAMES, load_frozen_vaes
from tests.test_configuration import load_config
from tests.test_vae_training import (
    compiled_step,
    load_state,
    read_metrics,
    run,
    smoke_config,
    step_on_one_and_all_devices,
)

pytestmark = pytest.mark.usefixtures("fast_compile")


@pytest.fixture(scope="module")
def stage1_runs(tmp_path_factory, tfds_dir):
    """Smoke VAE1 and VAE2 workdirs holding their initial (step-0) checkpoints."""
    runs = {}
    for name in ("vae1", "vae2"):
        runs[name] = str(tmp_path_factory.mktemp(name))
        run(smoke_config(name, tfds_dir=tfds_dir, total_steps=0), runs[name])
    return runs


def mapping_config(name, stage1_runs, tfds_dir, **overrides):
    paths = {"frozen.vae1": stage1_runs["vae1"], "frozen.vae2": stage1_runs["vae2"]}
    return smoke_config(name, tfds_dir=tfds_dir, **{**paths, **overrides})


def config_only_workdir(workdir, name, variant="reference", **model):
    """A stage-1 workdir holding only its config.json: enough for shapes and checks."""
    config = load_config(name, variant)
    config.model.update(model)
    workdir.mkdir(parents=True)
    write_config_json(config, workdir)
    return str(workdir)


def count(tree) -> int:
    return sum(int(np.prod(leaf.shape)) for leaf in jax.tree.leaves(tree))


@pytest.mark.parametrize("name, mapping_count, nonlocal_count", [
    ("mapping", 36_135_232, None), ("mapping_scratch", 51_344_704, 15_209_472)])
def test_reference_parameter_counts(tmp_path, name, mapping_count, nonlocal_count):
    config = load_config(name)
    for vae in ("vae1", "vae2"):
        config.frozen[vae] = config_only_workdir(tmp_path / vae, vae)
    shapes = jax.eval_shape(mapping_stage.initial_state_fn(config), jax.random.key(0))
    assert count(shapes["mapping"]["params"]) == mapping_count
    assert count(shapes["disc"]["params"]) == 5_535_618  # the 6-channel conditional D
    assert ("spectral" in shapes["disc"]) == (name == "mapping_scratch")
    if nonlocal_count:
        assert count(shapes["mapping"]["params"]["nonlocal"]) == nonlocal_count


def test_frozen_vaes_must_name_fitting_stage1_runs(tmp_path, stage1_runs, tfds_dir):
    cases = [
        ({"frozen.vae1": ""}, r"config.frozen.vae1='': stage 2 needs .* vae1 run"),
        ({"frozen.vae1": stage1_runs["vae2"]}, r"frozen.vae1=.*: is a vae2 run, not a vae1"),
        ({"frozen.vae2": str(tmp_path)}, r"frozen.vae2=.*: not a training workdir"),
        ({"frozen.vae2": "/no/such/run"}, r"frozen.vae2='/no/such/run': path does not"),
        ({"frozen.vae2": config_only_workdir(tmp_path / "wide", "vae2", "smoke", width=16)},
         r"config.frozen: VAE1 and VAE2 latents differ .*\(4, 14\) vs \(4, 22\)"),
        ({"model.colour_stats": False},
         r"colour_stats=False: the frozen VAEs were trained with colour_stats=True"),
    ]
    for overrides, message in cases:
        config = mapping_config("mapping", stage1_runs, tfds_dir, **overrides)
        with pytest.raises(ConfigError, match=message):
            run(config, tmp_path / "run")


def test_frozen_vaes_may_come_from_a_bundle(tmp_path, stage1_runs, tfds_dir):
    """A bundle holding both VAEs (as the shipped weights do) gives the mapping the networks
    and steps their workdirs give; a bundle without the VAE, or a file that is no bundle, is
    named in one line."""
    write_bundle(tmp_path / "vaes.msgpack", [runs.load(stage1_runs[n]) for n in NAMES], {})
    write_bundle(tmp_path / "vae1.msgpack", [runs.load(stage1_runs["vae1"])], {})
    (tmp_path / "notes.txt").write_text("not weights")
    bundled = load_frozen_vaes(mapping_config(
        "mapping", stage1_runs, tfds_dir, **{f"frozen.{n}": str(tmp_path / "vaes.msgpack")
                                             for n in NAMES}))
    direct = load_frozen_vaes(mapping_config("mapping", stage1_runs, tfds_dir))
    assert bundled.steps == direct.steps == {"vae1": 0, "vae2": 0}
    assert bundled.modules == direct.modules
    chex.assert_trees_all_equal(bundled.params, jax.device_get(direct.params))

    cases = [("vae1.msgpack", r"frozen.vae2=.*vae1.msgpack': .*holds no vae2 network"),
             ("notes.txt", r"frozen.vae2=.*notes.txt': .*not a restoration bundle")]
    for name, message in cases:
        config = mapping_config("mapping", stage1_runs, tfds_dir,
                                **{"frozen.vae2": str(tmp_path / name)})
        with pytest.raises(ConfigError, match=message):
            run(config, tmp_path / "run")


def test_scratch_inputs_are_the_quality_pairs_with_white_holes(stage1_runs, tfds_dir):
    """Same key: the scratch mapping sees the quality mapping's pair, with holes painted white
    on exactly the second half of the batch; real masks join the structured-defect ones."""
    quality = mapping_config("mapping", stage1_runs, tfds_dir)
    scratch = mapping_config("mapping_scratch", stage1_runs, tfds_dir)
    images = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3), np.uint8)
    batch, key = {"image": jnp.asarray(images)}, jax.random.key(3)
    x_q, y_q, holes_q = mapping_stage.mapping_inputs(quality, batch, key, None)
    x_s, y_s, holes_s = mapping_stage.mapping_inputs(scratch, batch, key, None)
    assert not np.any(holes_q)
    np.testing.assert_array_equal(y_q, y_s)
    assert not np.any(holes_s[:2]) and all(np.any(h) for h in holes_s[2:])
    np.testing.assert_array_equal(x_s, jnp.where(holes_s > 0, 1.0, x_q))
    assert np.all(np.abs(x_q - y_q).max(axis=(1, 2, 3)) > 0)  # every input is degraded

    scratch.data.real_mask_prob = 1.0
    full = np.ones((1, 32, 32), np.float32)
    x_r, _, holes_r = mapping_stage.mapping_inputs(scratch, batch, key, full)
    assert np.all(holes_r[2:] == 1) and np.all(x_r[2:] == 1.0) and not np.any(holes_r[:2])


@pytest.mark.parametrize("vgg_weight", [10.0, 0.0])
def test_gradients_equal_the_losses_written_plainly(stage1_runs, tfds_dir, vgg_weight):
    """The quality mapping's Adam has b1 = 0, so its first moment after one step is the gradient
    itself: compare it with jax.grad of the reference's G and D losses written out directly, plus
    the optional pixel L1 and SSIM terms; a zero VGG weight (the cpu recipe) drops the term."""
    config = mapping_config("mapping", stage1_runs, tfds_dir)
    config.loss.l1, config.loss.ssim, config.loss.vgg = 3.0, 2.0, vgg_weight
    mesh = make_mesh(jax.devices()[:1])
    stage, state, step, constants = compiled_step(config, mesh, mapping_stage)
    batch = shard_batch(next(stage.batches), mesh)
    seed_key = jax.random.key(5)
    new_state, metrics, _ = step(state, batch, seed_key, constants)
    assert ("g_vgg" in metrics) == (vgg_weight > 0)

    nets = mapping_networks(config)
    frozen, vgg = load_frozen_vaes(config), constants["vgg"]
    x, y, _ = jax.jit(lambda batch: mapping_stage.mapping_inputs(
        config, batch, jax.random.fold_in(seed_key, 0), None))(batch)
    target = jax.jit(frozen.encode, static_argnums=1)(frozen.params, "vae2", y)
    disc_params = state["disc"]["params"]

    def discriminate(params, image):
        return nets["disc"].apply({"params": params}, jnp.concatenate([x, image], -1))

    def restored_from(params):
        mapped = nets["mapping"].apply({"params": params}, frozen.encode(frozen.params, "vae1", x))
        return mapped, frozen.modules["vae2"].apply({"params": frozen.params["vae2"]}, mapped,
                                                    method=VAE.decode)

    def g_loss(params, vgg):  # VGG16's weights an argument: as constants they compile slowly
        mapped, restored = restored_from(params)
        fake, real = discriminate(disc_params, restored), discriminate(disc_params, y)
        return (60.0 * jnp.mean(jnp.abs(mapped - target)) + gan.lsgan_g_loss(fake)
                + gan.feature_matching(real, fake, weight=10.0, n_layers=config.disc.num_layers)
                + perceptual.vgg_loss(restored, y, vgg, config.loss.vgg_layer_weights,
                                      vgg_weight, imagenet_normalize=False)
                + 3.0 * jnp.mean(jnp.abs(restored - y))
                + 2.0 * (1.0 - jnp.mean(ssim((restored + 1.0) / 2.0, (y + 1.0) / 2.0))))

    def d_loss(params):
        restored = jax.lax.stop_gradient(restored_from(state["mapping"]["params"])[1])
        return gan.lsgan_d_loss(discriminate(params, y), discriminate(params, restored))

    # One program each: differentiated op by op, the losses would compile a thousand kernels.
    g_value, g_grads = jax.jit(jax.value_and_grad(g_loss))(state["mapping"]["params"], vgg)
    d_value, d_grads = jax.jit(jax.value_and_grad(d_loss))(disc_params)
    np.testing.assert_allclose(metrics["g_total"], g_value, rtol=1e-5)
    np.testing.assert_allclose(metrics["d_loss"], d_value, rtol=1e-5)
    for name, grads in (("mapping", g_grads), ("disc", d_grads)):
        # Float32 sums in another order (another program) move entries by about 1e-4 of the
        # largest; biases followed by instance norm get float noise for a gradient. So: the
        # whole gradient within 1e-3 in norm, and every entry within 1e-3 of the largest.
        mu = jax.tree.leaves(new_state[name]["opt"][0].mu)
        grads = jax.tree.leaves(grads)
        scale = max(float(np.max(np.abs(g))) for g in grads)
        error = np.sqrt(sum(np.sum(np.square(a - b)) for a, b in zip(mu, grads, strict=True)))
        assert error <= 1e-3 * np.sqrt(sum(np.sum(np.square(b)) for b in grads)), name
        for a, b in zip(mu, grads, strict=True):
            assert np.max(np.abs(a - b)) <= 1e-3 * scale, name


@pytest.mark.parametrize("name", ["mapping", "mapping_scratch"])
def test_train_resume_and_evaluate(tmp_path, stage1_runs, tfds_dir, name):
    config = mapping_config(name, stage1_runs, tfds_dir, total_steps=2)
    straight = run(config, tmp_path / "straight")
    run(config, tmp_path / "resumed", stop_at_step=1)
    resumed = run(config, tmp_path / "resumed")
    assert straight.step == resumed.step == 2
    chex.assert_trees_all_equal(jax.device_get(straight.state), jax.device_get(resumed.state))
    assert read_metrics(tmp_path / "straight") == read_metrics(tmp_path / "resumed")

    metrics = read_metrics(tmp_path / "straight")[-1]
    for field in ("g_latent_l1", "g_gan", "g_feature_matching", "g_vgg", "d_loss",
                  "restored_psnr", "input_psnr"):
        assert np.isfinite(metrics[field]), field
    state = load_state(tmp_path / "straight")
    # The frozen VAEs are not checkpointed, only the steps of theirs the run was trained with.
    assert set(state) == {"step", "frozen_steps", "mapping", "disc"}
    assert list(state["frozen_steps"]) == [0, 0]

    report = restoration.evaluate(tmp_path / "straight",
                                  EvaluationOptions(split="train", size=32, max_images=3),
                                  batch_size=2)
    assert report["all"]["images"] == 3
    for scores in report["all"].values():
        if isinstance(scores, dict):
            assert np.isfinite(scores["psnr"]) and -1.0 <= scores["ssim"] <= 1.0
            assert scores["lpips"] >= 0.0
    # Batches of 2 with half without holes: photos 2 (of the first batch) and 3 (alone in the
    # second, padded batch: round(0.5 * 2) = 1 without holes, so the padding copy has them).
    assert ("with_holes" in report) == (name == "mapping_scratch")
    assert (tmp_path / "straight" / "eval" / "train.json").is_file()


def test_resume_keeps_the_frozen_vaes_it_started_with(tmp_path, stage1_runs, tfds_dir):
    """VAE2's run trains on while the mapping is stopped: the resumed mapping still uses the
    VAE2 step it started with, and ends bitwise where an uninterrupted run ends."""
    vae2 = tmp_path / "vae2"
    shutil.copytree(stage1_runs["vae2"], vae2)
    config = mapping_config("mapping", stage1_runs, tfds_dir, total_steps=2,
                            **{"frozen.vae2": str(vae2)})
    straight = run(config, tmp_path / "straight")
    run(config, tmp_path / "resumed", stop_at_step=1)
    run(smoke_config("vae2", tfds_dir=tfds_dir, total_steps=1), vae2)  # its latest: step 1
    resumed = run(config, tmp_path / "resumed")
    chex.assert_trees_all_equal(jax.device_get(straight.state), jax.device_get(resumed.state))

    shutil.rmtree(vae2 / "checkpoints" / "0")
    with pytest.raises(ConfigError, match=r"frozen.vae2=.*: .*no checkpoint at step 0 "
                                          r"\(kept: 1\)"):
        load_frozen_vaes(config, {"vae1": 0, "vae2": 0})


def relative_error(a_tree, b_tree) -> float:
    a, b = jax.tree.leaves(a_tree), jax.tree.leaves(b_tree)
    error = sum(np.sum(np.square(x - y)) for x, y in zip(a, b, strict=True))
    return float(np.sqrt(error / sum(np.sum(np.square(x)) for x in a)))


def test_sharded_scratch_step_equals_single_device(stage1_runs, tfds_dir):
    """One scratch-mapping step on 1 and on 8 devices: metrics to 1e-5, the spectral-norm
    vectors to 1e-4, D's first moment (half its gradient) to 1e-4 in norm.

    The mapping's gradient is compared to 2e-2 in norm: at this size (8 x 8 latents of a barely
    trained width-8 VAE) it is badly conditioned: on one device, moving the input photos by 1e-7
    moves single kernels' gradients by up to 8% of their largest entry (measured); between 1 and
    8 devices the whole gradient differs by 0.6e-2 in norm. A sharding error such as a
    per-device gradient would be off by far more."""
    config = mapping_config("mapping_scratch", stage1_runs, tfds_dir, batch_size=8)
    (single, single_metrics), (sharded, sharded_metrics) = step_on_one_and_all_devices(
        config, mapping_stage)
    chex.assert_trees_all_close(single_metrics, sharded_metrics, rtol=1e-5)
    chex.assert_trees_all_close(single["disc"]["spectral"], sharded["disc"]["spectral"],
                                rtol=1e-4, atol=1e-6)
    assert relative_error(single["disc"]["opt"][0].mu, sharded["disc"]["opt"][0].mu) < 1e-4
    assert relative_error(single["mapping"]["opt"][0].mu, sharded["mapping"]["opt"][0].mu) < 2e-2
