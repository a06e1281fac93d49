"""Baseline: a direct image-to-image network, degraded photo -> clean photo, against which the
paper's latent-translation chain is compared. pix2pix's U-Net generator, trained on the synthetic
pairs of the chain's mapping stage with the chain's image losses.

    python launch/train.py --config=configs/pix2pix.py:cpu --workdir=runs/pix2pix_cpu
    python launch/evaluate.py --workdir=runs/pix2pix_cpu

Variants: `reference` (default: pix2pix's generator, the chain's losses, discriminator and data
budget, for accelerators), `cpu` (a narrower U-Net on ../shared/data for a 2-core laptop: 1200
steps at 2.6 s/step measured next to a VAE2 cpu training, about 52 minutes), `smoke` (two steps
through every code path). Override any field with --config.a.b=value.
"""

from pathlib import Path

import ml_collections

from oldrestore.configuration import (
    base_config,
    load_config_module,
    shrink_for_cpu,
    shrink_for_smoke,
    with_variant,
)
from oldrestore.data.degrade import default_config as degradation_config

mapping = load_config_module(Path(__file__).with_name("mapping.py"))


def reference() -> ml_collections.ConfigDict:
    c = base_config()
    c.stage = "pix2pix"
    # The scratch mapping's budget (its global batch and steps), so that both see as many pairs;
    # pix2pix itself trains with batch 1 for 200 epochs.
    c.batch_size = 36
    c.total_steps = 250_000
    c.data.crop_size = 256
    # The pair turns grey together (the degradation's grayscale_prob), as for the mapping; the
    # loader must not grey the clean photo alone.
    c.data.grayscale_prob = 0.0

    # pix2pix's unet_256: 8 levels, ngf 64, skips, dropout 0.5 on the three levels next to the
    # innermost (models/pix2pix_unet.py; its batch norm at batch 1 is our affine instance norm).
    c.model = ml_collections.ConfigDict()
    c.model.ngf = 64
    c.model.depth = 8
    c.model.dropout_levels = 3
    c.model.dropout_rate = 0.5
    # Restoring: the chain's test-time flip ensemble in each variant where configs/mapping.py has
    # it (inference/flip.py), so that the study compares the networks alone; once, here.
    c.model.inference_flip_ensemble = False

    # The chain's discriminator (the scratch mapping's): conditional on the degraded photo (6
    # channels), multi-scale, spectral norm; pix2pix's is one 70x70 PatchGAN.
    c.disc = ml_collections.ConfigDict()
    c.disc.ndf = 64
    c.disc.num_layers = 3
    c.disc.num_scales = 2
    c.disc.spectral_norm = True

    # The chain's image losses: LSGAN, D feature matching x10, VGG x10 (configs/vae2.py), plus a
    # pixel L1 x10, the weight the cpu VAEs use: the direct counterpart of the mapping's latent
    # L1 x60. pix2pix's own: vanilla GAN + L1 x100.
    c.loss = ml_collections.ConfigDict()
    c.loss.gan = 1.0
    c.loss.feature_matching = 10.0
    c.loss.vgg = 10.0
    c.loss.vgg_layer_weights = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)  # VGG16 for VGG19: vae2.py
    c.loss.vgg_imagenet_normalize = False
    c.loss.l1 = 10.0
    c.loss.ssim = 0.0  # 1 - SSIM, as the mapping's

    # Adam 2e-4 (0.5, 0.999) for both networks: pix2pix's, and the scratch mapping's.
    c.optim = ml_collections.ConfigDict()
    c.optim.lr = 2e-4
    c.optim.b1 = 0.5
    c.optim.b2 = 0.999
    c.optim.decay_steps = 100_000
    c.disc_optim = ml_collections.ConfigDict(c.optim.to_dict())

    # The whole degradation model, structured defects blended in, as launch/make_dataset.py
    # draws the photos both methods are compared on (half of them without defects, as the
    # scratch mapping's batches: it paints its holes white instead).
    c.degradation = degradation_config()
    return c


def cpu(c: ml_collections.ConfigDict) -> None:
    """pix2pix's unet_128 (7 levels, dropout on two), narrowed, for a 2-core laptop."""
    shrink_for_cpu(c, total_steps=1200, decay_steps=400)
    # The cpu chain's image losses (configs/mapping.py), so that both spend their steps alike.
    c.loss.update({name: value for name, value in mapping.CPU_LOSS_WEIGHTS.items()
                   if name in c.loss})
    c.model.ngf = 32
    c.model.depth = 7
    c.model.dropout_levels = 2
    c.model.inference_flip_ensemble = True  # as the cpu chain's (configs/mapping.py)
    c.disc.ndf = 32


def smoke(c: ml_collections.ConfigDict) -> None:
    shrink_for_smoke(c)
    c.model.ngf = 4
    c.model.depth = 4
    c.model.dropout_levels = 1  # still through the dropout path
    c.disc.ndf = 8


def get_config(arg=None):
    return with_variant(reference(), arg, cpu=cpu, smoke=smoke)


def sweeps() -> dict[str, list[tuple[str, dict]]]:
    """Studies, each a list of (label, overrides), meant on top of the `cpu` variant."""
    return {
        # The pixel term is the one loss the chain's reference does not have.
        "l1": [("l1_on", {"loss.l1": mapping.CPU_LOSS_WEIGHTS["l1"]}),
               ("l1_off", {"loss.l1": 0.0})],
        # pix2pix's dropout, its only source of noise, against none.
        "dropout": [("dropout_on", {"model.dropout_rate": 0.5}),
                    ("dropout_off", {"model.dropout_rate": 0.0})],
    }
