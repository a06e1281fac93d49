"""Stage 2, scratch mapping: the quality mapping plus the partial non-local block, trained on
photos with holes (structured-defect and real defect masks, painted white) and their masks;
exactly half of every batch has no holes. Both VAEs frozen (stage-1 workdirs in `init_from`).

    python launch/train.py --config=configs/mapping_scratch.py:cpu \
        --workdir=runs/mapping_scratch_cpu \
        --config.init_from.vae1=runs/vae1_cpu --config.init_from.vae2=runs/vae2_cpu
    python launch/evaluate.py --workdir=runs/mapping_scratch_cpu

Variants: `reference` (default), `cpu` (on top of the stage-1 cpu runs: 600 steps, 23 minutes
measured next to a quality-mapping run on 2 cores), `smoke` (two
steps through every code path). Override any field with --config.a.b=value.
"""

from oldrestore.configuration import parse_variant
from oldrestore.train.mapping_config import VARIANTS, mapping_stage_config


def get_config(arg=None):
    return mapping_stage_config(scratch=True, variant=parse_variant(arg, VARIANTS))
