"""The natural-scene statistics NIQE and BRISQUE share, as their MATLAB releases compute them
(Mittal, Moorthy and Bovik 2012; Mittal, Soundararajan and Bovik 2013): grey conversion, MATLAB's
bicubic imresize, mean-subtracted contrast-normalised (MSCN) coefficients, and moment-matching
fits of the generalised Gaussian (GGD) and its asymmetric form (AGGD). numpy, float64.
"""

import functools

import numpy as np
from scipy import ndimage, special

from oldrestore.data.pipeline import to_grayscale

# The releases search the shape parameter on this grid (MATLAB's 0.2:0.001:10).
SHAPE_GRID = 0.2 + 0.001 * np.arange(9801)


def grey(image) -> np.ndarray:
    """float64 [H, W] luma round(0.299 R + 0.587 G + 0.114 B) of an RGB uint8 image (a [H, W]
    array is taken as already grey)."""
    image = np.asarray(image)
    if image.ndim == 2:
        return image.astype(np.float64)
    return to_grayscale(image)[..., 0].astype(np.float64)


def _cubic(x):
    """Keys' cubic convolution kernel with a = -0.5, as MATLAB's imresize."""
    x = np.abs(x)
    return np.where(x <= 1, 1.5 * x**3 - 2.5 * x**2 + 1,
                    np.where(x <= 2, -0.5 * x**3 + 2.5 * x**2 - 4 * x + 2, 0.0))


@functools.cache
def _resize_matrix(in_length: int, out_length: int, scale: float) -> np.ndarray:
    """[out, in] weights of MATLAB's imresize along one axis: bicubic, antialiased when shrinking
    (the kernel stretched by 1/scale), borders mirrored (symmetric padding)."""
    kernel_scale = min(scale, 1.0)
    width = 4.0 / kernel_scale
    centres = np.arange(1, out_length + 1) / scale + 0.5 * (1 - 1 / scale)  # 1-based positions
    taps = np.floor(centres - width / 2)[:, None] + np.arange(int(np.ceil(width)) + 2)
    weights = kernel_scale * _cubic(kernel_scale * (centres[:, None] - taps))
    weights /= weights.sum(axis=1, keepdims=True)
    mirrored = np.concatenate([np.arange(in_length), np.arange(in_length)[::-1]])
    sources = mirrored[np.mod(taps.astype(int) - 1, 2 * in_length)]
    matrix = np.zeros((out_length, in_length))
    np.add.at(matrix, (np.repeat(np.arange(out_length), taps.shape[1]), sources.ravel()),
              weights.ravel())
    return matrix


def imresize(image: np.ndarray, scale: float) -> np.ndarray:
    """MATLAB's imresize(image, scale) of a float [H, W] image (bicubic; output ceil(H*scale) x
    ceil(W*scale)); no rounding, as the releases call it on doubles."""
    height, width = image.shape
    rows = _resize_matrix(height, int(np.ceil(height * scale)), scale)
    cols = _resize_matrix(width, int(np.ceil(width * scale)), scale)
    return rows @ image @ cols.T


@functools.cache
def gaussian_window(size: int = 7, sigma: float = 7 / 6) -> np.ndarray:
    """MATLAB's fspecial('gaussian', size, sigma), normalised to sum 1."""
    x = np.arange(size) - (size - 1) / 2
    window = np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / (2 * sigma**2))
    return window / window.sum()


def mscn(image: np.ndarray, border: str) -> tuple[np.ndarray, np.ndarray]:
    """(MSCN coefficients, local deviation) of a float [H, W] image: (I - mu) / (sigma + 1) with a
    7x7 Gaussian (sigma 7/6). border: "nearest" (NIQE's imfilter 'replicate') or "constant"
    (BRISQUE's filter2 'same', zeros outside)."""
    window = gaussian_window()
    mu = ndimage.correlate(image, window, mode=border)
    sigma = np.sqrt(np.abs(ndimage.correlate(image * image, window, mode=border) - mu * mu))
    return (image - mu) / (sigma + 1.0), sigma


@functools.cache
def _ggd_ratio() -> np.ndarray:
    g = SHAPE_GRID
    return special.gamma(1 / g) * special.gamma(3 / g) / special.gamma(2 / g) ** 2


def fit_ggd(values: np.ndarray) -> tuple[float, float]:
    """(shape alpha, standard deviation) of a zero-mean GGD by moment matching (BRISQUE's
    estimateggdparam)."""
    second = np.mean(values**2)
    ratio = second / np.mean(np.abs(values)) ** 2
    return float(SHAPE_GRID[np.argmin(np.abs(ratio - _ggd_ratio()))]), float(np.sqrt(second))


@functools.cache
def _aggd_ratio() -> np.ndarray:
    g = SHAPE_GRID
    return special.gamma(2 / g) ** 2 / (special.gamma(1 / g) * special.gamma(3 / g))


def fit_aggd(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(shape alpha, left std, right std) of an asymmetric GGD fitted to each row of `values`
    [..., N] by moment matching (estimateaggdparam of both releases). A side without samples
    gives NaN, as MATLAB's mean of nothing."""
    negative, positive = values < 0, values > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        left = np.sqrt(np.sum(values**2 * negative, -1) / np.sum(negative, -1))
        right = np.sqrt(np.sum(values**2 * positive, -1) / np.sum(positive, -1))
        ratio_lr = left / right
        r_hat = np.mean(np.abs(values), -1) ** 2 / np.mean(values**2, -1)
        r_norm = r_hat * (ratio_lr**3 + 1) * (ratio_lr + 1) / (ratio_lr**2 + 1) ** 2
    alpha = SHAPE_GRID[np.argmin((_aggd_ratio() - r_norm[..., None]) ** 2, axis=-1)]
    nan = np.isnan(r_norm)
    return np.where(nan, np.nan, alpha), left, right


def aggd_mean(alpha, left_scale, right_scale):
    """The AGGD's mean from its shape and its left and right scales (beta)."""
    return (right_scale - left_scale) * special.gamma(2 / alpha) / special.gamma(1 / alpha)


def std_to_scale(alpha):
    """Factor from a side's standard deviation to its AGGD scale beta."""
    return np.sqrt(special.gamma(1 / alpha) / special.gamma(3 / alpha))
