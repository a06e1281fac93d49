"""results.md: the study's tables and figures, from its results dict (results.json)."""

import json
from pathlib import Path

from oldrestore.outputs import write_bytes_atomically


def _table(header: list[str], rows: list[list]) -> list[str]:
    def cell(value):
        return f"{value:.3f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return lines + [""]


def _best(rows: dict, metric: str, higher: bool) -> str:
    return (max if higher else min)(rows, key=lambda name: rows[name][metric])


def _ablations_flag(ablations) -> str:
    """The command's --ablations, from plan.json ([] when none; false in studies before the arms
    could be chosen)."""
    return " --ablations " + " ".join(ablations) if ablations else ""


def write_report(path: Path, results: dict, curves: dict[str, Path]) -> None:
    plan, synthetic, old = results["plan"], results["synthetic"], results["old"]
    folder = path.parent
    lines = ["# Reproduction study", "",
             f"`python launch/reproduce.py --budget_minutes={plan['budget_minutes']:g} "
             f"--output {folder.name}" + _ablations_flag(plan["ablations"]) + "`, "
             f"trained at commit `{plan['commit']}`, scored at `{plan['scored_at']}`.", "",
             "## Plan", "",
             "The budget was turned into these step counts before training (the recipe's, "
             "oldrestore/study/plan.py, scaled by the budget); planned minutes are from the "
             "seconds per step measured on a quiet 2-core machine, measured ones what it took "
             "here.", ""]
    timings = results["timings"]
    lines += _table(["stage", "steps", "planned min", "measured min (main chain)"], [
        [stage, steps, round(steps * plan["seconds_per_step"][stage] / 60, 1),
         timings.get(f"chain/{stage}", "-")] for stage, steps in plan["steps"].items()])

    n = next(iter(synthetic.values()))["images"]
    lines += ["## Held-out synthetic photos", "",
              f"{n} held-out clean photos (the test split of ../shared/data/clean), a 256 px crop "
              "of each, degraded by make_dataset's model at a fixed seed. Scratch mode and the "
              "classical pipeline fill the same detected masks. PSNR and SSIM: higher is better; "
              "LPIPS (AlexNet): lower is better.", ""]
    lines += _table(["method", "PSNR (dB)", "SSIM", "LPIPS"],
                    [[name, s["psnr"], s["ssim"], s["lpips_alex"]]
                     for name, s in synthetic.items()])
    lines += [f"Best PSNR: {_best(synthetic, 'psnr', True)}; best SSIM: "
              f"{_best(synthetic, 'ssim', True)}; best LPIPS: "
              f"{_best(synthetic, 'lpips_alex', False)}.", "",
              "![held-out synthetic photos](figures/synthetic.png)", ""]

    n_old = old["input"]["images"]
    lines += ["## Real old photos", "",
              f"{n_old} held-out real old photos (the test split of ../shared/data/old): no "
              "ground truth, so no-reference scores (lower is better for both; they measure "
              "naturalness, not faithfulness).", ""]
    lines += _table(["method", "NIQE", "BRISQUE"],
                    [[name, s["niqe"], s["brisque"]] for name, s in old.items()])
    lines += ["![real old photos](figures/old.png)", ""]

    if results["latent_gap"]:
        lines += ["## Latent domain gap of VAE1", "",
                  "Between VAE1's latents of real old photos E(R) and of synthetic ones E(X) "
                  "(held-out photos; per-photo channel means and deviations): the Frechet "
                  "distance and the held-out accuracy of a linear probe (0.5 = no gap). E(X) "
                  "against VAE2's E(Y) gives a scale.", ""]
        lines += _table(["arm", "FD R vs X", "probe R vs X", "FD X vs Y (VAE2)"], [
            [arm, g["old_vs_synthetic"]["frechet"], g["old_vs_synthetic"]["probe_accuracy"],
             g["synthetic_vs_clean_vae2"]["frechet"]]
            for arm, g in results["latent_gap"].items()])
    if results["reconstruction"]:
        lines += ["## VAE reconstructions", "",
                  "Held-out photos, 256 px centre crops, decoded from the posterior mean.", ""]
        rows = []
        for arm, stages in results["reconstruction"].items():
            for stage, domains in stages.items():
                for domain, s in domains.items():
                    rows.append([arm, stage, domain, s["images"], s["psnr"], s["ssim"]])
        lines += _table(["arm", "VAE", "photos", "n", "PSNR (dB)", "SSIM"], rows)

    lines += ["## The recipe against the reference configuration", "",
              f"Every field where a stage's `{plan['variant']}` config differs from the "
              "reference's, besides data paths, records and the steps above "
              "(oldrestore/study/deviations.py reads them from configs/*.py).", ""]
    lines += _table(["stage", "field", "reference", plan["variant"], "why", "measured effect"],
                    [[d["stage"], d["field"], d["reference"], d["cpu"], d["why"], d["effect"]]
                     for d in results["deviations"]])
    lines += ["## Training curves", ""]
    lines += [f"![{label}](figures/{Path(p).name})" for label, p in curves.items()] + [""]
    lines += ["## Configs, seeds, software", "",
              "Each stage's whole config (seed included) is its workdir's `config.json`: "
              + ", ".join(f"`{label}/config.json`" for label in curves) + ". The held-out "
              "synthetic photos use degradation seed 2020.", "",
              "```", json.dumps(results["software"], indent=1), "```", "",
              f"Restoration bundle: `{Path(results['bundle']['path']).name}` ("
              + ", ".join(results["bundle"]["contents"]) + ").", ""]
    write_bytes_atomically(path, "\n".join(lines).encode())
