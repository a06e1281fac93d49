"""Restore old photos: a photo or a folder of photos, in one process.

    python launch/restore.py --input PATH --output DIR [--with_scratch] [--masks DIR]
        [--with_faces [--face_size 256|512] [--min_face 32]] [--checkpoints DIR_OR_BUNDLE]
        [--chroma_sigma S] [--[no-]flip_ensemble] [--save_intermediate] [--max_megapixels 40]

Quality mode (default): VAE1 encoder -> quality mapping -> VAE2 decoder. --with_scratch: the
scratch detector (or --masks DIR: one mask per photo with the same stem, white = defect) and the
scratch mapping. --chroma_sigma: the restored detail in the input's colours, its chroma smoothed
by S pixels (0: the chain's own colours, as the reference; default: the weights' config, 3 for
the shipped weights; oldrestore/inference/colour.py says why). --flip_ensemble: the mean of the
photo's restoration and its mirror image's, twice the time (default: the weights' config).
--with_faces: then each face found is aligned, enhanced by the face network and blended back;
--face_size: the face canvas, 256 or the reference's HR 512, which the weights' face network must
have been trained at (default: the size it was trained at). --checkpoints: a folder holding the
training workdirs vae1, vae2, mapping, mapping_scratch, detector, face, or a bundle written by
launch/export.py; default: the weights shipped with the package. Writes DIR/<stem>.png (same
size, orientation, gray or colour, bit depth), DIR/report.json, and with --save_intermediate
DIR/intermediate/.
Exit code 1 if any photo failed.
"""

import argparse
import sys
from pathlib import Path

from oldrestore.console import quiet_libraries

quiet_libraries()  # before orbax is imported


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True, help="a photo or a folder of photos")
    parser.add_argument("--output", required=True, help="the folder to write the results in")
    parser.add_argument("--with_scratch", action="store_true",
                        help="find and fill scratches (the scratch mapping)")
    parser.add_argument("--masks", default=None,
                        help="folder of your own masks (same stem as each photo, white = "
                             "defect); implies --with_scratch")
    parser.add_argument("--checkpoints", default=None,
                        help="folder of stage workdirs, or a bundle (default: shipped weights)")
    parser.add_argument("--attention", choices=("holes", "all"), default=None,
                        help="scratch mode: 'holes' (fast: exact where the holes read it, "
                             "69-74 dB from exact) or 'all' (exact); default: the config's")
    parser.add_argument("--pooled_keys", type=int, default=None,
                        help="scratch mode, huge scans: pool the attention's keys to at most "
                             "this many positions (an approximation; 0 = off)")
    parser.add_argument("--chroma_sigma", type=float, default=None,
                        help="keep the input's colours, smoothed by this many pixels; 0 = the "
                             "chain's own colours (as the reference); default: the weights'")
    parser.add_argument("--flip_ensemble", action=argparse.BooleanOptionalAction, default=None,
                        help="average the restorations of the photo and of its mirror image "
                             "(twice the time); default: the weights' config")
    parser.add_argument("--with_faces", action="store_true",
                        help="enhance the faces found in the restored photo (the face network)")
    parser.add_argument("--face_size", type=int, default=None,
                        help="--with_faces: the face canvas in pixels, 256 or 512 (HR); the face "
                             "network must have been trained at it")
    parser.add_argument("--min_face", type=int, default=32,
                        help="--with_faces: faces smaller than this many pixels are left alone")
    parser.add_argument("--save_intermediate", action="store_true",
                        help="also write masks, overlays and before/after pairs")
    parser.add_argument("--max_megapixels", type=float, default=40.0,
                        help="photos larger than this are refused (memory)")
    args = parser.parse_args(argv)
    if args.chroma_sigma is not None and args.chroma_sigma < 0:
        parser.error(f"--chroma_sigma: {args.chroma_sigma:g} is negative (0 turns it off)")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    import jax

    if not jax.config.jax_compilation_cache_dir:
        # Compiled programs are kept between runs: a size bucket seen before starts at once.
        jax.config.update("jax_compilation_cache_dir",
                          str(Path("~/.cache/oldrestore/jax").expanduser()))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 1.0)
    from oldrestore.inference import pipeline
    from oldrestore.inference.faces import FaceEnhancer
    from oldrestore.inference.restore import Restorer
    from oldrestore.inference.weights import load_chain, open_weights
    from oldrestore.runs import RunError

    scratch = args.with_scratch or args.masks is not None
    options = pipeline.Options(masks_dir=Path(args.masks) if args.masks else None,
                               save_intermediate=args.save_intermediate,
                               max_pixels=int(args.max_megapixels * 1e6))
    output = Path(args.output)
    try:
        inputs = pipeline.input_photos(args.input)
        pipeline.check_output_folder(args.input, output)
        if options.masks_dir is not None and not options.masks_dir.is_dir():
            raise pipeline.InputError(f"{options.masks_dir}: no such folder (--masks)")
        weights = open_weights(args.checkpoints)
        if "warning" in weights.meta:
            print(f"note: {weights.meta['warning']}", file=sys.stderr)
        restorer = Restorer(*load_chain(weights, scratch), attention_queries=args.attention,
                            pooled_keys=args.pooled_keys, chroma_sigma=args.chroma_sigma,
                            flip_ensemble=args.flip_ensemble)
        detector = faces = None
        if scratch and options.masks_dir is None:
            detector = pipeline.Detector(weights.load("detector"), options)
        if args.with_faces:
            faces = FaceEnhancer(weights.load("face"), size=args.face_size,
                                 min_face=args.min_face)
    except (pipeline.InputError, RunError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    report = pipeline.restore_all(inputs, output, restorer, detector, faces, options,
                                  weights=str(weights.path))
    failed = report["failed"]
    print(f"restored {len(inputs) - failed} of {len(inputs)} photos into {output}"
          + (f"; {failed} failed (see {output / 'report.json'})" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
