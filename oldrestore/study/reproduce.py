"""The whole study behind launch/reproduce.py: train the chain (and the chosen ablation arms and
the direct baseline) at the plan's step counts, restore the held-out photos with every method,
score them, draw them, write results.md and export the chain as a restoration bundle.

Training resumes; everything after it is recomputed on every call, so that a second call checks
the first one's numbers rather than reading them back.
"""

import json
import shutil
from pathlib import Path

from oldrestore.inference import pipeline
from oldrestore.inference.direct import restore_folder
from oldrestore.inference.weights import Workdirs, export_bundle
from oldrestore.outputs import write_json_atomically
from oldrestore.provenance import git_commit, software
from oldrestore.runs import load
from oldrestore.study import figures, methods, photos, scores
from oldrestore.study.deviations import deviations
from oldrestore.study.plan import (
    ABLATION_CHOICES,
    ABLATIONS,
    CHAIN,
    DIRECT,
    MAIN,
    RECIPE_STEPS,
    SECONDS_PER_STEP,
    SHARED_PHOTOS,
    Data,
    Plan,
    stage_config,
)
from oldrestore.study.report import write_report
from oldrestore.study.training import arm_workdirs, chain_jobs, train_jobs

GRID_PHOTOS = 6
DIRECT_LABEL = "direct U-Net (pix2pix-style)"


class PlanMismatch(ValueError):
    """The output folder was planned for another budget."""


def _check_plan(output: Path, plan: Plan, ablations: tuple[str, ...], variant: str) -> dict:
    """The plan, written to plan.json on the first run. Its "commit" is the code the plan was
    made (and its training started) with; a later run's own commit is "scored_at"."""
    record = {"budget_minutes": plan.budget_minutes, "steps": plan.steps, "variant": variant,
              "seconds_per_step": SECONDS_PER_STEP, "recipe_steps": RECIPE_STEPS,
              "commit": git_commit()}
    path = output / "plan.json"
    if path.is_file():
        planned = json.loads(path.read_text())
        if (planned["steps"], planned["variant"]) != (plan.steps, variant):
            raise PlanMismatch(f"{output}: was planned for --budget_minutes="
                               f"{planned['budget_minutes']:g} ({planned['variant']} configs); "
                               "use that, or another --output")
        record["commit"] = planned.get("commit", record["commit"])
    output.mkdir(parents=True, exist_ok=True)
    write_json_atomically(path, record)
    return record | {"ablations": list(ablations), "scored_at": git_commit()}


def _restore_arm(arm, output: Path, testset: Path, old: Path, masks: dict, say) -> dict:
    """{what: folder of restorations} for one arm; the folders are made afresh."""
    folder = output / arm.name / "restored"
    shutil.rmtree(folder, ignore_errors=True)
    # An arm's folder holds only what it retrains: restore from a view that finds the others.
    weights = _ArmWeights(arm, output, {stage: path.parent
                                        for stage, path in arm_workdirs(arm, output).items()})
    say(f"{arm.name}: restoring the held-out photos")
    restored = {
        "synthetic_scratch": methods.run_chain(weights, testset / "degraded",
                                               folder / "synthetic_scratch", masks["synthetic"]),
        "old_scratch": methods.run_chain(weights, old, folder / "old_scratch", masks["old"]),
    }
    if "quality" in _modes(arm):
        restored["synthetic_quality"] = methods.run_chain(weights, testset / "degraded",
                                                          folder / "synthetic_quality", None)
    return restored


def _modes(arm) -> tuple[str, ...]:
    """The restoration modes an arm changes: quality mode only if it retrains the quality
    mapping (otherwise its restorations are the chain's, to the last bit)."""
    return ("quality", "scratch") if "mapping" in arm.retrains() else ("scratch",)


class _ArmWeights(Workdirs):
    """Workdirs for an arm: each stage from the folder that trained it for this arm."""

    def __init__(self, arm, output: Path, folders: dict[str, Path]):
        super().__init__(output / arm.name)
        self.folders = folders

    def stages(self) -> list[str]:
        return [s for s, f in self.folders.items() if (f / s / "config.json").is_file()]

    def load(self, stage: str, step: int | None = None):
        return Workdirs(self.folders[stage]).load(stage, step)


def quality_notes(synthetic: dict) -> dict:
    """What the bundle says of itself: its scores on the held-out synthetic photos, and a warning
    that restore.py shows when they are worse than the input's."""
    def line(name):
        s = synthetic[name]
        return f"PSNR {s['psnr']:.2f} dB, SSIM {s['ssim']:.3f}, LPIPS {s['lpips_alex']:.3f}"

    chain, given = synthetic[f"{MAIN.name}, scratch mode"], synthetic["degraded input"]
    n = given["images"]
    notes = {"scores": f"on {n} held-out synthetic photos, scratch mode: "
                       f"{line(f'{MAIN.name}, scratch mode')}; their input: "
                       f"{line('degraded input')}"}
    if chain["psnr"] < given["psnr"] or chain["ssim"] < given["ssim"]:
        notes["warning"] = (f"these weights restore worse than doing nothing on {n} held-out "
                            f"synthetic photos ({notes['scores'].split(': ', 1)[1]}): a short CPU "
                            "training, for trying the pipeline, not for your photos")
    return notes


def reproduce(output: Path, plan: Plan, ablations: tuple[str, ...] = (), variant: str = "cpu",
              data: Data = SHARED_PHOTOS, say=print, devices=None) -> dict:
    """ablations: the arms (and DIRECT, the direct baseline) to train and score beside the chain,
    names from ABLATION_CHOICES; variant: the stages' config variant ("cpu"; the tests use
    "smoke"); devices: where to train (default: all)."""
    unknown = set(ablations) - set(ABLATION_CHOICES)
    if unknown:
        raise ValueError(f"unknown ablations {sorted(unknown)}; choose from {ABLATION_CHOICES}")
    record = _check_plan(output, plan, ablations, variant)
    budget_minutes = plan.budget_minutes
    arms = (MAIN, *(arm for arm in ABLATIONS if arm.name in ablations))
    with_direct = DIRECT in ablations
    jobs = [job for arm in arms for job in chain_jobs(arm, plan, output, variant, data)]
    if with_direct:  # the direct baseline trains for the chain's whole budget
        jobs.append((DIRECT, DIRECT, output / DIRECT,
                     stage_config(DIRECT, plan.baseline_steps(), {}, None, variant, data)))
    say(f"plan for {budget_minutes:g} minutes: " + ", ".join(
        f"{stage} {steps} steps" for stage, steps in plan.steps.items()))
    train_jobs(jobs, output / "timings.json", say, devices)

    testset = photos.synthetic_test_set(output, data.clean_dir)
    old = photos.real_old_photos(output, data.old_dir)
    detector = pipeline.Detector(load(output / MAIN.name / "detector"), pipeline.Options())
    masks = {"synthetic": photos.detect_masks(detector, testset / "degraded",
                                              testset / "detected"),
             "old": photos.detect_masks(detector, old, old.parent / "detected")}

    say("scoring the degraded inputs and the classical pipeline")
    baselines = output / "baselines"
    shutil.rmtree(baselines, ignore_errors=True)
    classical = {"synthetic": methods.run_classical(testset / "degraded",
                                                    baselines / "classical_synthetic",
                                                    masks["synthetic"]),
                 "old": methods.run_classical(old, baselines / "classical_old", masks["old"])}
    scoring = output / "scores"
    shutil.rmtree(scoring, ignore_errors=True)
    synthetic = {"degraded input": scores.paired(testset / "degraded", testset / "clean",
                                                 scoring / "input_synthetic"),
                 "classical (NLM + Telea)": scores.paired(classical["synthetic"],
                                                          testset / "clean",
                                                          scoring / "classical_synthetic")}
    real = {"input": scores.no_reference(old, scoring / "input_old"),
            "classical (NLM + Telea)": scores.no_reference(classical["old"],
                                                           scoring / "classical_old")}
    if with_direct:
        say("scoring the direct image-to-image baseline")
        for name, photos_in in (("synthetic", testset / "degraded"), ("old", old)):
            restore_folder(output / DIRECT, photos_in, baselines / f"{DIRECT}_{name}")
        synthetic[DIRECT_LABEL] = scores.paired(baselines / f"{DIRECT}_synthetic",
                                                testset / "clean", scoring / f"{DIRECT}_synthetic")
        real[DIRECT_LABEL] = scores.no_reference(baselines / f"{DIRECT}_old",
                                                 scoring / f"{DIRECT}_old")
    recon, gaps, folders_of = {}, {}, {}
    for arm in arms:
        restored = _restore_arm(arm, output, testset, old, masks, say)
        folders_of[arm.name] = restored
        say(f"{arm.name}: scoring")
        for mode in _modes(arm):
            synthetic[f"{arm.name}, {mode} mode"] = scores.paired(
                restored[f"synthetic_{mode}"], testset / "clean",
                scoring / f"{arm.name}_synthetic_{mode}")
        real[f"{arm.name}, scratch mode"] = scores.no_reference(
            restored["old_scratch"], scoring / f"{arm.name}_old_scratch")
        workdirs = arm_workdirs(arm, output)
        if arm is MAIN or {"vae1", "vae2"} & set(arm.retrains()):
            recon[arm.name] = {stage: scores.reconstruction(workdirs[stage])
                               for stage in ("vae1", "vae2")}
            gaps[arm.name] = scores.domain_gap(workdirs["vae1"], workdirs["vae2"])

    say("drawing the figures")
    figure_dir = output / "figures"
    figure_dir.mkdir(exist_ok=True)
    stems = sorted(p.stem for p in (testset / "degraded").iterdir())[:GRID_PHOTOS]
    main = folders_of[MAIN.name]
    direct = ({DIRECT: baselines / f"{DIRECT}_synthetic"} if with_direct else {})
    figures.side_by_side({"degraded": testset / "degraded", "detected mask": masks["synthetic"],
                          "classical": classical["synthetic"], **direct,
                          "chain (quality)": main["synthetic_quality"],
                          "chain (scratch)": main["synthetic_scratch"],
                          "clean": testset / "clean"}, stems, figure_dir / "synthetic.png")
    direct = ({DIRECT: baselines / f"{DIRECT}_old"} if with_direct else {})
    figures.side_by_side({"real old photo": old, "detected mask": masks["old"],
                          "classical": classical["old"], **direct,
                          "chain (scratch)": main["old_scratch"],
                          **{arm.name: folders_of[arm.name]["old_scratch"]
                             for arm in arms if arm is not MAIN}},
                         sorted(p.stem for p in old.iterdir()), figure_dir / "old.png")
    trained = [(f"{arm.name}/{stage}", output / arm.name / stage)
               for arm in arms for stage in arm.retrains()]
    trained += [(DIRECT, output / DIRECT)] if with_direct else []
    curves = {label: figures.training_curves(
                  workdir, figure_dir / f"curves_{label.replace('/', '_')}.png")
              for label, workdir in trained}

    bundle = output / "bundle.msgpack"
    contents = export_bundle(Workdirs(output / MAIN.name), bundle, {
        "command": f"python launch/reproduce.py --budget_minutes={budget_minutes:g}",
        "budget_minutes": f"{budget_minutes:g}", "steps": json.dumps(plan.steps),
        "data": f"{data.clean_dir} (clean photos, train split), {data.old_dir} (real old "
                f"photos, train split), {data.masks_dir} (defect masks): research-use images, so "
                "the weights are for research use",
        "commit": record["commit"], "scored_at": record["scored_at"],
        **quality_notes(synthetic)})
    results = {"plan": record, "timings": json.loads((output / "timings.json").read_text())
               if (output / "timings.json").is_file() else {},
               "software": software(), "synthetic": synthetic, "old": real,
               "reconstruction": recon, "latent_gap": gaps,
               "deviations": [row for stage in CHAIN for row in deviations(stage, variant)],
               "bundle": {"path": str(bundle), "contents": contents}}
    write_json_atomically(output / "results.json", results)
    write_report(output / "results.md", results, curves)
    say(f"wrote {output / 'results.md'}")
    return results
