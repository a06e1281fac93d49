"""The flip self-ensemble (model.inference_flip_ensemble): a photo and its mirror image restore
with different errors, which their mean partly cancels. The chain and the direct baseline share
it, so that the study compares networks, not test-time tricks."""

import numpy as np


def mean_with_mirror(restore, *images) -> np.ndarray:
    """The mean of restore(*images) and of restore(*mirrored images) mirrored back; images are
    H x W (x C) arrays mirrored left to right, or None, passed through."""
    mirrored = [None if image is None else image[:, ::-1] for image in images]
    return (restore(*images) + restore(*mirrored)[:, ::-1]) / 2.0
