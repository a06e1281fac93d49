"""Write a restoration bundle: the trained networks of a restoration chain in one safe file.

    python launch/export.py --checkpoints DIR --output FILE [--meta KEY=VALUE ...]

DIR holds the training workdirs vae1, vae2, mapping and/or mapping_scratch, and detector. The
bundle holds each mapping with the VAE checkpoints it was trained on, and the detector, with
their configs (msgpack: no pickle). `launch/restore.py --checkpoints FILE` reads it.
"""

import argparse
import sys
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoints", required=True, help="folder of stage workdirs")
    parser.add_argument("--output", required=True, help="the bundle file to write")
    parser.add_argument("--meta", nargs="*", default=[], metavar="KEY=VALUE",
                        help="recorded in the bundle (e.g. data=..., budget=...)")
    args = parser.parse_args(argv)
    if any("=" not in item for item in args.meta):
        parser.error("--meta takes KEY=VALUE items")
    from oldrestore.inference.weights import Workdirs, export_bundle
    from oldrestore.provenance import git_commit
    from oldrestore.runs import RunError

    meta = {"command": " ".join(sys.argv), "commit": git_commit(),
            **dict(item.split("=", 1) for item in args.meta)}
    try:
        if not Path(args.checkpoints).is_dir():
            raise RunError(f"{args.checkpoints}: no such folder")
        written = export_bundle(Workdirs(args.checkpoints), args.output, meta)
    except RunError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    size = Path(args.output).stat().st_size / 2**20
    print(f"wrote {args.output} ({size:.1f} MiB): {', '.join(written)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
