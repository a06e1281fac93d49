"""Comparing our NHWC outputs with the golden files' NCHW arrays."""

import numpy as np


def nhwc(x):
    return np.asarray(x).transpose(0, 2, 3, 1)


def assert_close(actual, expected, rtol):
    """Max-abs error relative to the largest expected magnitude (so that near-zero entries of a
    tensor are judged at the tensor's scale)."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    scale = max(np.abs(expected).max(), 1e-300)
    np.testing.assert_allclose(actual, expected, rtol=0, atol=rtol * scale)
