"""Score a trained model on held-out photos and write what to look at.

    python launch/evaluate.py --workdir=DIR [--split=test] [--max_images=N]
        stage-1 VAEs: reconstruction PSNR and SSIM (and grids), [--size=256]
        stage-2 mappings: PSNR and SSIM of restored versus clean, next to the degraded input's
        and VAE2's own reconstruction's, on held-out photos degraded as in training [--size=256]
        detector: pixel precision, recall, F1, IoU, ROC-AUC on held-out synthetic photos, and
        mask overlays of real photos given by --real_photos='GLOB[,GLOB...]'

Results go to DIR/eval/ (<split>.json and images) and are printed.
"""

import glob
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

_WORKDIR = flags.DEFINE_string("workdir", None, "A training workdir.")
_SPLIT = flags.DEFINE_enum("split", "test", ["train", "test"], "Which split to score.")
_SIZE = flags.DEFINE_integer("size", 256,
                             "VAEs and mappings: side of the centre crops (a multiple of 4).")
_MAX_IMAGES = flags.DEFINE_integer("max_images", None, "Score at most this many per domain.")
_REAL_PHOTOS = flags.DEFINE_list("real_photos", [], "Detector: globs of photos to overlay.")
flags.mark_flags_as_required(["workdir"])


def main(argv):
    from oldrestore.evaluation import detection, reconstruction, restoration
    from oldrestore.train.restore import load_config

    stage = load_config(_WORKDIR.value).stage
    if stage == "detector":
        photos = sorted(p for pattern in _REAL_PHOTOS.value for p in glob.glob(pattern))
        report = detection.evaluate(_WORKDIR.value, _SPLIT.value, _MAX_IMAGES.value, photos)
    elif stage.startswith("mapping"):
        report = restoration.evaluate(_WORKDIR.value, _SPLIT.value, _SIZE.value,
                                      _MAX_IMAGES.value)
    else:
        report = reconstruction.evaluate(_WORKDIR.value, _SPLIT.value, _SIZE.value,
                                         _MAX_IMAGES.value)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    app.run(main)
