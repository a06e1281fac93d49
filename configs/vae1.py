"""Stage 1a: VAE1 on real old photos (R) and synthetic ones (X), with the latent discriminator
that closes their domain gap. VAE2's config (configs/vae2.py: network, image discriminator,
losses, optimizer, and their cpu/demo/smoke shrinking) plus what is VAE1's own, below.

    python launch/train.py --config=configs/vae1.py:cpu --workdir=runs/vae1_cpu

Variants: `reference` (default: the authors' settings, for accelerators), `cpu` (a real run on
../shared/data for a 2-core laptop, about 20 minutes), `demo` (the cpu networks for 100 steps on
the embedded photos: nothing to fetch), `smoke` (two steps through every code path, seconds).
Override any field with --config.a.b=value.
"""

from pathlib import Path

import ml_collections

from oldrestore.configuration import SHARED_DATA, load_config_module, with_variant
from oldrestore.data.degrade import default_config as degradation_config

vae2 = load_config_module(Path(__file__).with_name("vae2.py"))
DEVIATIONS = vae2.DEVIATIONS  # the same choices (see vae2.py)


def reference() -> ml_collections.ConfigDict:
    c = vae2.reference()
    c.stage = "vae1"
    c.batch_size = 100  # the reference's global batch (4 GPUs)
    c.latent_disc = ml_collections.ConfigDict()
    c.latent_disc.ndf = 64
    c.latent_disc.num_layers = 3
    c.loss.latent_gan = 1.0
    c.degradation = degradation_config()  # makes X from clean photos, inside the train step
    return c


def cpu(c: ml_collections.ConfigDict) -> None:
    vae2.cpu(c)
    c.latent_disc.ndf = 32
    c.data.old_dir = f"{SHARED_DATA}/old"


def demo(c: ml_collections.ConfigDict) -> None:
    cpu(c)
    vae2.on_embedded_photos(c)


def smoke(c: ml_collections.ConfigDict) -> None:
    vae2.smoke(c)
    c.latent_disc.ndf = 8


def get_config(arg=None):
    return with_variant(reference(), arg, cpu=cpu, demo=demo, smoke=smoke)


def sweeps() -> dict[str, list[tuple[str, dict]]]:
    """VAE2's studies, plus the paper's claim that the latent discriminator closes the R/X gap."""
    return {
        **vae2.sweeps(),
        "latent_alignment": [("latent_gan_on", {"loss.latent_gan": 1.0}),
                             ("latent_gan_off", {"loss.latent_gan": 0.0})],
    }
