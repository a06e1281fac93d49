"""Stage 2, quality mapping: VAE1's latent of a degraded photo -> VAE2's latent of the clean one,
both VAEs frozen (from the stage-1 workdirs in `frozen`). The scratch mapping
(configs/mapping_scratch.py) is this config plus the partial non-local block and holes.

    python launch/train.py --config=configs/mapping.py:cpu --workdir=runs/mapping_cpu \
        --config.frozen.vae1=runs/vae1_cpu --config.frozen.vae2=runs/vae2_cpu
    python launch/evaluate.py --workdir=runs/mapping_cpu

`frozen` may also name a restoration bundle holding both VAEs: with
--config.frozen.vae1=oldrestore/weights/default.msgpack (and the same for vae2) a mapping
trains on the shipped weights' VAEs, without retraining stage 1.

Variants: `reference` (default: the authors' settings, for accelerators), `cpu` (on top of the
stage-1 cpu runs and ../shared/data: 600 steps at about 1.5 s/step alone on a 2-core AMD
EPYC, about 15 minutes; the study's recipe trains 1000, oldrestore/study/plan.py), `smoke` (two
steps through every code path). Override any field with --config.a.b=value. Numbers:
reference-implementation.md sections 3, 4 and 6.
"""

import ml_collections

from oldrestore.configuration import (
    base_config,
    shrink_for_cpu,
    shrink_for_smoke,
    with_variant,
)
from oldrestore.data.degrade import default_config as degradation_config


def reference() -> ml_collections.ConfigDict:
    c = base_config()
    c.stage = "mapping"
    c.batch_size = 80  # the reference's global batch (4 GPUs)
    c.total_steps = 250_000  # 150 epochs constant + 100 decaying, stated in steps as in stage 1
    c.data.crop_size = 256
    # The pair turns grey together (the degradation's grayscale_prob), as the reference does; the
    # loader must not grey the clean photo alone.
    c.data.grayscale_prob = 0.0

    # The frozen networks: VAE1's encoder (old photos -> latent), VAE2's encoder (the clean
    # photo's target latent) and decoder (mapped latent -> photo), from the stage-1 workdirs or
    # a bundle (their latest steps; the steps are recorded in the state). Weights only; they are
    # inputs of the step, never trained. Stored as absolute paths in config.json.
    c.frozen = ml_collections.ConfigDict({"vae1": "", "vae2": ""})

    c.model = ml_collections.ConfigDict()
    c.model.max_channels = 512  # the reference's map_mc
    c.model.num_blocks = 6  # the reference's mapping_n_block
    # The VAEs' colour statistics (configs/vae2.py): must match the frozen VAEs' setting.
    c.model.colour_stats = False
    # Inference only: > 0 gives the restored photo the input's colours (its chroma smoothed by
    # this many pixels, oldrestore/inference/colour.py); 0 keeps the chain's own, as the reference.
    c.model.inference_chroma_sigma = 0.0
    # Inference only: True restores the photo and its mirror image and averages the two (a
    # self-ensemble, twice the time); False, as the reference, restores it once.
    c.model.inference_flip_ensemble = False

    c.disc = ml_collections.ConfigDict()  # conditional: sees (degraded, output), 6 channels
    c.disc.ndf = 64
    c.disc.num_layers = 3
    c.disc.num_scales = 2
    c.disc.spectral_norm = False

    c.loss = ml_collections.ConfigDict()
    c.loss.latent_l1 = 60.0  # --use_l1_feat, l2_feat 60: against VAE2's encoding of the clean photo
    c.loss.gan = 1.0
    c.loss.feature_matching = 10.0
    c.loss.vgg = 10.0
    c.loss.l1 = 0.0  # ours: a pixel L1 between the restored and the clean photo (reference: none)
    c.loss.ssim = 0.0  # ours: 1 - SSIM of the restored against the clean photo (reference: none)
    c.loss.vgg_layer_weights = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)  # VGG16 for VGG19: vae2.py
    c.loss.vgg_imagenet_normalize = False

    # The reference's two-timescale update: G 1e-4, D 4e-4, betas (0, 0.9).
    c.optim = ml_collections.ConfigDict()  # the mapping network
    c.optim.lr = 1e-4
    c.optim.b1 = 0.0
    c.optim.b2 = 0.9
    c.optim.decay_steps = 100_000
    c.disc_optim = ml_collections.ConfigDict(c.optim.to_dict())
    c.disc_optim.lr = 4e-4

    c.degradation = degradation_config()
    c.degradation.structured.enabled = False  # the quality mapping sees no scratches
    return c


# Choices of the cpu recipe, not scale: field -> (why, measured effect); see configs/vae2.py.
DEVIATIONS = {
    "model.colour_stats": (
        "the cpu VAEs' latents carry the photo's colour statistics (configs/vae2.py); the "
        "mapping predicts the clean photo's from the degraded photo's",
        "see VAE2's; the chain's numbers are in the study"),
    "model.inference_chroma_sigma": (
        "the cpu chain gets each photo's colour statistics right but washes out local hues "
        "(greens and yellows come back brown); colours are coarse and survive the defects, so "
        "the restored photo keeps its own luminance and takes the input's smoothed chroma",
        "25 held-out synthetic photos (the study's test set), the shipped mappings: scratch "
        "mode PSNR 20.94 -> 21.52 dB, SSIM 0.603 -> 0.632, LPIPS 0.399 -> 0.375; quality mode "
        "20.16 -> 20.61 dB, 0.556 -> 0.587, 0.441 -> 0.418. Sigma chosen on the 16 embedded "
        "photos of launch/demo.py, scratch mode (0 / 1.5 / 3 / 5: 19.37 / 19.70 / 19.70 / 19.66 "
        "dB, SSIM 0.608 / 0.624 / 0.628 / 0.628)"),
    "model.inference_flip_ensemble": (
        "the photo and its mirror image restore with different errors (blur, a faint "
        "checkerboard), which their mean partly cancels; it smooths texture too, so it trades "
        "LPIPS for PSNR and SSIM, at twice the restoring time",
        "the recipe's mappings (3460 and 1000 steps) on the study's VAEs, chosen on the 16 "
        "embedded photos of launch/demo.py: scratch mode 19.76 -> 19.86 dB, SSIM 0.626 -> "
        "0.641, LPIPS 0.427 -> 0.438; quality mode 19.15 -> 19.30, 0.601 -> 0.621, 0.411 -> "
        "0.421. On the 25 held-out synthetic photos: scratch mode 21.28 -> 21.40, 0.625 -> "
        "0.640, 0.389 -> 0.407 (the classical pipeline: 21.34, 0.585, 0.473); quality mode "
        "20.40 -> 20.52, 0.589 -> 0.606, 0.426 -> 0.441 (the input: 20.46, 0.579, 0.446)"),
}
_IMAGE_SPACE_EFFECT = (
    "25 held-out synthetic photos, scratch mode, the chain's own colours, as 600-step fine-tunes "
    "of a 2000-step scratch mapping trained with the reference's weights (20.24 dB, SSIM 0.560, "
    "LPIPS 0.435): the reference's weights 20.44 / 0.564 / 0.428; these 20.78 / 0.596 / 0.407 "
    "after one such round with image_space's (the image_space sweep below). From the first "
    "step, in the study (input's colours): the 80-minute chain's 440-step scratch mapping with "
    "the reference's weights 20.27 dB, 0.543, 0.489; the 116-minute chain's 1500-step one "
    "20.94, 0.609, 0.402")
DEVIATIONS.update({
    "loss.gan": ("a short run's discriminator adds texture noise more than detail; the face "
                 "recipe's tenth (configs/face.py)", _IMAGE_SPACE_EFFECT),
    "loss.feature_matching": ("with the GAN, a tenth", _IMAGE_SPACE_EFFECT),
    "loss.latent_l1": ("a short mapping's latent errors decode into blur and colour shifts; the "
                       "weight moves to the restored photo (pixel L1 and SSIM)",
                       _IMAGE_SPACE_EFFECT),
    "loss.l1": ("supervises the restored photo itself (VAE2's decoding of the mapped latent)",
                _IMAGE_SPACE_EFFECT),
    "loss.ssim": ("supervises the restored photo's structure, which the scores measure",
                  _IMAGE_SPACE_EFFECT),
})

DEVIATIONS["loss.vgg"] = (
    "VGG16 and its gradient are 61% of a cpu quality-mapping step and 29% of a scratch-mapping "
    "one (benchmarks/train_steps.py on a 2-core AMD EPYC: 3.50 -> 1.38 s, 3.34 -> 2.38 s); "
    "pixel L1 and SSIM already supervise the restored photo, so the steps buy more",
    "25 held-out synthetic photos, scratch mode, input's colours, on the 116-minute study's "
    "VAEs: its 1500-step scratch mapping with the term 20.94 dB, SSIM 0.609, LPIPS 0.402; 2000 "
    "steps without it, in about the same time (51 against 54 minutes by plan.py's seconds per "
    "step), 21.03, 0.615, 0.399 (the vgg sweep); 3000, 21.26, 0.622, 0.392; the 3460 of the "
    "recipe now, 21.28, 0.625, 0.389")

# The cpu recipe's loss weights (DEVIATIONS): the adversarial terms at a tenth, no VGG term,
# and most of the weight on the restored photo itself (the image_space sweep's strongest arm).
CPU_LOSS_WEIGHTS = {"latent_l1": 10.0, "gan": 0.1, "feature_matching": 1.0, "l1": 50.0,
                    "ssim": 30.0, "vgg": 0.0}


def cpu(c: ml_collections.ConfigDict) -> None:
    """On top of the stage-1 cpu runs (width-32 VAEs, 128 crops) for a 2-core laptop."""
    shrink_for_cpu(c, total_steps=600, decay_steps=200)
    c.frozen.vae1 = "runs/vae1_cpu"
    c.frozen.vae2 = "runs/vae2_cpu"
    c.model.max_channels = 128
    c.model.num_blocks = 2
    c.model.colour_stats = True  # as the cpu VAEs
    c.model.inference_chroma_sigma = 3.0
    c.model.inference_flip_ensemble = True
    c.loss.update(CPU_LOSS_WEIGHTS)
    c.disc.ndf = 32


def smoke(c: ml_collections.ConfigDict) -> None:
    """The tests point `frozen` at smoke VAEs."""
    shrink_for_smoke(c)
    c.model.colour_stats = True  # as the smoke VAEs
    c.model.max_channels = 128  # the reference's tail ends in a hard-coded 128 -> 64 conv
    c.model.num_blocks = 1
    c.disc.ndf = 8


def get_config(arg=None):
    return with_variant(reference(), arg, cpu=cpu, smoke=smoke)


# The loss weights the sweeps below compare; every arm sets all six.
REFERENCE_WEIGHTS = {f"loss.{name}": reference().loss[name] for name in CPU_LOSS_WEIGHTS}
CPU_WEIGHTS = {f"loss.{name}": value for name, value in CPU_LOSS_WEIGHTS.items()}
VGG_ON = {"loss.vgg": REFERENCE_WEIGHTS["loss.vgg"]}
GAN_TENTH = {"loss.gan": 0.1, "loss.feature_matching": 1.0}  # the face recipe's GAN weights
NO_GAN = {"loss.gan": 0.0, "loss.feature_matching": 0.0}
PIXEL_L1 = {**REFERENCE_WEIGHTS, **GAN_TENTH, "loss.l1": 10.0}
IMAGE_SPACE = {**GAN_TENTH, **VGG_ON, "loss.latent_l1": 30.0, "loss.l1": 30.0, "loss.ssim": 10.0}
IMAGE_SPACE_STRONG = {**CPU_WEIGHTS, **VGG_ON}


def sweeps() -> dict[str, list[tuple[str, dict]]]:
    """Studies, each a list of (label, overrides), meant on top of the `cpu` variant."""
    return {
        # The paper's latent-space supervision: without it T learns through the decoder alone.
        "latent_l1": [("latent_l1_on", {"loss.latent_l1": CPU_LOSS_WEIGHTS["latent_l1"]}),
                      ("latent_l1_off", {"loss.latent_l1": 0.0})],
        # The face recipe's weights (configs/face.py). Measured as a 600-step fine-tune of a
        # 2000-step scratch mapping (b80 study's 25 held-out photos, scratch mode): 20.44 ->
        # 20.56 dB, SSIM 0.564 -> 0.562, LPIPS 0.428 -> 0.439 against the reference's weights.
        "pixel_l1": [("reference_weights", REFERENCE_WEIGHTS),
                     ("gan_tenth_pixel_l1", PIXEL_L1)],
        # Weight moved from the latent to the image, measured the same way (600-step fine-tunes
        # of that 2000-step mapping): 20.56 dB, SSIM 0.562, LPIPS 0.439 (gan_tenth_pixel_l1);
        # 20.59, 0.571, 0.429 (plus_ssim); 20.68, 0.577, 0.421 (image_space). 600 steps more
        # from image_space: 20.76, 0.581, 0.415 with the same weights; 20.78, 0.596, 0.407 with
        # image_space_strong's (the input: 20.46, 0.579, 0.446; classical: 21.34, 0.585, 0.473).
        # Two rounds more of image_space_strong: 20.85, 0.599, 0.404; 20.91, 0.601, 0.400; then
        # 600 of image_space_strong_no_gan: 20.94, 0.603, 0.399 (the shipped scratch mapping;
        # these are the chain's own colours, model.inference_chroma_sigma 0).
        "image_space": [("gan_tenth_pixel_l1", PIXEL_L1),
                        ("plus_ssim", {**PIXEL_L1, "loss.ssim": 10.0}),
                        ("image_space", IMAGE_SPACE),
                        ("image_space_strong", IMAGE_SPACE_STRONG),
                        ("image_space_strong_no_gan", {**IMAGE_SPACE_STRONG, **NO_GAN})],
        # The VGG term (DEVIATIONS["loss.vgg"]). Measured on the 116-minute study's VAEs,
        # scratch mode: vgg_on 1500 steps 20.94 dB, 0.609, 0.402; vgg_off 2000 steps 21.03,
        # 0.615, 0.399, in about the same time.
        "vgg": [("vgg_on", IMAGE_SPACE_STRONG), ("vgg_off", CPU_WEIGHTS)],
    }
