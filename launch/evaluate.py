"""Score a trained stage-1 VAE on held-out photos (PSNR, SSIM) and write reconstruction grids.

    python launch/evaluate.py --workdir=DIR [--split=test] [--size=256] [--max_images=N]
"""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

_WORKDIR = flags.DEFINE_string("workdir", None, "A stage-1 training workdir.")
_SPLIT = flags.DEFINE_enum("split", "test", ["train", "test"], "Which split to score.")
_SIZE = flags.DEFINE_integer("size", 256, "Side of the centre crops (a multiple of 4).")
_MAX_IMAGES = flags.DEFINE_integer("max_images", None, "Score at most this many per domain.")
flags.mark_flags_as_required(["workdir"])


def main(argv):
    from oldrestore.evaluation.reconstruction import evaluate

    report = evaluate(_WORKDIR.value, _SPLIT.value, _SIZE.value, _MAX_IMAGES.value)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    app.run(main)
