"""The scratch detector's configuration (configs/detector.py). The reference releases neither its
detector's training code nor its settings; what is ours is marked so."""

import ml_collections

from oldrestore.configuration import base_config
from oldrestore.data.degrade import default_config as degradation_config

VARIANTS = ("reference", "cpu", "smoke")


def detector_config(variant: str = "reference") -> ml_collections.ConfigDict:
    c = base_config()
    c.stage = "detector"
    c.variant = variant
    c.batch_size = 16  # ours
    c.total_steps = 100_000  # ours
    c.data.crop_size = 256  # the reference runs its detector at about 256 on the short side
    c.data.masks_dir = ""  # optional folder of real defect masks, e.g. ../shared/data/masks
    c.data.real_mask_prob = 0.3  # share of photos that get a real mask stamped on (when given)

    c.model = ml_collections.ConfigDict()
    c.model.wf = 6  # 2**wf channels at full resolution: the reference's 64
    c.model.depth = 4

    c.loss = ml_collections.ConfigDict()
    c.loss.name = "balanced_bce"  # the paper's section 3.3; or "bce", "focal"
    c.loss.focal_gamma = 2.0
    c.loss.focal_alpha = 0.25

    c.optim = ml_collections.ConfigDict()  # ours: Adam with the stage-1 betas
    c.optim.lr = 2e-4
    c.optim.b1 = 0.5
    c.optim.b2 = 0.999
    c.optim.decay_steps = 50_000

    c.threshold = 0.4  # the reference's

    # Photos degraded by the whole model, defects included; fewer defect-free photos than the
    # scratch-mapping stage uses, since a defect-free photo carries no balanced-BCE signal.
    c.degradation = degradation_config()
    c.degradation.structured.no_defect_prob = 0.1

    if variant == "cpu":
        c.batch_size = 4
        c.total_steps = 2400
        c.optim.decay_steps = 800
        c.data.crop_size = 128
        c.data.clean_dir = "../shared/data/clean"
        c.data.masks_dir = "../shared/data/masks"
        c.model.wf = 4
        c.degradation.loop_over_examples = True  # one device: the fast form
        c.log_every_steps = 20
        c.ckpt_every_steps = 200
        c.image_every_steps = 200
    elif variant == "smoke":
        c.batch_size = 2
        c.total_steps = 2
        c.optim.decay_steps = 1
        c.data.crop_size = 32
        c.model.wf = 2
        c.model.depth = 2
        c.log_every_steps = 1
        c.ckpt_every_steps = 1
        c.image_every_steps = 1
    return c
