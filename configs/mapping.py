"""Stage 2, quality mapping: VAE1's latent of a degraded photo -> VAE2's latent of the clean one,
both VAEs frozen (from the stage-1 workdirs in `init_from`).

    python launch/train.py --config=configs/mapping.py:cpu --workdir=runs/mapping_cpu \
        --config.init_from.vae1=runs/vae1_cpu --config.init_from.vae2=runs/vae2_cpu
    python launch/evaluate.py --workdir=runs/mapping_cpu

Variants: `reference` (default: the authors' settings, for accelerators), `cpu` (on top of the
stage-1 cpu runs and ../shared/data: 600 steps at 1.3 s/step alone on 2 cores, about
13 minutes; 21 minutes measured next to a scratch-mapping run), `smoke` (two steps through
every code path). Override any field with --config.a.b=value.
"""

from oldrestore.configuration import parse_variant
from oldrestore.train.mapping_config import VARIANTS, mapping_stage_config


def get_config(arg=None):
    return mapping_stage_config(scratch=False, variant=parse_variant(arg, VARIANTS))
