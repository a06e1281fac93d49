"""The classical restoration pipeline the study compares against: OpenCV's non-local means
denoising, then Telea inpainting of the scratch mask (the same detected mask the chain's scratch
mode uses)."""

import cv2
import numpy as np

# Non-local means strengths for 8-bit photos: luminance and colour filter strengths, then OpenCV's
# recommended 7x7 template and 21x21 search windows.
NLM_LUMA, NLM_COLOR, NLM_TEMPLATE, NLM_SEARCH = 10, 10, 7, 21
INPAINT_RADIUS = 3  # pixels: Telea's neighbourhood


def classical_restore(rgb: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """uint8 H x W x 3 -> uint8 H x W x 3: denoised, then the mask's pixels (bool H x W, True =
    defect) inpainted."""
    denoised = cv2.fastNlMeansDenoisingColored(np.ascontiguousarray(rgb), None, NLM_LUMA,
                                               NLM_COLOR, NLM_TEMPLATE, NLM_SEARCH)
    if mask is None or not mask.any():
        return denoised
    return cv2.inpaint(denoised, mask.astype(np.uint8) * 255, INPAINT_RADIUS, cv2.INPAINT_TELEA)
