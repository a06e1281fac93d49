"""How well a trained face network enhances held-out faces: PSNR, SSIM and LPIPS (AlexNet) of the
enhanced face against the clean one, next to the degraded input's; a grid of degraded / enhanced /
clean; and before/after grids of real old faces (`data.old_faces_dir`, face crops) and of the faces
found in whole old photos (`data.old_photos_dir`), which have no clean truth.

Held-out faces are prepared as in training (face_data: aligned faces, or centre squares, at the
network's size) and degraded exactly as in training (pairs.degraded_pairs) with a fixed key per
batch; the real old faces are aligned (or squared) the same way. The network runs as the
reference runs it at inference: eval mode.
"""

import functools
import operator
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from oldrestore import runs
from oldrestore.data.aligned_faces import aligned_faces
from oldrestore.data.images import list_images, load_rgb
from oldrestore.evaluation.image_metrics import psnr, ssim
from oldrestore.evaluation.lpips import load_lpips_params, lpips
from oldrestore.evaluation.reconstruction import pad_batch
from oldrestore.outputs import image_grid, write_json_atomically, write_png_atomically
from oldrestore.stages import EvaluationOptions, face_networks
from oldrestore.train import face_stage, pairs
from oldrestore.train.face_data import face_square, held_out_faces

SCORED = ("degraded", "enhanced")
METRICS = ("psnr", "ssim", "lpips")
GRID_COLUMNS = 8
OLD_PHOTO_FACES = 32  # the first faces found in the whole old photos of `data.old_photos_dir`


def _scores(image, clean, lpips_params):
    """(psnr, ssim, lpips) per image of [-1, 1] `image` against `clean`."""
    image = jnp.clip(image, -1.0, 1.0)
    a, b = (image + 1.0) / 2.0, (clean + 1.0) / 2.0
    return psnr(a, b), ssim(a, b), lpips(image, clean, lpips_params)


def _in_batches(fn, images: np.ndarray, batch_size: int):
    """fn(padded uint8 batch, start) over `images` in batches, concatenated (padding dropped)."""
    results = []
    for start in range(0, len(images), batch_size):
        chunk = images[start:start + batch_size]
        out = jax.device_get(fn(pad_batch(chunk, batch_size), start))
        results.append(jax.tree.map(operator.itemgetter(slice(len(chunk))), out))
    return jax.tree.map(lambda *xs: np.concatenate(xs), *results)


def old_faces_grid(enhance, folder: str, size: int, path: Path, batch_size: int,
                   align: bool, max_faces: int | None = None) -> int:
    """Rows of old faces (the first `max_faces` found), each followed by its enhanced version;
    returns how many faces (none: no grid)."""
    found = []
    for photo_path in list_images(folder):
        photo = load_rgb(photo_path)
        found += aligned_faces(photo, size) if align else [face_square(photo, size)]
        if max_faces is not None and len(found) >= max_faces:
            break
    faces = np.array(found[:max_faces], np.uint8)
    if not len(faces):
        return 0
    enhanced = _in_batches(lambda images, _: enhance(images / 127.5 - 1.0), faces, batch_size)
    rows = {}
    for start in range(0, len(faces), GRID_COLUMNS):
        rows[f"old {start}"] = faces[start:start + GRID_COLUMNS] / 127.5 - 1.0
        rows[f"enhanced {start}"] = enhanced[start:start + GRID_COLUMNS]
    last = len(faces) % GRID_COLUMNS
    if last:  # image_grid wants full rows: pad the last pair with white
        for name in list(rows)[-2:]:
            rows[name] = np.concatenate([rows[name], np.ones((GRID_COLUMNS - last,
                                                               *rows[name].shape[1:]))])
    write_png_atomically(path, image_grid(rows, max_columns=GRID_COLUMNS))
    return len(faces)


def evaluate(workdir, options: EvaluationOptions, batch_size: int = 4) -> dict:
    """Scores the run in `workdir` on `options.split` (faces at the network's size, not
    `options.size`); writes eval/<split>.json, eval/<split>_faces.png and, when the config names
    real old faces, eval/old_faces.png."""
    split = options.split
    trained = runs.load(workdir)
    config = trained.config
    generator = face_networks(config)["generator"]
    net_state, lpips_params = trained.variables["generator"], load_lpips_params()
    size = config.data.crop_size

    @jax.jit  # weights are arguments: as constants they would slow compilation
    def enhance_with(net_state, degraded):
        return face_stage.enhance(generator, net_state, degraded)

    @jax.jit
    def score_with(net_state, lpips_params, images, start):
        key = jax.random.fold_in(jax.random.key(1234), start)
        degraded, clean = pairs.degraded_pairs(config, {"image": images}, key)
        enhanced = enhance_with(net_state, degraded)
        outputs = {"degraded": degraded, "enhanced": enhanced, "clean": clean}
        return outputs, {name: _scores(outputs[name], clean, lpips_params) for name in SCORED}

    faces = held_out_faces(config, split, options.max_images)
    enhance = functools.partial(enhance_with, net_state)
    outputs, scores = _in_batches(functools.partial(score_with, net_state, lpips_params), faces,
                                  batch_size)
    report = {"split": split, "size": size, "images": len(faces)}
    for name in SCORED:
        report[name] = {metric: float(np.mean(values))
                        for metric, values in zip(METRICS, scores[name], strict=True)}
    out_dir = Path(workdir) / "eval"
    out_dir.mkdir(exist_ok=True)
    grid_path = out_dir / f"{split}_faces.png"
    write_png_atomically(grid_path, image_grid(
        {name: outputs[name][:GRID_COLUMNS] for name in ("degraded", "enhanced", "clean")}))
    report["grid"] = str(grid_path)
    # (report key, folder field, align, most faces): face crops, then whole old photos.
    old_grids = (("old_faces", "old_faces_dir", config.data.get("align_faces", False), None),
                 ("old_photo_faces", "old_photos_dir", True, OLD_PHOTO_FACES))
    for key, field, align, most in old_grids:
        folder = config.data.get(field)
        if folder and Path(folder).is_dir():
            path = out_dir / f"{key}.png"
            report[key] = old_faces_grid(enhance, folder, size, path, batch_size, align, most)
            if report[key]:
                report[f"{key}_grid"] = str(path)
    write_json_atomically(out_dir / f"{split}.json", report)
    return report
