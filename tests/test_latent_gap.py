"""The latent gap: the linear probe at chance on one distribution and near 100% on separable ones;
the measurement on freshly initialised VAE1 and VAE2 networks."""

import jax
import numpy as np
import pytest

from oldrestore import runs
from oldrestore.evaluation import latent_gap
from oldrestore.models.vae import VAE
from oldrestore.stages import vae_networks
from tests.test_configuration import load_config


def test_probe_is_at_chance_on_one_distribution():
    rng = np.random.default_rng(0)
    accuracies = [latent_gap.linear_probe_accuracy(rng.normal(size=(150, 16)),
                                                   rng.normal(size=(100, 16)), seed=s)
                  for s in range(5)]
    assert np.mean(accuracies) == pytest.approx(0.5, abs=0.06)


def test_probe_separates_separable_sets():
    rng = np.random.default_rng(1)
    direction = rng.normal(size=16)
    direction /= np.linalg.norm(direction)
    a = rng.normal(size=(60, 16)) + 3 * direction
    b = rng.normal(size=(40, 16)) - 3 * direction
    assert latent_gap.linear_probe_accuracy(a, b) > 0.97


def test_probe_needs_two_samples_per_set():
    with pytest.raises(ValueError, match="two samples"):
        latent_gap.linear_probe_accuracy(np.zeros((1, 3)), np.ones((5, 3)))


@pytest.fixture(scope="module")
def vaes():
    """Freshly initialised smoke-size VAE1 and VAE2, as runs.load gives trained ones."""
    trained = {}
    for seed, name in enumerate(("vae1", "vae2")):
        config = load_config(name, "smoke")
        vae = vae_networks(config)["vae"]
        variables = vae.init(jax.random.key(seed), np.zeros((1, 32, 32, 3), np.float32),
                             method=VAE.encode)  # the encoder is all that is measured
        trained[name] = runs.Trained(config=config, step=0, variables={"vae": variables},
                                     frozen_steps={})
    return trained


def test_latent_summaries_are_per_channel_mean_and_std(vaes):
    photos = np.random.default_rng(0).integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    summaries = latent_gap.latent_summaries(vaes["vae1"], photos)
    width = vaes["vae1"].config.model.width
    assert summaries.shape == (5, 2 * width) and np.all(summaries[:, width:] >= 0)
    # One photo alone gives the same summary as inside a batch.
    np.testing.assert_allclose(latent_gap.latent_summaries(vaes["vae1"], photos[1:2])[0],
                               summaries[1], rtol=1e-4, atol=1e-5)


def test_measure_sees_no_gap_between_equal_sets_and_one_between_different_ones(vaes):
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (8, 32, 32, 3), dtype=np.uint8)
    flat = np.broadcast_to(rng.integers(0, 256, (8, 1, 1, 3)), (8, 32, 32, 3)).astype(np.uint8)
    same = latent_gap.measure(vaes["vae1"], noise, noise, vaes["vae2"], noise)
    assert same["old_vs_synthetic"]["frechet"] == pytest.approx(0.0, abs=1e-6)
    assert same["synthetic_vs_clean_vae2"]["frechet"] > 0  # two networks, two spaces
    different = latent_gap.measure(vaes["vae1"], flat, noise)
    assert different["old_vs_synthetic"]["frechet"] > 0.01
    assert different["old_vs_synthetic"]["probe_accuracy"] == 1.0
    assert "synthetic_vs_clean_vae2" not in different


@pytest.mark.parametrize("stage, old_dir, message", [
    ("vae2", "", "a vae2 run, not a VAE1 run"),
    ("vae1", "", "without real old photos"),
])
def test_refuses_runs_it_cannot_measure(tmp_path, stage, old_dir, message):
    config = load_config(stage, "smoke")
    config.data.old_dir = old_dir
    (tmp_path / "config.json").write_text(config.to_json())
    with pytest.raises(runs.RunError, match=message):
        latent_gap.evaluate(tmp_path)
