"""The face stage of a restoration: on the globally restored photo, find the faces, align each
to the face network's canvas, enhance it, and blend it back (oldrestore.faces does detection,
alignment and the feathered, colour-matched paste-back).

The canvas is 256 px, or 512 for the reference's HR setting (reference-implementation.md
section 9): the template is placed at that size and the aligned face is the generator's input at
its load size, as the reference's face loader gives it. A network runs only at the size it was
trained at: any other size is refused.
"""

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
from PIL import Image, ImageDraw

from oldrestore.faces import align_face, detect_faces, paste_back
from oldrestore.runs import RunError, Trained
from oldrestore.stages import stage_spec


@dataclasses.dataclass
class FaceResult:
    photo: np.ndarray  # uint8 H x W x 3, faces blended in
    boxes: list  # (x1, y1, x2, y2) per enhanced face
    landmarks: list  # (5, 2) per enhanced face
    aligned: list  # uint8 canvases before enhancement
    enhanced: list  # uint8 canvases after


def find_faces(photo: np.ndarray, min_face: int) -> list:
    """The faces of a uint8 photo whose box is at least `min_face` px, most confident first."""
    # MTCNN's search size grows with the photo, so a large scan's pyramid stays small.
    search = max(20.0, min(photo.shape[:2]) / 50.0)
    return detect_faces(photo, min_face_size=search, skip_smaller_than=min_face)


def mark_faces(photo: np.ndarray, boxes, landmarks) -> np.ndarray:
    """The photo with each box in red and its five landmarks in green."""
    marked = Image.fromarray(photo.copy())
    draw = ImageDraw.Draw(marked)
    width = max(2, round(min(photo.shape[:2]) / 250))
    for box, points in zip(boxes, landmarks, strict=True):
        draw.rectangle([float(v) for v in box], outline=(255, 0, 0), width=width)
        for x, y in np.asarray(points):
            draw.ellipse((x - width, y - width, x + width, y + width), fill=(0, 255, 0))
    return np.asarray(marked)


class FaceEnhancer:
    """size: the face canvas in pixels (256; 512: HR), which the face network must have been
    trained at; None: the size it was trained at. min_face: faces whose box is smaller than this
    many pixels are left alone."""

    def __init__(self, trained: Trained, size: int | None = None, min_face: int = 32):
        trained_size = trained.config.data.crop_size
        size = trained_size if size is None else size
        if size != trained_size:
            raise RunError(f"the face network was trained at {trained_size} px, not at the face "
                           f"size {size} asked for (--face_size {trained_size} runs it)")
        self.generator = stage_spec("face").networks(trained.config)["generator"]
        self.variables = jax.device_put(trained.variables["generator"])
        self.size = size
        self.min_face = min_face
        self._enhance = jax.jit(functools.partial(self.generator.apply, train=False))

    def __call__(self, photo: np.ndarray) -> FaceResult:
        """photo: uint8 H x W x 3."""
        faces = find_faces(photo, self.min_face)
        result = FaceResult(photo=photo, boxes=[], landmarks=[], aligned=[], enhanced=[])
        matrices = []
        for face in faces:
            aligned, matrix = align_face(photo, face.landmarks, self.size)
            x = jnp.asarray(aligned, jnp.float32)[None] / 127.5 - 1.0
            enhanced = np.asarray(self._enhance(self.variables, x)[0])
            result.enhanced.append(np.round((np.clip(enhanced, -1, 1) + 1) * 127.5).astype(
                np.uint8))
            result.aligned.append(aligned)
            result.boxes.append([float(v) for v in face.box])
            result.landmarks.append(np.asarray(face.landmarks).tolist())
            matrices.append(matrix)
        if matrices:
            result.photo = paste_back(photo, result.enhanced, matrices)
        return result
