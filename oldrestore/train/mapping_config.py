"""The reference configuration of stage 2, shared by configs/mapping.py (quality mapping) and
configs/mapping_scratch.py (scratch mapping with the partial non-local block). Numbers:
reference-implementation.md sections 3, 4 and 6."""

import ml_collections

from oldrestore.configuration import base_config
from oldrestore.data.degrade import default_config as degradation_config

VARIANTS = ("reference", "cpu", "smoke")


def mapping_stage_config(scratch: bool, variant: str = "reference") -> ml_collections.ConfigDict:
    """scratch: the scratch mapping (holes in the input, partial non-local block) rather than the
    quality mapping. variant: "reference", "cpu" (on top of the stage-1 cpu runs) or "smoke"."""
    c = base_config()
    c.variant = variant
    c.stage = "mapping_scratch" if scratch else "mapping"
    c.batch_size = 36 if scratch else 80  # the reference's global batches (4 GPUs)
    c.total_steps = 250_000  # 150 epochs constant + 100 decaying, stated in steps as in stage 1
    c.data.crop_size = 256
    # The pair turns grey together (the degradation's grayscale_prob), as the reference does; the
    # loader must not grey the clean photo alone.
    c.data.grayscale_prob = 0.0

    # The frozen networks: VAE1's encoder (old photos -> latent), VAE2's encoder (the clean
    # photo's target latent) and decoder (mapped latent -> photo), from the stage-1 workdirs
    # (their latest checkpoints). Weights only; they are inputs of the step, never trained.
    del c["init_from"]  # a pair of workdirs here, not base_config's single path
    c.init_from = ml_collections.ConfigDict({"vae1": "", "vae2": ""})

    c.model = ml_collections.ConfigDict()
    c.model.max_channels = 512  # the reference's map_mc
    c.model.num_blocks = 6  # the reference's mapping_n_block
    if scratch:
        c.model.temperature = 1.0  # softmax temperature of the non-local affinity
        c.model.mask_rule = "reference"  # latent hole cells: "reference" or "any" (every
        #                                 cell touched by a hole pixel)
        c.model.attention = "blockwise"  # "blockwise" (memory-linear) or "dense" (N x N)

    c.disc = ml_collections.ConfigDict()  # conditional: sees (degraded, output), 6 channels
    c.disc.ndf = 64
    c.disc.num_layers = 3
    c.disc.num_scales = 2
    c.disc.spectral_norm = scratch  # the scratch mapping's --use_SN

    c.loss = ml_collections.ConfigDict()
    c.loss.latent_l1 = 60.0  # --use_l1_feat, l2_feat 60: against VAE2's encoding of the clean photo
    c.loss.gan = 1.0
    c.loss.feature_matching = 10.0
    c.loss.vgg = 10.0
    c.loss.vgg_layer_weights = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)  # VGG16 for VGG19: vae_config
    c.loss.vgg_imagenet_normalize = False

    # Quality mapping: the reference's two-timescale update (G 1e-4, D 4e-4, betas (0, 0.9));
    # scratch mapping: --no_TTUR, Adam 2e-4 (0.5, 0.999) for both.
    c.optim = ml_collections.ConfigDict()  # the mapping network
    c.optim.lr = 2e-4 if scratch else 1e-4
    c.optim.b1 = 0.5 if scratch else 0.0
    c.optim.b2 = 0.999 if scratch else 0.9
    c.optim.decay_steps = 100_000
    c.disc_optim = ml_collections.ConfigDict(c.optim.to_dict())
    c.disc_optim.lr = 2e-4 if scratch else 4e-4

    c.degradation = degradation_config()
    if scratch:
        # Holes come from the structured-defect masks (plus real defect shapes from masks_dir),
        # painted white as the reference paints its irregular masks. Exactly `no_hole_fraction`
        # of every batch has none (the reference: --random_hole, each photo with p = 0.5).
        c.degradation.structured.no_defect_prob = 0.0
        c.data.no_hole_fraction = 0.5
        c.data.masks_dir = ""  # optional folder of real defect masks, e.g. ../shared/data/masks
        c.data.real_mask_prob = 0.3
    else:
        c.degradation.structured.enabled = False  # the quality mapping sees no scratches

    if variant == "cpu":
        _shrink_for_cpu(c)
    elif variant == "smoke":
        _shrink_for_smoke(c)
    return c


def _shrink_for_cpu(c: ml_collections.ConfigDict) -> None:
    """On top of the stage-1 cpu runs (width-32 VAEs, 128 crops) for a 2-core laptop."""
    c.init_from.vae1 = "runs/vae1_cpu"
    c.init_from.vae2 = "runs/vae2_cpu"
    c.batch_size = 4
    c.total_steps = 600
    c.optim.decay_steps = c.disc_optim.decay_steps = 200
    c.data.crop_size = 128
    c.data.clean_dir = "../shared/data/clean"
    c.model.max_channels = 128
    c.model.num_blocks = 2
    c.disc.ndf = 32
    c.degradation.loop_over_examples = True  # one device: the fast form
    if "masks_dir" in c.data:
        c.data.masks_dir = "../shared/data/masks"
    c.log_every_steps = 20
    c.ckpt_every_steps = 200
    c.image_every_steps = 200


def _shrink_for_smoke(c: ml_collections.ConfigDict) -> None:
    """The fastest run through every code path (the tests point init_from at smoke VAEs)."""
    c.batch_size = 2
    c.total_steps = 2
    c.optim.decay_steps = c.disc_optim.decay_steps = 1
    c.data.crop_size = 32
    c.model.max_channels = 128  # the reference's tail ends in a hard-coded 128 -> 64 conv
    c.model.num_blocks = 1
    c.disc.ndf = 8
    c.log_every_steps = 1
    c.ckpt_every_steps = 1
    c.image_every_steps = 1
