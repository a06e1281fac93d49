"""The latent domain gap, the paper's own ablation metric: how far VAE1's latents of real old
photos E(R) are from those of synthetic ones E(X). The latent discriminator exists to close it.

Two measures on per-photo latent summaries (each channel's mean and standard deviation over
positions of the encoder's mean, 2C values):
* the Frechet distance between Gaussians fitted to the two sets (frechet.py);
* the held-out balanced accuracy of a freshly trained linear probe (L2-regularised logistic
  regression on standardised summaries, stratified k-fold): 0.5 means the probe cannot tell the
  domains apart (no gap), 1.0 that they are linearly separable.

As a reference point, E(X) is compared with VAE2's latents of clean photos E(Y) (another
network's space: a scale for the numbers, not a gap to close).

Photos: the test split (by default) of the run's `data.old_dir` (R) and of its `data.clean_dir`,
centre-cropped to `size`; X is the clean crops degraded with the training degradation at a fixed
key, Y the clean crops themselves.
"""

import jax
import jax.numpy as jnp
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from oldrestore import runs
from oldrestore.data import degrade
from oldrestore.evaluation.frechet import frechet_distance
from oldrestore.evaluation.reconstruction import held_out_photos, pad_batch
from oldrestore.models.vae import VAE
from oldrestore.stages import vae_networks

BATCH = 8
SYNTHETIC_SEED = 1234


def linear_probe_accuracy(features_a, features_b, folds: int = 5, seed: int = 0) -> float:
    """Held-out balanced accuracy of a linear classifier telling features [N_a, D] from
    [N_b, D], averaged over stratified folds (each sample is scored once, by a probe that did not
    see it)."""
    x = np.concatenate([features_a, features_b]).astype(np.float64)
    y = np.concatenate([np.zeros(len(features_a)), np.ones(len(features_b))])
    folds = min(folds, len(features_a), len(features_b))
    if folds < 2:
        raise ValueError("the linear probe needs at least two samples of each set")
    predicted = np.empty_like(y)
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y):
        probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        predicted[test] = probe.fit(x[train], y[train]).predict(x[test])
    return float(balanced_accuracy_score(y, predicted))


def gap(features_a, features_b) -> dict:
    return {"frechet": frechet_distance(features_a, features_b),
            "probe_accuracy": linear_probe_accuracy(features_a, features_b)}


def latent_summaries(trained: runs.Trained, images: np.ndarray) -> np.ndarray:
    """[N, 2C] per-channel mean and standard deviation over positions of the VAE's latent mean
    (its C learned channels: not the photo's colour statistics, which models/vae.py's
    colour_stats appends), for uint8 [N, H, W, 3] photos."""
    vae = vae_networks(trained.config)["vae"]
    params = trained.variables["vae"]["params"]

    @jax.jit  # weights are an argument: as constants they would slow compilation
    def summarise(params, images_uint8):
        x = images_uint8.astype(jnp.float32) / 127.5 - 1.0
        latent = vae.learned(vae.apply({"params": params}, x, method=VAE.encode).mean)
        return jnp.concatenate([latent.mean(axis=(1, 2)), latent.std(axis=(1, 2))], axis=-1)

    chunks = []
    for start in range(0, len(images), BATCH):
        chunk = images[start:start + BATCH]
        chunks.append(np.asarray(summarise(params, pad_batch(chunk, BATCH)))[:len(chunk)])
    return np.concatenate(chunks)


def synthetic_old(config, clean: np.ndarray) -> np.ndarray:
    """The clean uint8 photos degraded as in training, with a key fixed per batch."""
    @jax.jit
    def degrade_uint8(images, key):
        old, _ = degrade.degrade_batch(key, images.astype(jnp.float32) / 255.0,
                                       config.degradation)
        return jnp.round(old * 255.0).astype(jnp.uint8)

    chunks = []
    for start in range(0, len(clean), BATCH):
        chunk = clean[start:start + BATCH]
        key = jax.random.fold_in(jax.random.key(SYNTHETIC_SEED), start)
        chunks.append(np.asarray(degrade_uint8(pad_batch(chunk, BATCH), key))[:len(chunk)])
    return np.concatenate(chunks)


def measure(vae1: runs.Trained, old: np.ndarray, synthetic: np.ndarray,
            vae2: runs.Trained | None = None, clean: np.ndarray | None = None) -> dict:
    """The gaps between uint8 photo sets [N, H, W, 3]: E(R) of `old` vs E(X) of `synthetic` by
    VAE1, and, given VAE2 and `clean`, E(X) vs VAE2's E(Y)."""
    latents_synthetic = latent_summaries(vae1, synthetic)
    report = {"old_vs_synthetic": gap(latent_summaries(vae1, old), latents_synthetic)}
    if vae2 is not None:
        report["synthetic_vs_clean_vae2"] = gap(latents_synthetic, latent_summaries(vae2, clean))
    return report


def evaluate(vae1_workdir, vae2_workdir=None, split: str = "test", size: int = 256,
             max_images: int | None = None, step: int | None = None) -> dict:
    """The latent gap of the VAE1 run in `vae1_workdir` at checkpoint `step` (default: latest)
    on its held-out photos (and the E(X) vs E(Y) reference with the VAE2 run in
    `vae2_workdir`)."""
    config = runs.load_config(vae1_workdir)
    if config.stage != "vae1":
        raise runs.RunError(f"{vae1_workdir}: a {config.stage} run, not a VAE1 run")
    if not config.data.old_dir:
        raise runs.RunError(f"{vae1_workdir}: trained without real old photos (data.old_dir)")
    vae1 = runs.load(vae1_workdir, step)
    vae2 = runs.load(vae2_workdir) if vae2_workdir is not None else None
    clean = held_out_photos(config, config.data.clean_dir, split, size, max_images)
    old = held_out_photos(config, config.data.old_dir, split, size, max_images)
    report = {"vae1": {"workdir": str(vae1_workdir), "step": vae1.step,
                       "latent_gan_weight": float(config.loss.get("latent_gan", 0.0))},
              "split": split, "size": size, "images": {"old": len(old), "synthetic": len(clean)}}
    if vae2 is not None:
        report["vae2"] = {"workdir": str(vae2_workdir), "step": vae2.step}
    return {**report, **measure(vae1, old, synthetic_old(config, clean), vae2, clean)}
