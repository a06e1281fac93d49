"""A study's budget turned into fixed step counts, once, up front: the same command gives the same
steps (and so the same numbers) on any machine; only the wall time differs.

The chain's five stages train at their `cpu` configs (configs/*.py), in the order below, each in
a workdir named after it under the arm's folder. An ablation arm retrains only the stages its
change touches, at the main chain's step counts (equal budget per arm), and reuses the main
chain's other workdirs.
"""

import dataclasses
from pathlib import Path

import ml_collections

from oldrestore.configuration import SHARED_DATA, load_config_module, with_overrides

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
CHAIN = ("detector", "vae2", "vae1", "mapping", "mapping_scratch")
DEPENDS_ON = {"mapping": ("vae1", "vae2"), "mapping_scratch": ("vae1", "vae2")}

# Seconds per step of each stage's cpu config on the 2-core machine the recipe was made on
# (median of 8-10 steps with data, compilation excluded, nothing else running; 2026-11-27). They
# only turn minutes into steps.
SECONDS_PER_STEP = {
    "detector": 0.47,
    "vae2": 1.35,
    "vae1": 1.56,
    "mapping": 1.61,
    "mapping_scratch": 2.17,
    "pix2pix": 1.34,
}
# The chain's budget, shared out: the VAEs bound everything decoded (VAE2's reconstruction is the
# ceiling of every restoration), so they get most of it.
SHARES = {"detector": 0.08, "vae2": 0.28, "vae1": 0.28, "mapping": 0.16, "mapping_scratch": 0.20}
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
        return cls(budget_minutes, {stage: _steps_in(SHARES[stage] * budget_minutes * 60.0, stage)
                                    for stage in CHAIN})

    def minutes(self, stage: str) -> float:
        return self.steps[stage] * SECONDS_PER_STEP[stage] / 60.0

    def baseline_steps(self) -> int:
        """The direct image-to-image baseline trains for the whole chain's budget."""
        return _steps_in(self.budget_minutes * 60.0, "pix2pix")


def _steps_in(seconds: float, stage: str) -> int:
    """The steps of `stage` that `seconds` pay for, down to a multiple of STEP_MULTIPLE (at
    least one multiple)."""
    steps = int(seconds / SECONDS_PER_STEP[stage]) // STEP_MULTIPLE * STEP_MULTIPLE
    return max(STEP_MULTIPLE, steps)


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
