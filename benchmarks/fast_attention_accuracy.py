"""How far the fast attention modes of the scratch mapping are from the exact one, measured on the
restored photo (VAE1 encoder -> scratch mapping -> VAE2 decoder).

    python benchmarks/fast_attention_accuracy.py [--sizes 256 512 1024] [--modes holes all/4096]
        [--photos 2] [--chain random|PATH]
        [--out benchmarks/results/fast_attention_accuracy.json]

Photos: clean photos from ../shared/data/clean (centre crop, resized), with real crack masks from
../shared/data/masks (resized, nearest) painted white, as the scratch mapping's training data
is. `--chain random`: the reference configuration at random init (VAE width 64, mapping width
512); `--chain PATH`: a trained chain, as launch/restore.py's --checkpoints (a folder holding the
workdirs vae1, vae2 and mapping_scratch, or a bundle).
A mode is `QUERIES[/K]`: ScratchMapping's attention_queries ("all" or "holes") and, after a
slash, its pooled_keys (keys pooled to at most K positions). Reported per size and mode: PSNR of
the fast restore against the exact restore (images in [0, 1]), the fractions of latent cells that
are holes and that get exact attention in "holes" mode, and the seconds of each restore (not a
benchmark: the machine may be busy).
"""

import argparse
import json
import os
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from chains import restore_chain
from PIL import Image

from oldrestore.data.images import list_images, load_rgb
from oldrestore.models.fast_attention import dilate
from oldrestore.models.nonlocal_block import latent_valid_mask

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def photo_and_mask(index: int, size: int):
    """(1, size, size, 3) in [-1, 1] with the holes painted white, and (1, size, size, 1)."""
    photo = Image.fromarray(load_rgb(list_images(DATA / "clean")[7 * index]))
    side = min(photo.size)
    left, top = (photo.width - side) // 2, (photo.height - side) // 2
    photo = photo.crop((left, top, left + side, top + side)).resize((size, size), Image.BICUBIC)
    mask_path = list_images(DATA / "masks")[11 * index]
    with Image.open(mask_path) as mask:
        mask = mask.convert("L").resize((size, size), Image.Resampling.NEAREST)
    mask = (np.asarray(mask) > 127).astype(np.float32)[None, ..., None]
    image = np.asarray(photo, np.float32)[None] / 127.5 - 1
    return np.where(mask > 0, 1.0, image).astype(np.float32), mask


def psnr(a, b) -> float:
    mse = float(np.mean(np.square((np.asarray(a) - np.asarray(b)) / 2)))  # [-1, 1] -> [0, 1]
    return float("inf") if mse == 0 else -10 * np.log10(mse)


def mapping_fields(mode: str) -> dict:
    queries, _, keys = mode.partition("/")
    return {"attention_queries": queries, "pooled_keys": int(keys or 0)}


def measure(chain_arg: str, sizes, modes, photos: int) -> list[dict]:
    rows = []
    for size in sizes:
        for index in range(photos):
            image, mask = photo_and_mask(index, size)
            restored = {}
            for mode in ("all", *modes):
                chain = restore_chain(chain_arg, **mapping_fields(mode))
                start = time.perf_counter()
                restored[mode] = np.asarray(chain(image, mask))
                restored[mode + "_seconds"] = time.perf_counter() - start
            latent = (size // 4, size // 4)
            holes = latent_valid_mask(jnp.asarray(mask), latent)[..., 0] == 0
            row = {
                "size": size,
                "photo": index,
                "hole_pixels": float(mask.mean()),
                "hole_cells": float(holes.mean()),
                "exact_cells_in_holes_mode": float(dilate(holes).mean()),
                "seconds": {m: restored[m + "_seconds"] for m in ("all", *modes)},
                "psnr_vs_exact": {m: psnr(restored[m], restored["all"]) for m in modes},
            }
            print(json.dumps(row), flush=True)
            rows.append(row)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    parser.add_argument("--modes", nargs="+", default=["holes", "all/4096", "holes/4096"])
    parser.add_argument("--photos", type=int, default=2)
    parser.add_argument("--chain", default="random")
    parser.add_argument(
        "--out", type=Path, default=Path("benchmarks/results/fast_attention_accuracy.json")
    )
    args = parser.parse_args()
    rows = measure(args.chain, args.sizes, args.modes, args.photos)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    record = {"chain": args.chain, "rows": rows,
              "load_average_1min": os.getloadavg()[0], "jax": jax.__version__}
    args.out.write_text(json.dumps(record, indent=2))
    for row in rows:
        scores = "  ".join(f"{m} {p:6.2f} dB" for m, p in row["psnr_vs_exact"].items())
        print(f"{row['size']:>5} photo {row['photo']} holes {row['hole_cells']:.1%} "
              f"exact cells {row['exact_cells_in_holes_mode']:.1%}  {scores}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
