"""The main job, on the embedded default: make old-looking photos from the sample photos that ship
with the install, restore them with the default weights shipped with the package, and write a
before/after grid.

    python launch/demo.py --output DIR [--with_scratch] [--checkpoints DIR_OR_BUNDLE]

Writes DIR/synthetic/ (originals, old-looking photos, defect masks), DIR/restored/ and
DIR/before_after.png, and prints the PSNR/SSIM of the old-looking and restored photos.
"""

import argparse
import sys
from pathlib import Path

from oldrestore.console import quiet_libraries

quiet_libraries()  # before TensorFlow (tfds) is imported


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", required=True, help="where everything is written")
    parser.add_argument("--checkpoints", default=None,
                        help="a folder of stage workdirs or a bundle (default: shipped weights)")
    parser.add_argument("--with_scratch", action="store_true",
                        help="scratch mode: the detector's masks and the scratch mapping")
    args = parser.parse_args(argv)
    from oldrestore.demo import run_demo
    from oldrestore.runs import RunError

    try:
        run_demo(Path(args.output), args.checkpoints, args.with_scratch)
    except RunError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
