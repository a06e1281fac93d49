"""Baseline JPEG compression round trip in jnp, as libjpeg (and so PIL) does it with 4:2:0 chroma
subsampling: quality is a traced integer, shapes are static."""

import jax
import jax.numpy as jnp
import numpy as np

from oldrestore.data.degrade.color import RGB_TO_YCBCR, YCBCR_TO_RGB
from oldrestore.data.degrade.sampling import as_integer, draw

# The IJG standard quantisation tables (JPEG Annex K), in natural (row-major) order.
_LUMA_TABLE = np.array([
    [16, 11, 10, 16, 24, 40, 51, 61],
    [12, 12, 14, 19, 26, 58, 60, 55],
    [14, 13, 16, 24, 40, 57, 69, 56],
    [14, 17, 22, 29, 51, 87, 80, 62],
    [18, 22, 37, 56, 68, 109, 103, 77],
    [24, 35, 55, 64, 81, 104, 113, 92],
    [49, 64, 78, 87, 103, 121, 120, 101],
    [72, 92, 95, 98, 112, 100, 103, 99],
])
_CHROMA_TABLE = np.full((8, 8), 99)
_CHROMA_TABLE[:4, :4] = [
    [17, 18, 24, 47],
    [18, 21, 26, 66],
    [24, 26, 56, 99],
    [47, 66, 99, 99],
]


def _dct_matrix() -> np.ndarray:
    """The orthonormal 8-point DCT-II: row u holds c(u) cos((2i + 1) u pi / 16)."""
    u, i = np.meshgrid(np.arange(8), np.arange(8), indexing="ij")
    matrix = np.sqrt(2 / 8) * np.cos((2 * i + 1) * u * np.pi / 16)
    matrix[0] /= np.sqrt(2)
    return matrix


_DCT = _dct_matrix().astype(np.float32)


def quantization_table(base, quality):
    """libjpeg's jpeg_set_quality with baseline limits: integer scale 5000 / q below 50, else
    200 - 2 q, entries (t * scale + 50) // 100 clipped to [1, 255]."""
    scale = jnp.where(quality < 50, 5000 // quality, 200 - 2 * quality)
    return jnp.clip((jnp.asarray(base) * scale + 50) // 100, 1, 255).astype(jnp.float32)


def _quantize_blocks(plane, table):
    """DCT of each 8 x 8 block of the H x W `plane`, quantised by `table` and transformed back."""
    height, width = plane.shape
    blocks = plane.reshape(height // 8, 8, width // 8, 8)
    coefficients = jnp.einsum("ui,aibj,vj->aubv", _DCT, blocks, _DCT)
    table = table[None, :, None, :]
    coefficients = jnp.round(coefficients / table) * table
    blocks = jnp.einsum("ui,aubv,vj->aibj", _DCT, coefficients, _DCT)
    return blocks.reshape(height, width)


def jpeg_compress(image, quality):
    """Encodes and decodes the H x W x 3 `image` (in [0, 1]) as JPEG at integer `quality`."""
    height, width = image.shape[:2]
    # libjpeg pads partial 16 x 16 macroblocks by repeating the edge pixels.
    padded = jnp.pad(image, ((0, -height % 16), (0, -width % 16), (0, 0)), mode="edge")
    ycc = padded * 255.0 @ RGB_TO_YCBCR.T  # level-shifted: Y - 128 and Cb, Cr centred on 0
    luma = _quantize_blocks(ycc[..., 0] - 128.0, quantization_table(_LUMA_TABLE, quality))

    full_h, full_w = luma.shape
    chroma = ycc[..., 1:].reshape(full_h // 2, 2, full_w // 2, 2, 2).mean(axis=(1, 3))  # 4:2:0
    chroma_table = quantization_table(_CHROMA_TABLE, quality)
    chroma = jnp.stack([_quantize_blocks(chroma[..., c], chroma_table) for c in range(2)], -1)
    # libjpeg's decoder upsamples chroma with a triangle filter: bilinear at half-pixel offsets.
    chroma = jax.image.resize(chroma, (full_h, full_w, 2), method="linear")

    ycc = jnp.concatenate([luma[..., None] + 128.0, chroma], axis=-1)
    rgb = ycc @ YCBCR_TO_RGB.T / 255.0
    return jnp.clip(rgb[:height, :width], 0.0, 1.0)


def random_jpeg(key, image, cfg):
    """JPEG at a quality drawn uniformly from the integers of `cfg.quality_range`
    (config.unstructured.jpeg)."""
    low, high = cfg.quality_range
    quality = as_integer(draw(key, quality=(low, high + 1))["quality"], low, high)
    return jpeg_compress(image, quality)
