"""Stage 2, scratch mapping: the quality mapping plus the partial non-local block, trained on
photos with holes (structured-defect and real defect masks, painted white) and their masks;
exactly half of every batch has no holes. Both VAEs frozen (stage-1 workdirs in `frozen`).
The quality mapping's config (configs/mapping.py, with its cpu/smoke shrinking) plus what is
the scratch mapping's own, below.

    python launch/train.py --config=configs/mapping_scratch.py:cpu \
        --workdir=runs/mapping_scratch_cpu \
        --config.frozen.vae1=runs/vae1_cpu --config.frozen.vae2=runs/vae2_cpu
    python launch/evaluate.py --workdir=runs/mapping_scratch_cpu

Variants: `reference` (default), `cpu` (on top of the stage-1 cpu runs: 600 steps at about
2 s/step alone on a 2-core AMD EPYC, about 20 minutes; the study's recipe trains more,
oldrestore/study/plan.py), `smoke` (two steps through every code path). Override any field
with --config.a.b=value.
"""

from pathlib import Path

import ml_collections

from oldrestore.configuration import load_config_module, with_variant

mapping = load_config_module(Path(__file__).with_name("mapping.py"))
DEVIATIONS = mapping.DEVIATIONS


def reference() -> ml_collections.ConfigDict:
    c = mapping.reference()
    c.stage = "mapping_scratch"
    c.batch_size = 36  # the reference's global batch (4 GPUs)

    c.model.temperature = 1.0  # softmax temperature of the non-local affinity
    c.model.mask_rule = "reference"  # latent hole cells: "reference" or "any" (every
    #                                 cell touched by a hole pixel)
    c.model.attention = "blockwise"  # "blockwise" (memory-linear) or "dense" (N x N)
    # False: no partial non-local block (the quality mapping trained on photos with holes), the
    # ablation that tests the paper's claim for it (oldrestore/study/plan.py).
    c.model.partial_nonlocal = True
    # Inference only (training computes every query exactly): ScratchMapping's attention_queries
    # and pooled_keys. "holes": exact where the hole outputs read the attention, bfloat16
    # elsewhere; 69-74 dB PSNR of the restore against "all" (exact) at 256, 512 and 1024 px
    # (benchmarks/results/fast_attention_accuracy_*.json). pooled_keys=K > 0 pools the keys to
    # at most K positions: for huge scans, an approximation (16-20 dB at 512-1024, random init).
    c.model.inference_attention_queries = "holes"
    c.model.inference_pooled_keys = 0

    c.disc.spectral_norm = True  # the scratch mapping's --use_SN

    # --no_TTUR: Adam 2e-4 (0.5, 0.999) for both networks.
    for optim in (c.optim, c.disc_optim):
        optim.lr, optim.b1, optim.b2 = 2e-4, 0.5, 0.999

    # Holes come from the structured-defect masks (plus real defect shapes from masks_dir),
    # painted white as the reference paints its irregular masks. Exactly `no_hole_fraction`
    # of every batch has none (the reference: --random_hole, each photo with p = 0.5).
    c.degradation.structured.enabled = True
    c.degradation.structured.no_defect_prob = 0.0
    c.data.no_hole_fraction = 0.5
    c.data.masks_dir = ""  # optional folder of real defect masks, e.g. ../shared/data/masks
    c.data.real_mask_prob = 0.3
    return c


def get_config(arg=None):
    return with_variant(reference(), arg, cpu=mapping.cpu, smoke=mapping.smoke)


def sweeps() -> dict[str, list[tuple[str, dict]]]:
    """The quality mapping's studies, plus which latent cells the non-local block takes as holes."""
    return {
        **mapping.sweeps(),
        "partial_nonlocal": [("partial_nonlocal_on", {"model.partial_nonlocal": True}),
                             ("partial_nonlocal_off", {"model.partial_nonlocal": False})],
        "mask_rule": [("mask_rule_reference", {"model.mask_rule": "reference"}),
                      ("mask_rule_any", {"model.mask_rule": "any"})],
    }
