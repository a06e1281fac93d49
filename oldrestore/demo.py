"""The main job on the embedded default, nothing to fetch: old-looking photos made from the sample
photos that ship with the install (make_dataset's degradation model), restored by a restoration
chain (the weights shipped with the package by default; quality mode, or scratch mode with the
detector's masks), and written as a before/after grid with the scores of both against the
originals."""

from pathlib import Path

import jax.numpy as jnp
import numpy as np
from PIL import Image

from oldrestore.data.degrade.dataset_writer import write_dataset
from oldrestore.data.sources import EMBEDDED, embedded_photo_paths
from oldrestore.evaluation.image_metrics import psnr, ssim
from oldrestore.inference import pipeline
from oldrestore.inference.restore import Restorer
from oldrestore.inference.weights import load_chain, open_weights
from oldrestore.study.figures import side_by_side

SEED = 0
CROP = 256


def _scores(folder: Path, clean: Path, stems: list[str]) -> tuple[float, float]:
    def stack(where):
        return jnp.asarray(np.stack([np.asarray(Image.open(where / f"{s}.png").convert("RGB"))
                                     for s in stems]), jnp.float32) / 255.0

    a, b = stack(folder), stack(clean)
    return float(psnr(a, b).mean()), float(ssim(a, b).mean())


def run_demo(output: Path, checkpoints: str | None = None, scratch: bool = False,
             say=print) -> dict:
    """Writes output/synthetic/{clean,degraded,mask}, output/restored and
    output/before_after.png; returns the mean PSNR/SSIM of the degraded and restored photos."""
    weights = open_weights(checkpoints)  # first: a missing bundle is one line, before any work
    if "warning" in weights.meta:
        say(f"note: {weights.meta['warning']}")
    synthetic = output / "synthetic"
    if not (synthetic / "done").is_file():
        write_dataset(synthetic, len(embedded_photo_paths()), SEED, clean_dir=EMBEDDED,
                      crop_size=CROP)
        (synthetic / "done").touch()
    restorer = Restorer(*load_chain(weights, scratch))
    detector = pipeline.Detector(weights.load("detector"), pipeline.Options()) if scratch else None
    photos = pipeline.input_photos(synthetic / "degraded")
    restored = output / "restored"
    say(f"restoring {len(photos)} old-looking photos with {weights.path} "
        f"({'scratch' if scratch else 'quality'} mode)")
    report = pipeline.restore_all(photos, restored, restorer, detector, None, pipeline.Options(),
                                  weights=str(weights.path))
    stems = [Path(e["output"]).stem for e in report["inputs"] if e["status"] == "ok"]
    grid = side_by_side({"old-looking (made)": synthetic / "degraded", "restored": restored,
                         "original": synthetic / "clean"}, stems, output / "before_after.png")
    scores = {"degraded": _scores(synthetic / "degraded", synthetic / "clean", stems),
              "restored": _scores(restored, synthetic / "clean", stems)}
    for name, (p, s) in scores.items():
        say(f"{name:>9}: PSNR {p:.2f} dB, SSIM {s:.3f} against the originals ({len(stems)} photos)")
    say(f"wrote {grid}")
    return scores
