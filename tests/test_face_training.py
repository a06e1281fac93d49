"""The face stage on the shared loop, on the embedded photos: the reference configuration's
networks, optimizers and data, gradients against the losses written plainly, records, resume,
evaluation and sharded-versus-single-device equality."""

from pathlib import Path

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import skimage.data
from PIL import Image

from oldrestore.data.sharding import make_mesh, shard_batch
from oldrestore.evaluation import faces as face_evaluation
from oldrestore.losses import face as face_losses
from oldrestore.losses.perceptual import vgg_loss
from oldrestore.models.layers import count_params
from oldrestore.stages import EvaluationOptions, face_networks
from oldrestore.train import face_stage, pairs
from oldrestore.train.face_data import face_source, face_square
from tests.test_configuration import load_config
from tests.test_mapping_training import relative_error
from tests.test_vae_training import (
    compiled_step,
    load_state,
    read_metrics,
    run,
    smoke_config,
    step_on_one_and_all_devices,
)

pytestmark = pytest.mark.usefixtures("fast_compile")


def face_smoke_config(tfds_dir, **overrides):
    return smoke_config("face", tfds_dir=tfds_dir, **overrides)


def test_reference_configuration():
    """The reference's generator (92,059,587 parameters) with its batch-norm statistics and
    spectral vectors in the state; SPADE's 3-channel two-scale D with spectral norm."""
    config = load_config("face")
    assert (config.data.crop_size, config.batch_size, config.model.ngf) == (256, 4, 64)
    shapes = jax.eval_shape(face_stage.initial_state_fn(config), jax.random.key(0))
    assert count_params(shapes["generator"]["params"]) == 92_059_587
    assert set(shapes["generator"]) == {"params", "opt", "batch_stats", "spectral"}
    assert count_params(shapes["disc"]["params"]) == 5_529_474
    assert "spectral" in shapes["disc"]
    for variant in ("cpu", "smoke"):
        assert load_config("face", variant).data.crop_size % face_stage.stride(config) == 0


def test_ttur_learning_rates_and_betas():
    """Adam with b1 = 0 moves every parameter by exactly lr on its first step: the generator at
    lr / 2, the discriminator at 2 lr (TTUR), or both at lr without it."""
    config = load_config("face")
    assert (config.optim.lr, config.optim.b1, config.optim.b2) == (2e-4, 0.0, 0.9)

    def first_steps(config):
        steps = {}
        for name, optimizer in face_stage.optimizers_for(config).items():
            params = jnp.zeros(3)
            updates, _ = optimizer.update(jnp.ones(3), optimizer.init(params), params)
            steps[name] = float(-updates[0])
        return steps

    np.testing.assert_allclose(list(first_steps(config).values()), [1e-4, 4e-4], rtol=1e-4)
    config.optim.ttur = False
    np.testing.assert_allclose(list(first_steps(config).values()), [2e-4, 2e-4], rtol=1e-4)


def test_face_data_takes_centre_squares_and_prefixed_photos(tmp_path):
    tall = np.zeros((60, 40, 3), np.uint8)
    tall[10:50] = 200  # the centre 40 x 40 square
    np.testing.assert_array_equal(face_square(tall, 20), np.full((20, 20, 3), 200, np.uint8))

    faces, photos = tmp_path / "faces", tmp_path / "photos"
    rng = np.random.default_rng(0)
    for folder, names in ((faces, ["a.png", "b.png"]),
                          (photos, ["celebahq_1.png", "gpen-x.png", "street.png", "cat.png"])):
        folder.mkdir()
        for name in names:
            Image.fromarray(rng.integers(0, 256, (48, 64, 3), np.uint8)).save(folder / name)
    config = load_config("face", "smoke")
    config.data.update(clean_dir=str(faces), more_faces_dir=str(photos), test_percent=0,
                       tfds_dir=str(tmp_path / "tfds"))
    source = face_source(config, "train")
    assert len(source) == 2 + 2  # street.png and cat.png are left out
    assert source[3]["image"].shape == (32, 32, 3)


def test_inputs_are_degraded_faces_without_defects():
    config = load_config("face", "smoke")
    images = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3), np.uint8)
    x, y = jax.jit(lambda batch: pairs.degraded_pairs(config, batch, jax.random.key(3)))(
        {"image": jnp.asarray(images)})
    assert x.shape == y.shape == (4, 32, 32, 3)
    assert np.all(np.abs(x) <= 1.0) and np.all(np.abs(x - y).max(axis=(1, 2, 3)) > 0)
    assert not config.degradation.structured.enabled


def test_gradients_equal_the_losses_written_plainly(tfds_dir):
    """Adam has b1 = 0, so its first moment after one step is the gradient itself: compare it with
    jax.grad of SPADE's losses written out directly (G and D each on their own D pass), plus
    the optional pixel L1."""
    config = face_smoke_config(tfds_dir)
    config.loss.l1 = 3.0
    mesh = make_mesh(jax.devices()[:1])
    stage, state, step, constants = compiled_step(config, mesh, face_stage)
    batch = shard_batch(next(stage.batches), mesh)
    seed_key = jax.random.key(5)
    new_state, metrics, _ = step(state, batch, seed_key, constants)

    nets = face_networks(config)
    x, y = jax.jit(lambda batch: pairs.degraded_pairs(
        config, batch, jax.random.fold_in(seed_key, 0)))(batch)
    g_state, d_state, n = state["generator"], state["disc"], x.shape[0]

    def generate(params):
        variables = dict(face_stage.generator_variables(g_state), params=params)
        return nets["generator"].apply(variables, x, train=True,
                                       mutable=["batch_stats", "spectral"])[0]

    def discriminate(params, image):  # fake and real in one pass, as SPADE does
        outputs, _ = nets["disc"].apply({"params": params, "spectral": d_state["spectral"]},
                                        jnp.concatenate([image, y]), update_stats=True,
                                        mutable=["spectral"])
        return ([[o[:n] for o in s] for s in outputs], [[o[n:] for o in s] for s in outputs])

    def g_loss(params, vgg):  # VGG16's weights an argument: as constants they compile slowly
        fake = generate(params)
        fake_outputs, real_outputs = discriminate(d_state["params"], fake)
        return (face_losses.hinge_g_loss(fake_outputs)
                + face_losses.feature_matching(real_outputs, fake_outputs, 10.0)
                + vgg_loss(fake, y, vgg, config.loss.vgg_layer_weights, 10.0)
                + 3.0 * jnp.mean(jnp.abs(fake - y)))

    def d_loss(params):
        fake_outputs, real_outputs = discriminate(params, generate(g_state["params"]))
        return face_losses.hinge_d_loss(real_outputs, fake_outputs)

    (g_value, g_grads), (d_value, d_grads) = jax.jit(lambda g, d, vgg: (
        jax.value_and_grad(g_loss)(g, vgg), jax.value_and_grad(d_loss)(d)))(
        g_state["params"], d_state["params"], constants["vgg"])
    np.testing.assert_allclose(metrics["g_total"], g_value, rtol=1e-5)
    np.testing.assert_allclose(metrics["d_loss"], d_value, rtol=1e-5)
    for name, grads in (("generator", g_grads), ("disc", d_grads)):
        assert relative_error(grads, new_state[name]["opt"][0].mu) < 1e-4, name


@pytest.fixture(scope="module")
def straight_run(tmp_path_factory, tfds_dir):
    workdir = tmp_path_factory.mktemp("face_straight")
    config = face_smoke_config(tfds_dir, total_steps=4)
    return workdir, config, run(config, workdir)


def test_records_and_state(straight_run):
    workdir, _, result = straight_run
    assert result.step == 4 and result.stopped_by is None
    metrics = read_metrics(workdir)
    assert [m["step"] for m in metrics] == [1, 2, 3, 4]
    for field in ("g_gan", "g_feature_matching", "g_vgg", "g_total", "d_loss", "enhanced_psnr",
                  "input_psnr"):
        assert all(np.isfinite(m[field]) for m in metrics), field
    state = load_state(workdir)
    initial = jax.eval_shape(face_stage.initial_state_fn(load_config("face", "smoke")),
                             jax.random.key(0))
    assert jax.tree.structure(state) == jax.tree.structure(initial)
    # Training moved the running statistics away from their initial 0 and 1.
    means = [value for path, value in jax.tree_util.tree_leaves_with_path(
        state["generator"]["batch_stats"]) if path[-1].key == "mean"]
    assert len(means) == 18 and all(np.max(np.abs(m)) > 0 for m in means)
    assert (workdir / "images" / "step_0000004.png").is_file()


def test_resume_is_bitwise_equal(straight_run, tmp_path):
    workdir, config, result = straight_run
    assert run(config, tmp_path, stop_at_step=2).step == 2
    resumed = run(config, tmp_path)
    assert resumed.step == 4
    chex.assert_trees_all_equal(jax.device_get(result.state), jax.device_get(resumed.state))
    assert read_metrics(tmp_path) == read_metrics(workdir)


def test_evaluation_of_a_run(straight_run, tmp_path):
    workdir, config, _ = straight_run
    config = config.copy_and_resolve_references()
    old_faces = tmp_path / "old_faces"
    old_faces.mkdir()
    for i in range(3):
        Image.fromarray(np.full((40, 30, 3), 60 * i, np.uint8)).save(old_faces / f"{i}.png")
    config.data.old_faces_dir = str(old_faces)
    old_photos = tmp_path / "old_photos"  # whole photos: their faces are found and aligned
    old_photos.mkdir()
    Image.fromarray(skimage.data.astronaut()).save(old_photos / "astronaut.png")
    config.data.old_photos_dir = str(old_photos)
    (workdir / "config.json").write_text(config.to_json())
    report = face_evaluation.evaluate(workdir, EvaluationOptions(split="train", max_images=3),
                                      batch_size=2)
    assert report["images"] == 3 and report["old_faces"] == 3 and report["old_photo_faces"] == 1
    assert Path(report["old_photo_faces_grid"]).is_file()
    for name in ("degraded", "enhanced"):
        assert np.isfinite(report[name]["psnr"]) and -1.0 <= report[name]["ssim"] <= 1.0
        assert report[name]["lpips"] >= 0.0
    grid = np.asarray(Image.open(report["old_faces_grid"]))
    assert grid.shape == (2 * 32 + 2, 8 * 32 + 7 * 2, 3)  # one old row, one enhanced row
    assert (workdir / "eval" / "train.json").is_file() and (workdir / "eval" /
                                                            "train_faces.png").is_file()


def test_sharded_step_equals_single_device(tfds_dir):
    """One step on 1 and on 8 devices: the batch-norm statistics are the global batch's (the
    running statistics agree), metrics to 1e-5, gradients (Adam's first moments, b1 = 0) to
    3e-3 in norm; the spectral vectors agree. The backward pass through the SPADE generator's
    norms amplifies float32 summation order: 1e-4 on an Intel Xeon, 1.1e-3 on an AMD EPYC (AVX2
    kernels), spread evenly over every layer; the statistics above catch a sharding error."""
    config = face_smoke_config(tfds_dir, batch_size=8)
    (single, single_metrics), (sharded, sharded_metrics) = step_on_one_and_all_devices(
        config, face_stage)
    chex.assert_trees_all_close(single_metrics, sharded_metrics, rtol=1e-5)
    chex.assert_trees_all_close(single["generator"]["batch_stats"],
                                sharded["generator"]["batch_stats"], rtol=1e-5, atol=1e-6)
    for name in ("generator", "disc"):
        chex.assert_trees_all_close(single[name]["spectral"], sharded[name]["spectral"],
                                    rtol=1e-4, atol=1e-6)
        assert relative_error(single[name]["opt"][0].mu, sharded[name]["opt"][0].mu) < 3e-3, name
