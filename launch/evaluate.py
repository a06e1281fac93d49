"""Score a trained model on held-out photos and write what to look at.

    python launch/evaluate.py --workdir=DIR [--split=test] [--max_images=N]
        stage-1 VAEs: reconstruction PSNR and SSIM (and grids), [--size=256]
        stage-2 mappings: PSNR and SSIM of restored versus clean, next to the degraded input's
        and VAE2's own reconstruction's, on held-out photos degraded as in training [--size=256]
        detector: pixel precision, recall, F1, IoU, ROC-AUC on held-out synthetic photos, and
        mask overlays of real photos given by --real_photos='GLOB[,GLOB...]'

Results go to DIR/eval/ (<split>.json and images) and are printed.

    python launch/evaluate.py --restored=DIR [--reference=DIR] [--with_mask=DIR
                              [--true_masks=DIR]] [--output=DIR]
        any folders of photos: NIQE and BRISQUE of each; with --reference, the reference's too,
        FD-VGG16 between the folders, and PSNR, SSIM, LPIPS of same-named photos; with
        --with_mask (a detector's masks) and --true_masks, pixel precision, recall, F1, IoU and
        ROC-AUC. Prints a table; writes summary.json, per_image.csv and index.html (thumbnails,
        worst first) to --output (default eval/<restored folder name>).

    python launch/evaluate.py --latent_gap=VAE1_WORKDIR [--vae2=VAE2_WORKDIR] [--split=test]
                              [--step=N]
        the latent domain gap of a VAE1 run: Frechet distance and linear-probe accuracy of its
        latents of real old photos against synthetic ones (and of synthetic ones against VAE2's
        latents of clean photos); written to VAE1_WORKDIR/eval/latent_gap_<split>_step<N>.json.
"""

import glob
import json

from oldrestore.console import quiet_libraries  # noqa: E402

quiet_libraries()  # before TensorFlow (tfds) and orbax are imported

from absl import app, flags  # noqa: E402

_WORKDIR = flags.DEFINE_string("workdir", None, "A training workdir.")
_SPLIT = flags.DEFINE_enum("split", "test", ["train", "test"], "Which split to score.")
_SIZE = flags.DEFINE_integer("size", 256,
                             "VAEs and mappings: side of the centre crops (a multiple of 4).")
_MAX_IMAGES = flags.DEFINE_integer("max_images", None, "Score at most this many per domain.")
_REAL_PHOTOS = flags.DEFINE_list("real_photos", [], "Detector: globs of photos to overlay.")
_RESTORED = flags.DEFINE_string("restored", None, "A folder of photos to score.")
_REFERENCE = flags.DEFINE_string("reference", None, "--restored: a folder of reference photos.")
_WITH_MASK = flags.DEFINE_string("with_mask", None, "--restored: a detector's masks (grey PNGs).")
_TRUE_MASKS = flags.DEFINE_string("true_masks", None, "--with_mask: the true masks.")
_OUTPUT = flags.DEFINE_string("output", None, "--restored: where to write the results.")
_LATENT_GAP = flags.DEFINE_string("latent_gap", None, "A VAE1 workdir whose latent gap to score.")
_VAE2 = flags.DEFINE_string("vae2", None, "--latent_gap: a VAE2 workdir, for the reference.")
_STEP = flags.DEFINE_integer("step", None, "--latent_gap: the VAE1 checkpoint (default: latest).")
flags.register_multi_flags_validator(
    ["workdir", "restored", "latent_gap"], lambda f: sum(v is not None for v in f.values()) == 1,
    message="give exactly one of --workdir, --restored, --latent_gap")


def _score_folders() -> None:
    from pathlib import Path

    from oldrestore.evaluation import folders

    output = _OUTPUT.value or Path("eval") / Path(_RESTORED.value).resolve().name
    try:
        report = folders.evaluate(_RESTORED.value, output, _REFERENCE.value, _WITH_MASK.value,
                                  _TRUE_MASKS.value)
    except FileNotFoundError as error:
        raise SystemExit(f"error: {error}") from None
    print(folders.summary_table(report))
    print(f"written to {output}/ (summary.json, per_image.csv, index.html)")


def _score_latent_gap() -> None:
    from pathlib import Path

    from oldrestore import runs
    from oldrestore.evaluation import latent_gap
    from oldrestore.outputs import write_json_atomically

    try:
        report = latent_gap.evaluate(_LATENT_GAP.value, _VAE2.value, _SPLIT.value, _SIZE.value,
                                     _MAX_IMAGES.value, _STEP.value)
    except runs.RunError as error:
        raise SystemExit(f"error: {error}") from None
    out_dir = Path(_LATENT_GAP.value) / "eval"
    out_dir.mkdir(exist_ok=True)
    write_json_atomically(out_dir / f"latent_gap_{_SPLIT.value}_step{report['vae1']['step']}.json",
                          report)
    print(json.dumps(report, indent=2))


def main(argv):
    quiet_libraries()  # again: parsing absl's flags set its logger back to INFO
    if _RESTORED.value is not None:
        return _score_folders()
    if _LATENT_GAP.value is not None:
        return _score_latent_gap()
    from oldrestore import runs
    from oldrestore.stages import EvaluationOptions, stage_spec

    try:
        spec = stage_spec(runs.load_config(_WORKDIR.value).stage)
    except (runs.RunError, ValueError) as error:
        raise SystemExit(f"error: {error}") from None
    photos = sorted(p for pattern in _REAL_PHOTOS.value for p in glob.glob(pattern))
    options = EvaluationOptions(split=_SPLIT.value, size=_SIZE.value,
                                max_images=_MAX_IMAGES.value, real_photos=tuple(photos))
    print(json.dumps(spec.evaluate(_WORKDIR.value, options), indent=2))


if __name__ == "__main__":
    app.run(main)
