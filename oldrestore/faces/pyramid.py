"""MTCNN's first stage over an image pyramid, all levels packed into one canvas.

Running PNet level by level would compile it once per level shape (about half a second each on
CPU); packing the levels side by side into a canvas whose size is rounded up to a multiple of
`CANVAS_STEP` runs it once, compiled once per canvas size. PNet is fully convolutional, so every
output cell whose 12x12 window lies inside one level is exactly the level's own output, provided
each level starts at an even offset (the 2x2 pool's phase) and conv1 outputs outside the levels
are masked out before the pool (as the pool's own padding would be).
"""

import math

import cv2
import numpy as np

from oldrestore.faces import mtcnn_nets

CANVAS_STEP = 128
WINDOW = 12  # PNet's receptive field, the smallest face it sees at a level
STRIDE = 2


def pyramid_scales(height: int, width: int, min_face_size: float, factor: float) -> list[float]:
    """Scales at which a min_face_size face becomes 12 px, then smaller by `factor` each level
    while the short side stays at least 12 px."""
    first = WINDOW / min_face_size
    scales = []
    short = min(height, width) * first
    while short >= WINDOW:
        scales.append(first * factor ** len(scales))
        short *= factor
    return scales


def normalise(pixels: np.ndarray) -> np.ndarray:
    """uint8-range pixels to MTCNN's input range: (v - 127.5) / 128."""
    return ((pixels - 127.5) * 0.0078125).astype(np.float32)


def level_input(image: np.ndarray, scale: float) -> np.ndarray:
    """One pyramid level as PNet takes it: resized (area), normalised, transposed."""
    height, width = image.shape[:2]
    size = (math.ceil(width * scale), math.ceil(height * scale))
    return normalise(cv2.resize(image, size, interpolation=cv2.INTER_AREA)).swapaxes(0, 1)


def _round_up(n: int, step: int) -> int:
    return -(-n // step) * step


def _pack(shapes: list[tuple[int, int]]) -> tuple[list[tuple[int, int]], tuple[int, int]]:
    """Shelf packing of decreasing rectangles: (offsets, canvas shape); offsets even."""
    width = _round_up(shapes[0][1], CANVAS_STEP)
    shelves = []  # [top, height, used width]
    offsets = []
    for rows, cols in shapes:
        shelf = next((s for s in shelves if s[1] >= rows and width - s[2] >= cols), None)
        if shelf is None:
            top = shelves[-1][0] + shelves[-1][1] if shelves else 0
            shelf = [top, _round_up(rows, 2), 0]
            shelves.append(shelf)
        offsets.append((shelf[0], shelf[2]))
        shelf[2] += _round_up(cols, 2)
    return offsets, (_round_up(shelves[-1][0] + shelves[-1][1], CANVAS_STEP), width)


def pnet_pyramid(image: np.ndarray, scales: list[float]):
    """PNet's outputs at every scale: a list of (box offsets (W', H', 4), face probability
    (W', H')), both indexed [x, y] like the networks' transposed input."""
    levels = [level_input(image, scale) for scale in scales]
    offsets, canvas_shape = _pack([level.shape[:2] for level in levels])
    canvas = np.zeros((*canvas_shape, 3), np.float32)
    valid = np.zeros((canvas_shape[0] - 2, canvas_shape[1] - 2), bool)  # conv1 output frame
    for level, (top, left) in zip(levels, offsets, strict=True):
        rows, cols = level.shape[:2]
        canvas[top:top + rows, left:left + cols] = level
        valid[top:top + rows - 2, left:left + cols - 2] = True
    boxes, probs = mtcnn_nets.pnet(mtcnn_nets.load_params(), canvas[None], valid[None])
    boxes, probs = np.asarray(boxes[0]), np.asarray(probs[0])
    outputs = []
    for level, (top, left) in zip(levels, offsets, strict=True):
        rows, cols = (math.ceil((n - 2) / 2) - 4 for n in level.shape[:2])
        cells = np.s_[top // 2:top // 2 + rows, left // 2:left // 2 + cols]
        outputs.append((boxes[cells], probs[cells]))
    return outputs
