"""The study's numbers: every method's restorations scored with the evaluation suite (PSNR, SSIM,
LPIPS against the clean originals of the held-out synthetic photos; NIQE and BRISQUE on real
old photos), the VAEs' reconstructions, and VAE1's latent domain gap."""

from pathlib import Path

from oldrestore.evaluation import folders, latent_gap
from oldrestore.stages import EvaluationOptions, stage_spec

PAIRED = ("psnr", "ssim", "lpips_alex")
NO_REFERENCE = ("niqe", "brisque")


def paired(restored: Path, clean: Path, output: Path) -> dict:
    report = folders.evaluate(restored, output, reference=clean)
    return {m: report["paired_scores"][m] for m in PAIRED} | {"images": report["paired_images"]}


def no_reference(restored: Path, output: Path) -> dict:
    report = folders.evaluate(restored, output)
    return {m: report["restored_scores"][m] for m in NO_REFERENCE} | {"images": report["images"]}


def reconstruction(workdir: Path) -> dict:
    """A VAE's held-out reconstruction PSNR/SSIM at 256 px, per domain (eval/test.json)."""
    report = stage_spec(workdir.name).evaluate(workdir, EvaluationOptions(split="test", size=256))
    return {domain: {"psnr": v["psnr"], "ssim": v["ssim"], "images": v["images"]}
            for domain, v in report.items() if isinstance(v, dict)}


def domain_gap(vae1: Path, vae2: Path) -> dict:
    report = latent_gap.evaluate(vae1, vae2, split="test")
    return {"old_vs_synthetic": report["old_vs_synthetic"],
            "synthetic_vs_clean_vae2": report["synthetic_vs_clean_vae2"]}
