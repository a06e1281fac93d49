"""A study's budget turned into fixed step counts, once, up front: the same command gives the same
steps on any machine, and the same numbers on the same kind of machine (another CPU sums floats
in another order, and GAN training amplifies that; README, "Reproducing the study").

The chain's five stages train at their `cpu` configs (configs/*.py), in the order below, each in
a workdir named after it under the arm's folder. An ablation arm retrains only the stages its
change touches, at the main chain's step counts (equal budget per arm), and reuses the main
chain's other workdirs.
"""

import dataclasses
import math
from pathlib import Path

import ml_collections

from oldrestore.configuration import SHARED_DATA, load_config_module, with_overrides

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
CHAIN = ("detector", "vae2", "vae1", "mapping", "mapping_scratch")
DEPENDS_ON = {"mapping": ("vae1", "vae2"), "mapping_scratch": ("vae1", "vae2")}

# Seconds per step of each stage's cpu config on the 2-core machine the recipe was made on (an
# Intel Xeon; median of 8-10 steps with data, compilation excluded, nothing else running;
# 2026-11-27). The mappings and pix2pix dropped their VGG term since (configs/mapping.py): their
# seconds are the earlier ones times the ratio measured without and with it on a 2-core AMD EPYC
# (2026-12-06; benchmarks/train_steps.py --child): 0.39 (quality mapping), 0.71 (scratch), 0.37
# (pix2pix). They only turn minutes into steps.
SECONDS_PER_STEP = {
    "detector": 0.47,
    "vae2": 1.35,
    "vae1": 1.56,
    "mapping": 0.63,
    "mapping_scratch": 1.54,
    "pix2pix": 0.50,
}
# The recipe: the steps each stage trains at its cpu config. VAE2 reconstructs held-out clean
# photos at 24.5 dB from 980 steps; without the VGG term the scratch mapping restores better than
# its input on PSNR, SSIM and LPIPS, and better than the classical pipeline on SSIM and LPIPS; on
# PSNR too with the flip self-ensemble (0.06 dB short without it, 0.06 dB above with it: README,
# "Reproducing the study"). Its 3460 steps fill the 150-minute cap.
# The quality mapping's 1000 steps cost what its 400 did with the VGG term. A budget scales them
# all alike; RECIPE_MINUTES (what they cost, rounded up) gives them exactly.
RECIPE_STEPS = {"detector": 800, "vae2": 980, "vae1": 860, "mapping": 1000, "mapping_scratch": 3460}
RECIPE_MINUTES = math.ceil(sum(RECIPE_STEPS[s] * SECONDS_PER_STEP[s] for s in CHAIN) / 60.0)
STEP_MULTIPLE = 20  # the cpu configs log every 20 steps
DECAY_FRACTION = 1 / 3  # the last third of every run decays the learning rate linearly to 0


@dataclasses.dataclass(frozen=True)
class Arm:
    """One arm of the study: a name, what it changes ({stage: {field: value}}), and what the
    change answers."""

    name: str
    overrides: dict[str, dict[str, object]]
    question: str

    def retrains(self) -> tuple[str, ...]:
        """The stages this arm trains itself: the changed ones and everything downstream."""
        changed = set(self.overrides)
        if self.name == MAIN.name:
            return CHAIN
        for stage in CHAIN:  # CHAIN is in dependency order
            if changed & set(DEPENDS_ON.get(stage, ())):
                changed.add(stage)
        return tuple(stage for stage in CHAIN if stage in changed)


MAIN = Arm("chain", {}, "the paper's chain at the cpu recipe")
ABLATIONS = (
    Arm("no_latent_alignment", {"vae1": {"loss.latent_gan": 0.0}},
        "does the latent discriminator close the R/X gap and help real old photos?"),
    Arm("no_kl", {"vae1": {"loss.kl": 0.0}, "vae2": {"loss.kl": 0.0}},
        "does the KL term (a VAE, not a plain autoencoder) help R and X meet?"),
    Arm("no_partial_nonlocal", {"mapping_scratch": {"model.partial_nonlocal": False}},
        "does the partial non-local block help on photos with holes?"),
)
DIRECT = "pix2pix"  # the direct image-to-image baseline's stage
ABLATION_CHOICES = (*(arm.name for arm in ABLATIONS), DIRECT)  # what --ablations may name


@dataclasses.dataclass(frozen=True)
class Plan:
    budget_minutes: float
    steps: dict[str, int]  # per stage of the chain

    @classmethod
    def for_budget(cls, budget_minutes: float) -> "Plan":
        scale = budget_minutes / RECIPE_MINUTES
        return cls(budget_minutes, {stage: _multiple(RECIPE_STEPS[stage] * scale)
                                    for stage in CHAIN})

    def minutes(self, stage: str) -> float:
        return self.steps[stage] * SECONDS_PER_STEP[stage] / 60.0

    def baseline_steps(self) -> int:
        """The direct image-to-image baseline trains for the whole chain's budget."""
        return _steps_in(self.budget_minutes * 60.0, "pix2pix")


def _steps_in(seconds: float, stage: str) -> int:
    """The steps of `stage` that `seconds` pay for."""
    return _multiple(seconds / SECONDS_PER_STEP[stage])


def _multiple(steps: float) -> int:
    """`steps` down to a multiple of STEP_MULTIPLE (at least one multiple)."""
    return max(STEP_MULTIPLE, int(steps) // STEP_MULTIPLE * STEP_MULTIPLE)


@dataclasses.dataclass(frozen=True)
class Data:
    """The photo folders a study trains and scores on."""

    clean_dir: str = f"{SHARED_DATA}/clean"
    old_dir: str = f"{SHARED_DATA}/old"
    masks_dir: str = f"{SHARED_DATA}/masks"
    tfds_dir: str = "~/.cache/oldrestore/tfds"  # where the folders are prepared once


SHARED_PHOTOS = Data()  # ../shared/data, beside the checkout


def stage_config(stage: str, steps: int, workdirs: dict[str, Path],
                 overrides: dict[str, object] | None = None, variant: str = "cpu",
                 data: Data = SHARED_PHOTOS) -> ml_collections.ConfigDict:
    """configs/<stage>.py:<variant> for `steps` steps on `data`, its frozen VAEs taken from
    `workdirs`."""
    config = load_config_module(CONFIGS / f"{stage}.py").get_config(variant)
    fields = {"total_steps": steps, "ckpt_every_steps": max(STEP_MULTIPLE, steps // 4),
              "image_every_steps": steps, "data.clean_dir": data.clean_dir,
              "data.tfds_dir": data.tfds_dir}
    if stage == "vae1":  # the only stage that sees real old photos
        fields["data.old_dir"] = data.old_dir
    if "masks_dir" in config.data:
        fields["data.masks_dir"] = data.masks_dir
    for name in ("optim", "disc_optim"):
        if name in config:
            fields[f"{name}.decay_steps"] = int(steps * DECAY_FRACTION)
    for name in DEPENDS_ON.get(stage, ()):
        fields[f"frozen.{name}"] = str(workdirs[name])
    return with_overrides(config, {**fields, **(overrides or {})})
