"""Stage 1b: VAE2 on clean photos (Y): encoder, decoder and image discriminator.

    python launch/train.py --config=configs/vae2.py:cpu --workdir=runs/vae2_cpu

Variants: `reference` (default: the authors' settings, for accelerators), `cpu` (a real run on
../shared/data/clean for a 2-core laptop, about 20 minutes), `demo` (the cpu networks for 100
steps on the embedded photos: nothing to fetch), `smoke` (two steps through every code path).
Override any field with --config.a.b=value.
"""

from oldrestore.configuration import parse_variant
from oldrestore.train.vae_config import VARIANTS, vae_stage_config


def get_config(arg=None):
    return vae_stage_config("clean", parse_variant(arg, VARIANTS))
