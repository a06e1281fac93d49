"""Stage 1a: VAE1 on real old photos (R) and synthetic ones (X), with the latent discriminator
that closes their domain gap.

    python launch/train.py --config=configs/vae1.py:cpu --workdir=runs/vae1_cpu

Variants: `reference` (default: the authors' settings, for accelerators), `cpu` (a real run on
../shared/data for a 2-core laptop, about 20 minutes), `demo` (the cpu networks for 100 steps on
the embedded photos: nothing to fetch), `smoke` (two steps through every code path, seconds).
Override any field with --config.a.b=value.
"""

from oldrestore.configuration import parse_variant
from oldrestore.train.vae_config import VARIANTS, vae_stage_config


def get_config(arg=None):
    return vae_stage_config("old", parse_variant(arg, VARIANTS))
