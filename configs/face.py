"""The face-enhancement network (the journal version's SPADE generator), trained on face photos
degraded on the fly; the authors released its inference only.

    python launch/train.py --config=configs/face.py:cpu --workdir=runs/face_cpu
    python launch/evaluate.py --workdir=runs/face_cpu

Variants: `reference` (default: the reference's network at 256, batch 4, for FFHQ-scale face
photos on accelerators; point data.clean_dir at them), `cpu` (a narrow network on
../shared/data/faces plus the face photos of ../shared/data/clean, for 2 cores), `smoke` (two
steps through every code path). The faces of the photos are found and aligned to the reference's
template once, when the data is prepared (oldrestore.train.face_data). Override any field with
--config.a.b=value.

The reference releases the face generator and its inference options only
(reference-implementation.md section 9); its discriminator, losses, optimizer settings and
training data were never released. Every value says whose it is: "reference" (the released face
code), "SPADE" (SPADE's published defaults, which the reference's model code was written against)
or "ours".
"""

import ml_collections

from oldrestore.configuration import (
    SHARED_DATA,
    base_config,
    shrink_for_cpu,
    shrink_for_smoke,
    with_variant,
)
from oldrestore.data.degrade import default_config as degradation_config


def face_degradation() -> ml_collections.ConfigDict:
    """Ours: what a face cut from a globally restored photo still shows. No scratches or dust
    (the global stage removed them); stronger low resolution than the global stage (small faces
    are enlarged onto the aligned canvas) and wider blur; the old-print look as everywhere."""
    cfg = degradation_config()
    cfg.structured.enabled = False
    cfg.unstructured.blur.kernel_sizes = (3, 5, 7, 9, 11)
    cfg.unstructured.resize.prob = 0.8
    cfg.unstructured.resize.min_scale = 0.125  # down to 1/8 of the face size
    cfg.unstructured.noise.sigma_range = (5 / 255, 30 / 255)
    cfg.grayscale_prob = 0.3  # most old portraits are monochrome; the pair turns grey together
    return cfg


def reference() -> ml_collections.ConfigDict:
    c = base_config()
    c.stage = "face"
    c.batch_size = 4  # reference: run.py's --batchSize 4 for the 256 face model
    # SPADE: 50 epochs at constant lr (niter 50, niter_decay 0); here over FFHQ's 70,000 faces.
    c.total_steps = 50 * 70_000 // 4
    # The reference's load_size (256; 512 for its HR model): faces are aligned at it and the
    # generator's output has this size.
    c.data.crop_size = 256
    # Ours: every face of at least half the canvas is found (MTCNN) and aligned to the
    # reference's template when the data is prepared, as the restore pipeline aligns the faces
    # it enhances (the reference released no training data). False: centre squares, resized.
    c.data.align_faces = True
    c.data.grayscale_prob = 0.0  # the degradation turns the pair grey together
    c.data.more_faces_dir = ""  # a folder of general photos whose face photos are added ...
    c.data.more_faces_prefixes = ("celebahq", "gpen")  # ... picked by file-name prefix
    c.data.old_faces_dir = ""  # real old faces for the evaluation's before/after grid
    c.data.old_photos_dir = ""  # whole old photos: the evaluation's grid of the faces found in them

    c.model = ml_collections.ConfigDict()
    c.model.ngf = 64  # reference
    c.model.spade_hidden = 128  # reference (hard-coded in its SPADE)

    # SPADE's multi-scale PatchGAN (2 scales, ndf 64, spectral norm + instance norm, image only as
    # the reference's --no_parsing_map implies). SPADE's n_layers_D 4 counts the same five convs
    # as our num_layers 3. Difference, ours: models.discriminator also spectrally normalises the
    # first and last conv and keeps the biases SPADE drops before instance norm.
    c.disc = ml_collections.ConfigDict()
    c.disc.ndf = 64
    c.disc.num_layers = 3
    c.disc.num_scales = 2
    c.disc.spectral_norm = True

    c.loss = ml_collections.ConfigDict()  # SPADE: hinge GAN x1, D feature matching x10, VGG x10
    c.loss.gan = 1.0
    c.loss.feature_matching = 10.0
    c.loss.vgg = 10.0
    # SPADE's VGG19 layer weights, on our VGG16 layers (see configs/vae2.py); [-1, 1] fed
    # unnormalised.
    c.loss.vgg_layer_weights = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)
    c.loss.vgg_imagenet_normalize = False
    c.loss.l1 = 0.0  # ours: a pixel L1 between enhanced and clean (neither SPADE nor reference)

    c.optim = ml_collections.ConfigDict()
    c.optim.lr = 2e-4  # SPADE (the reference declares no value)
    # Reference (its pix2pix_model's optimizers): with TTUR, generator at lr/2 and discriminator
    # at 2 lr, Adam betas (0, 0.9); SPADE trains with TTUR by default.
    c.optim.ttur = True
    c.optim.b1 = 0.0
    c.optim.b2 = 0.9
    c.optim.decay_steps = 0  # SPADE: niter_decay 0, a constant learning rate

    c.degradation = face_degradation()
    return c


# Choices of the cpu recipe, not scale: field -> (why, measured effect). Measured on 20 held-out
# aligned faces at 128 px after 600 steps (launch/evaluate.py; degraded input: PSNR 20.52 dB,
# SSIM 0.635, LPIPS 0.377). SPADE's weights alone (GAN 1, feature matching 10): 21.40 / 0.714 /
# 0.183, but the generator paints the same dotted highlights at the eye positions of every
# blurred face; + pixel L1: 21.86 / 0.731 / 0.187, the dots stay; no GAN (VGG + L1, 300 steps):
# 21.07 / 0.739 / 0.350, no dots but blurred.
_GAN_EFFECT = ("with the L1 below: PSNR 21.40 -> 22.48 dB, SSIM 0.714 -> 0.762, LPIPS 0.183 -> "
               "0.229 on 20 held-out faces; the dotted eyes are gone")
DEVIATIONS = {
    "loss.gan": ("a short run's discriminator rewards fixed eye highlights pasted on every "
                 "blurred face: its weight down 10x", _GAN_EFFECT),
    "loss.feature_matching": ("as loss.gan, the discriminator's feature term down 10x",
                              _GAN_EFFECT),
    "loss.l1": ("anchors the pixels where the degraded face carries too little to hallucinate "
                "from", _GAN_EFFECT),
}


def cpu(c: ml_collections.ConfigDict) -> None:
    """A narrow network on ../shared/data's face photos for 2 cores (oldrestore.train.face_data):
    600 steps at 1.2 s per step alone, about 13 minutes."""
    shrink_for_cpu(c, total_steps=600, decay_steps=200)
    c.data.clean_dir = f"{SHARED_DATA}/faces"
    c.data.more_faces_dir = f"{SHARED_DATA}/clean"
    c.data.old_faces_dir = f"{SHARED_DATA}/old_faces"
    c.data.old_photos_dir = f"{SHARED_DATA}/old"
    c.data.test_percent = 10  # about 20 held-out faces instead of 9
    c.model.ngf = 8
    c.model.spade_hidden = 32
    c.disc.ndf = 32
    c.loss.gan, c.loss.feature_matching, c.loss.l1 = 0.1, 1.0, 10.0  # DEVIATIONS
    c.ckpt_every_steps = 100
    c.image_every_steps = 100


def smoke(c: ml_collections.ConfigDict) -> None:
    """32 px faces, so the generator starts at 1 x 1; centre squares of the embedded photos, which
    hold too few faces to align (tests/test_aligned_faces.py tests alignment)."""
    shrink_for_smoke(c)
    c.data.align_faces = False
    c.model.ngf = 2
    c.model.spade_hidden = 8
    c.disc.ndf = 8


def get_config(arg=None):
    return with_variant(reference(), arg, cpu=cpu, smoke=smoke)
