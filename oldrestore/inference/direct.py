"""Restoring photos of any size with the direct baseline (the pix2pix stage): reflect-padded up to
the U-Net's size multiple, restored in one pass (two with the flip ensemble, as the chain's),
cropped back. One compilation per padded shape.
"""

import functools
from pathlib import Path

import jax
import numpy as np

from oldrestore import runs
from oldrestore.data.images import load_rgb
from oldrestore.inference.flip import mean_with_mirror
from oldrestore.inference.pipeline import check_output_folder, input_photos, output_names
from oldrestore.inference.tiling import padded_shape, reflect_pad_to
from oldrestore.models.pix2pix_unet import Pix2PixUNet
from oldrestore.outputs import to_uint8, write_png_atomically
from oldrestore.stages import stage_spec

STAGE = "pix2pix"


@functools.partial(jax.jit, static_argnames="network")
def _restore(network: Pix2PixUNet, variables, x):
    return network.apply(variables, x[None])[0]


def restore_direct(variables, network: Pix2PixUNet, image: np.ndarray,
                   flip_ensemble: bool = False) -> np.ndarray:
    """uint8 H x W x 3 photo -> the restored uint8 H x W x 3 photo. variables: the generator's
    flax variables (`runs.load(workdir).variables["generator"]`); flip_ensemble: the mean with
    the mirror image's restoration (flip.py), as the chain's."""
    once = functools.partial(_restore_once, variables, network)
    x = np.asarray(image, np.float32) / 127.5 - 1.0
    return to_uint8(mean_with_mirror(once, x) if flip_ensemble else once(x))


def _restore_once(variables, network: Pix2PixUNet, x: np.ndarray) -> np.ndarray:
    """[-1, 1] float H x W x 3 -> the network's [-1, 1] output, padded to its size multiple and
    cropped back."""
    height, width = x.shape[:2]
    x = reflect_pad_to(x, *padded_shape(height, width, network.multiple))
    return np.asarray(_restore(network, variables, x))[:height, :width]


def restore_folder(workdir, input_dir, output_dir, step: int | None = None) -> list[Path]:
    """Restores every photo of `input_dir` with the pix2pix run in `workdir` (its latest
    checkpoint, or `step`) into `output_dir` as <stem>.png, with the flip ensemble if its config
    says so (model.inference_flip_ensemble); returns the written paths."""
    trained = runs.load(workdir, step)
    if trained.stage != STAGE:
        raise runs.RunError(f"{workdir}: is a {trained.stage} run, not a {STAGE} run")
    network = stage_spec(STAGE).networks(trained.config)["generator"]
    variables = jax.device_put(trained.variables["generator"])
    flip_ensemble = trained.config.model.get("inference_flip_ensemble", False)
    photos, output = input_photos(input_dir), Path(output_dir)
    check_output_folder(input_dir, output)
    output.mkdir(parents=True, exist_ok=True)
    written = []
    for path, name in output_names(photos).items():
        restored = restore_direct(variables, network, load_rgb(path), flip_ensemble)
        write_png_atomically(output / name, restored)
        written.append(output / name)
    return written
