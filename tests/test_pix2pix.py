"""The direct baseline (pix2pix stage): pix2pix's generator size, shapes, training with resume,
evaluation through the registry, and restoring photos of any size and whole folders."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

from oldrestore import runs
from oldrestore.inference.direct import restore_direct, restore_folder
from oldrestore.models.pix2pix_unet import Pix2PixUNet
from oldrestore.stages import EvaluationOptions, stage_spec
from oldrestore.train import pix2pix_stage
from tests.test_configuration import load_config
from tests.test_vae_training import read_metrics, run, smoke_config

pytestmark = pytest.mark.usefixtures("fast_compile")


def count(tree) -> int:
    return sum(int(np.prod(leaf.shape)) for leaf in jax.tree.leaves(tree))


def test_reference_generator_is_pix2pix_unet_256():
    """Widths 64, 128, 256, 512 x 5; 4x4 kernels; no conv bias but the last up-conv's."""
    down = 16 * (3 * 64 + 64 * 128 + 128 * 256 + 256 * 512 + 4 * 512 * 512)
    down_norms = 2 * (128 + 256 + 512 * 4)  # levels 1-6 (not the outermost, not the innermost)
    up = 16 * (512 * 512  # the innermost: no skip
               + 3 * 1024 * 512 + 1024 * 256 + 512 * 128 + 256 * 64  # [skip, upsampled] in
               + 128 * 3) + 3  # the outermost, with its bias
    up_norms = 2 * (512 * 4 + 256 + 128 + 64)  # levels 7-1, each its output's width
    assert down + down_norms + up + up_norms == 54_413_955  # pix2pix prints 54.414 M
    shapes = jax.eval_shape(pix2pix_stage.initial_state_fn(load_config("pix2pix")),
                            jax.random.key(0))
    assert count(shapes["generator"]["params"]) == 54_413_955
    assert count(shapes["disc"]["params"]) == 5_535_618  # the mapping's conditional D
    assert "spectral" in shapes["disc"]


def test_forward_shapes_dropout_and_size_check():
    net = Pix2PixUNet(ngf=4, depth=4, dropout_levels=1)
    x = jax.random.uniform(jax.random.key(0), (2, 32, 48, 3), minval=-1.0, maxval=1.0)
    variables = net.init(jax.random.key(1), x)
    y = net.apply(variables, x)
    assert y.shape == x.shape and float(jnp.max(jnp.abs(y))) <= 1.0
    np.testing.assert_array_equal(y, net.apply(variables, x))  # no dropout in inference
    trained = [net.apply(variables, x, train=True, rngs={"dropout": jax.random.key(k)})
               for k in (2, 3)]
    assert not np.array_equal(trained[0], trained[1])
    with pytest.raises(ValueError, match="multiples of 16"):
        net.apply(variables, x[:, :24])


@pytest.fixture(scope="module")
def straight(tmp_path_factory, tfds_dir):
    workdir = tmp_path_factory.mktemp("pix2pix")
    config = smoke_config("pix2pix", tfds_dir=tfds_dir)
    return workdir, config, run(config, workdir)


def test_trains_and_resumes_bitwise(straight, tmp_path):
    workdir, config, result = straight
    assert result.step == 2
    metrics = read_metrics(workdir)
    assert [m["step"] for m in metrics] == [1, 2]
    for name in ("g_l1", "g_gan", "g_feature_matching", "g_vgg", "g_total", "d_loss",
                 "restored_psnr", "input_psnr"):
        assert all(np.isfinite(m[name]) for m in metrics), name
    run(config, tmp_path, stop_at_step=1)
    resumed = run(config, tmp_path)
    assert resumed.step == 2
    chex.assert_trees_all_equal(jax.device_get(result.state), jax.device_get(resumed.state))
    assert read_metrics(tmp_path) == metrics


def test_evaluation_through_the_registry(straight):
    workdir, _, _ = straight
    report = stage_spec("pix2pix").evaluate(
        workdir, EvaluationOptions(split="train", size=32, max_images=3))
    assert report["all"]["images"] == 3
    for name in ("input", "restored"):
        scores = report["all"][name]
        assert np.isfinite(scores["psnr"]) and -1.0 <= scores["ssim"] <= 1.0
        assert scores["lpips"] >= 0.0
    assert (workdir / "eval" / "train.json").is_file()
    assert (workdir / "eval" / "train_restored.png").is_file()
    with pytest.raises(ValueError, match="size=24: must be a multiple of 16"):
        stage_spec("pix2pix").evaluate(workdir, EvaluationOptions(split="train", size=24))


def test_restores_any_size(straight):
    workdir, _, _ = straight
    trained = runs.load(workdir)
    network = stage_spec("pix2pix").networks(trained.config)["generator"]
    variables = trained.variables["generator"]
    rng = np.random.default_rng(0)
    for shape in ((37, 50, 3), (5, 7, 3)):  # odd sizes; the second padded beyond itself
        restored = restore_direct(variables, network, rng.integers(0, 256, shape, np.uint8))
        assert restored.shape == shape and restored.dtype == np.uint8
    # At a multiple of the stride nothing is padded: the network's own output, rounded.
    image = rng.integers(0, 256, (32, 16, 3), np.uint8)
    direct = network.apply(variables, jnp.asarray(image[None], jnp.float32) / 127.5 - 1.0)[0]
    expected = np.clip(np.round((np.asarray(direct) + 1.0) * 127.5), 0, 255)
    np.testing.assert_array_equal(restore_direct(variables, network, image), expected)


def test_the_flip_ensemble_is_the_mean_of_the_photo_and_its_mirror_image(straight):
    workdir, _, _ = straight
    trained = runs.load(workdir)
    network = stage_spec("pix2pix").networks(trained.config)["generator"]
    variables = trained.variables["generator"]
    image = np.random.default_rng(1).integers(0, 256, (32, 16, 3), np.uint8)
    x = jnp.asarray(image, jnp.float32) / 127.5 - 1.0
    plain, mirrored = (np.asarray(network.apply(variables, x[None])[0]),
                       np.asarray(network.apply(variables, x[None, :, ::-1])[0]))
    expected = np.clip(np.round(((plain + mirrored[:, ::-1]) / 2.0 + 1.0) * 127.5), 0, 255)
    ensemble = restore_direct(variables, network, image, flip_ensemble=True)
    np.testing.assert_array_equal(ensemble, expected)
    assert not np.array_equal(ensemble, restore_direct(variables, network, image))
    # The study compares the networks with the same test-time ensemble.
    for variant in ("reference", "cpu"):
        assert (load_config("pix2pix", variant).model.inference_flip_ensemble
                == load_config("mapping", variant).model.inference_flip_ensemble)


def test_restores_a_folder(straight, tmp_path):
    workdir, _, _ = straight
    photos = tmp_path / "in"
    photos.mkdir()
    Image.fromarray(np.full((21, 30, 3), 90, np.uint8)).save(photos / "colour.jpg")
    Image.fromarray(np.full((40, 17), 200, np.uint8)).save(photos / "grey.png")
    (photos / "notes.txt").write_text("not a photo")
    written = restore_folder(workdir, photos, tmp_path / "out")
    assert sorted(p.name for p in written) == ["colour.png", "grey.png"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["colour.png", "grey.png"]
    for name, shape in (("colour.png", (21, 30, 3)), ("grey.png", (40, 17, 3))):
        assert np.asarray(Image.open(tmp_path / "out" / name)).shape == shape
