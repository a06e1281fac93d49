"""Aligning a face to the reference's canonical template, and warping between the two frames.

The template is the reference's (its five points in a 512 frame, normalised to [-1, 1], spread by
1.3 about the centre, mapped to the canvas): at 256, eyes at (89, 108.5) and (167, 108.5), nose
(128, 147.5), mouth corners (104.6, 195.86) and (151.4, 195.86). The transform is the
least-squares similarity (Umeyama) from the template to the landmarks, i.e. crop -> photo, with
pixel centres at integer coordinates in both frames.
"""

import numpy as np
from scipy.ndimage import gaussian_filter
from skimage.transform import SimilarityTransform, warp

TEMPLATE_512 = np.array([[196.0, 226.0], [316.0, 226.0], [256.0, 286.0],
                         [220.0, 360.4], [292.0, 360.4]])
FACE_SCALE = 1.3


def template(size: int = 256) -> np.ndarray:
    """(5, 2) x, y of the five points on a size x size canvas."""
    normalised = (TEMPLATE_512.astype(np.float32) / 256 - 1).astype(np.float64)
    return (normalised * FACE_SCALE + 1) * size / 2


def face_transform(landmarks: np.ndarray, size: int = 256) -> np.ndarray:
    """3 x 3 similarity matrix mapping canvas (x, y) to photo (x, y)."""
    transform = SimilarityTransform.from_estimate(template(size), np.asarray(landmarks, float))
    if not transform:
        raise ValueError(f"degenerate landmarks {np.asarray(landmarks).tolist()}")
    return transform.params


def photo_pixels_per_canvas_pixel(matrix: np.ndarray) -> float:
    return float(np.sqrt(abs(np.linalg.det(matrix[:2, :2]))))


def square_bounds(matrix: np.ndarray, size: int, image_shape, margin: int = 0):
    """(top, left, bottom, right): the photo pixels the canvas square covers, plus a margin,
    clipped to the photo (empty when the square lies outside it)."""
    corners = np.array([[-1, -1, 1], [size, -1, 1], [-1, size, 1], [size, size, 1]], float)
    x, y = (corners @ matrix.T)[:, :2].T
    top, left = int(max(np.floor(y.min()) - margin, 0)), int(max(np.floor(x.min()) - margin, 0))
    bottom = int(min(np.ceil(y.max()) + margin + 1, image_shape[0]))
    right = int(min(np.ceil(x.max()) + margin + 1, image_shape[1]))
    return top, left, max(bottom, top), max(right, left)


def translation(dx: float, dy: float) -> np.ndarray:
    return np.array([[1.0, 0.0, dx], [0.0, 1.0, dy], [0.0, 0.0, 1.0]])


def warp_region(source: np.ndarray, out_to_source: np.ndarray, shape: tuple[int, int],
                order: int) -> np.ndarray:
    """float32 H x W (x C) warp: output pixel (x, y) samples `source` at out_to_source @ (x, y, 1);
    zero outside the source, values kept within the source's range."""
    return warp(source.astype(np.float32), out_to_source, output_shape=shape, order=order,
                preserve_range=True)


def align_face(image: np.ndarray, landmarks: np.ndarray,
               size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """The face as a size x size uint8 crop and the 3 x 3 matrix mapping crop (x, y) to photo
    (x, y), which `paste_back` takes."""
    matrix = face_transform(landmarks, size)
    return warp_to_canvas(image, matrix, size), matrix


def warp_to_canvas(image: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """The photo's pixels on the canvas: bilinear, black outside the photo, uint8.

    Where the face is larger in the photo than on the canvas, the photo is low-pass filtered first
    (Gaussian, sigma (s - 1) / 2 for s photo pixels per canvas pixel) so shrinking does not alias.
    Only the photo pixels under the canvas square are read.
    """
    sigma = max(photo_pixels_per_canvas_pixel(matrix) - 1, 0) / 2
    top, left, bottom, right = square_bounds(matrix, size, image.shape, int(3 * sigma) + 2)
    if bottom <= top or right <= left:
        return np.zeros((size, size) + image.shape[2:], np.uint8)
    region = image[top:bottom, left:right].astype(np.float32)
    if sigma > 0:
        region = gaussian_filter(region, sigma=(sigma, sigma) + (0,) * (image.ndim - 2))
    warped = warp_region(region, translation(-left, -top) @ matrix, (size, size), order=1)
    return np.clip(np.rint(warped), 0, 255).astype(np.uint8)


def inside_photo(matrix: np.ndarray, size: int, image_shape) -> np.ndarray:
    """size x size bool: canvas pixels whose nearest photo pixel exists."""
    y, x = np.mgrid[:size, :size]
    px, py = (np.stack([x, y, np.ones_like(x)], axis=-1) @ matrix.T)[..., :2].transpose(2, 0, 1)
    return ((px >= -0.5) & (px < image_shape[1] - 0.5) & (py >= -0.5)
            & (py < image_shape[0] - 0.5))
