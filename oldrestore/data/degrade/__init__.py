"""The degradation model: pure jnp functions of (key, image), jit- and vmap-able.

Images are float32 H x W x 3 in [0, 1]; masks H x W x 1 float32 in {0, 1}. Every range and
probability lives in `default_config()`.
"""

from oldrestore.data.degrade.config import default_config
from oldrestore.data.degrade.defects import structured
from oldrestore.data.degrade.old_print import old_print
from oldrestore.data.degrade.pipeline import degrade, degrade_batch, degrade_pair
from oldrestore.data.degrade.textures import load_textures
from oldrestore.data.degrade.unstructured import unstructured

__all__ = [
    "default_config",
    "degrade",
    "degrade_batch",
    "degrade_pair",
    "load_textures",
    "old_print",
    "structured",
    "unstructured",
]
