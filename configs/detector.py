"""The scratch-detection U-Net, trained on photos given structured defects by the degradation
model (exact masks), plus real defect shapes from an optional folder of masks.

    python launch/train.py --config=configs/detector.py:cpu --workdir=runs/detector_cpu
    python launch/evaluate.py --workdir=runs/detector_cpu

Variants: `reference` (default: the reference's network, our training settings: the authors never
released theirs), `cpu` (a narrower U-Net on ../shared/data for a 2-core laptop, about 20
minutes), `smoke` (two steps through every code path). Override any field with --config.a.b=value.
"""

from oldrestore.configuration import parse_variant
from oldrestore.train.detector_config import VARIANTS, detector_config


def get_config(arg=None):
    return detector_config(parse_variant(arg, VARIANTS))
