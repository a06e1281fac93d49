"""launch/reproduce.py's study, end to end at smoke scale on a few photos: it trains the chain,
scores every method on the same held-out photos, writes the report and a loadable bundle, and a
second run reproduces the first one's numbers."""

import json

import jax
import numpy as np
import pytest
from PIL import Image

from oldrestore.data.folder_dataset import split_of
from oldrestore.data.sources import embedded_photo_paths
from oldrestore.study.classical import classical_restore
from oldrestore.study.plan import ABLATIONS, CHAIN, MAIN, Data, Plan
from oldrestore.study.reproduce import PlanMismatch, reproduce

pytestmark = pytest.mark.usefixtures("fast_compile")


def _photo_folder(folder, size, count_per_split=2):
    """`count_per_split` photos in each split (names chosen by their hash), cut from the
    embedded sample photos."""
    folder.mkdir()
    sources = [Image.open(p).convert("RGB") for p in embedded_photo_paths()]
    wanted = {"train": count_per_split, "test": count_per_split}
    i = 0
    while any(wanted.values()):
        name = f"photo{i:03d}.png"
        split = split_of(name)
        if wanted[split]:
            sources[i % len(sources)].resize(size).save(folder / name)
            wanted[split] -= 1
        i += 1
    return folder


def _masks_folder(folder):
    folder.mkdir()
    mask = np.zeros((64, 64), np.uint8)
    mask[:, 30:33] = 255
    Image.fromarray(mask).save(folder / "line.png")
    return folder


def test_arms_retrain_what_their_change_touches():
    assert MAIN.retrains() == CHAIN
    retrains = {arm.name: arm.retrains() for arm in ABLATIONS}
    assert retrains["no_latent_alignment"] == ("vae1", "mapping", "mapping_scratch")
    assert retrains["no_kl"] == ("vae2", "vae1", "mapping", "mapping_scratch")
    assert retrains["no_partial_nonlocal"] == ("mapping_scratch",)


def test_budget_becomes_fixed_step_counts():
    small, large = Plan.for_budget(30), Plan.for_budget(120)
    assert small == Plan.for_budget(30)  # nothing depends on the machine or the clock
    for stage in CHAIN:
        assert small.steps[stage] % 20 == 0 and large.steps[stage] >= 3 * small.steps[stage]
    assert sum(large.minutes(stage) for stage in CHAIN) <= 120


def test_classical_pipeline_fills_the_mask_and_denoises():
    rng = np.random.default_rng(0)
    clean = np.tile(np.linspace(40, 200, 64, dtype=np.float32)[None, :, None], (64, 1, 3))
    noisy = np.clip(clean + rng.normal(0, 12, clean.shape), 0, 255).astype(np.uint8)
    mask = np.zeros((64, 64), bool)
    mask[20:24, :] = True
    noisy[mask] = 255
    restored = classical_restore(noisy, mask).astype(np.float32)
    assert restored.shape == noisy.shape
    assert np.abs(restored - clean)[~mask].mean() < np.abs(noisy - clean)[~mask].mean()
    assert np.abs(restored - clean)[mask].mean() < 20  # the white line is gone


@pytest.fixture(scope="module")
def study(tmp_path_factory, tfds_dir):
    root = tmp_path_factory.mktemp("study")
    data = Data(clean_dir=str(_photo_folder(root / "clean", (96, 80))),
                old_dir=str(_photo_folder(root / "old", (72, 64))),
                masks_dir=str(_masks_folder(root / "masks")), tfds_dir=str(tfds_dir))
    plan = Plan(budget_minutes=0.1, steps=dict.fromkeys(CHAIN, 2))
    output = root / "out"
    kwargs = dict(variant="smoke", data=data, say=lambda _: None, devices=jax.devices()[:1])
    first = reproduce(output, plan, **kwargs)
    return output, plan, kwargs, first


def test_study_writes_report_figures_and_bundle(study):
    output, _, _, results = study
    methods = set(results["synthetic"])
    assert {"degraded input", "classical (NLM + Telea)", "chain, quality mode",
            "chain, scratch mode"} <= methods
    assert all(s["images"] == 2 for s in results["synthetic"].values())
    assert all(np.isfinite(s["psnr"]) for s in results["synthetic"].values())
    assert {"input", "chain, scratch mode"} <= set(results["old"])
    assert results["latent_gap"]["chain"]["old_vs_synthetic"]["frechet"] >= 0.0
    report = (output / "results.md").read_text()
    for figure in ("synthetic.png", "old.png", "curves_chain_vae1.png"):
        assert (output / "figures" / figure).is_file() and f"figures/{figure}" in report
    assert "chain, scratch mode" in report
    from oldrestore.bundle import Bundle

    bundle = Bundle(output / "bundle.msgpack")
    assert {"vae1", "vae2", "mapping", "mapping_scratch", "detector"} <= set(bundle.stages())
    assert json.loads(bundle.meta["steps"]) == dict.fromkeys(CHAIN, 2)


def test_second_run_reproduces_the_numbers(study):
    output, plan, kwargs, first = study
    second = reproduce(output, plan, **kwargs)
    assert second["synthetic"] == first["synthetic"]
    assert second["old"] == first["old"]
    assert second["latent_gap"] == first["latent_gap"]


def test_another_budget_on_the_same_folder_is_refused(study):
    output, plan, kwargs, _ = study
    with pytest.raises(PlanMismatch, match="budget_minutes"):
        reproduce(output, Plan(1.0, dict.fromkeys(CHAIN, 4)), **kwargs)


def test_a_named_ablation_arm_trains_only_its_stage_and_joins_the_tables(study):
    """Last in this file: it adds an arm to the shared study folder."""
    output, plan, kwargs, first = study
    results = reproduce(output, plan, ablations=("no_partial_nonlocal",), **kwargs)
    assert sorted(p.name for p in (output / "no_partial_nonlocal").iterdir()
                  if p.is_dir()) == ["mapping_scratch", "restored"]
    assert "no_partial_nonlocal, scratch mode" in results["synthetic"]
    assert "no_partial_nonlocal, quality mode" not in results["synthetic"]  # the chain's mapping
    assert not any("pix2pix" in name or "direct" in name for name in results["synthetic"])
    assert results["synthetic"]["chain, scratch mode"] == first["synthetic"]["chain, scratch mode"]
    assert "--ablations no_partial_nonlocal`" in (output / "results.md").read_text()
    with pytest.raises(ValueError, match="unknown ablations"):
        reproduce(output, plan, ablations=("no_such_arm",), **kwargs)


def test_the_command_refuses_an_unknown_arm(capsys):
    from launch.reproduce import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--budget_minutes=1", "--output", "unused", "--ablations", "no_such_arm"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'no_such_arm'" in err and "no_latent_alignment" in err
