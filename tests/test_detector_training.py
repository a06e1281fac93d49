"""The scratch detector trains on the shared loop, updates its batch-norm statistics, stamps real
masks exactly, and is evaluated on held-out synthetic photos with overlays of real ones."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

from oldrestore.data.real_masks import load_masks
from oldrestore.evaluation.detection import evaluate
from oldrestore.stages import EvaluationOptions
from oldrestore.train.detector_stage import stamp_real_masks
from oldrestore.train.run import run
from tests.test_configuration import load_config
from tests.test_vae_training import load_state

pytestmark = pytest.mark.usefixtures("fast_compile")


@pytest.fixture(scope="module")
def masks_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("masks")
    rng = np.random.default_rng(0)
    for i in range(3):
        mask = np.zeros((48, 40), np.uint8)
        mask[rng.integers(0, 40), :] = 255  # a horizontal crack
        Image.fromarray(mask).save(folder / f"crack{i}.png")
    (folder / "readme.txt").write_text("not a mask")
    return folder


@pytest.fixture(scope="module")
def trained(tmp_path_factory, masks_folder):
    workdir = tmp_path_factory.mktemp("detector")
    config = load_config("detector", "smoke")
    config.data.tfds_dir = str(tmp_path_factory.mktemp("tfds"))
    config.data.masks_dir = str(masks_folder)
    config.data.real_mask_prob = 0.5
    result = run(config, workdir, devices=jax.devices()[:1])
    return workdir, result


def test_training_records_and_updates_batch_norm(trained):
    workdir, result = trained
    assert result.step == 2
    metrics = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in metrics] == [1, 2]
    assert all(np.isfinite(m["loss"]) and 0 <= m["defect_share"] <= 1 for m in metrics)
    state = load_state(workdir)
    running_means = [leaf for path, leaf in jax.tree_util.tree_leaves_with_path(
        state["batch_stats"]) if "mean" in jax.tree_util.keystr(path)]
    assert running_means and all(float(jnp.max(jnp.abs(m))) > 0 for m in running_means)


def test_evaluation_scores_and_overlays(trained, tmp_path):
    workdir, _ = trained
    photo = tmp_path / "scratched.png"
    Image.fromarray(np.full((40, 72, 3), 128, np.uint8)).save(photo)
    (tmp_path / "broken.jpg").write_bytes(b"not a jpeg")
    report = evaluate(workdir, EvaluationOptions(
        split="train", max_images=3, real_photos=(photo, tmp_path / "broken.jpg")))
    scores = report["synthetic"]
    assert scores["images"] == 3
    for name in ("precision", "recall", "f1", "iou"):
        assert 0.0 <= scores[name] <= 1.0
    assert len(report["overlays"]) == 1
    overlay = np.asarray(Image.open(report["overlays"][0]))
    assert overlay.shape == (40, 144, 3)  # photo | overlay
    assert (workdir / "eval" / "train.json").exists()


def test_stamped_real_masks_mark_exactly_the_changed_pixels(masks_folder):
    masks = jnp.asarray(load_masks(str(masks_folder), 32))
    assert masks.shape == (3, 32, 32) and set(np.unique(masks)) <= {0.0, 1.0}
    images = jax.random.uniform(jax.random.key(0), (4, 32, 32, 3))
    images = images.at[0].set(0.9)  # a light photo: the stamp must still show
    stamped, mask = stamp_real_masks(jax.random.key(1), images, masks,
                                     jnp.zeros((4, 32, 32, 1)), prob=1.0)
    changed = jnp.any(jnp.abs(stamped - images) > 0, axis=-1, keepdims=True)
    assert bool(jnp.all(changed == (mask > 0)))
    assert float(jnp.sum(mask)) > 0
