"""Test session set-up: 8 simulated CPU devices (set before JAX initialises), a compilation
cache, and the shared data paths."""

import os
from pathlib import Path

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
# Many tests compile the same step functions: a persistent cache (shared by xdist workers) pays
# each compilation once per machine.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR",
                      str(Path(__file__).resolve().parents[1] / ".pytest_cache" / "jax"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.5")

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
GOLDEN_DIR = SHARED / "golden"
DATA_DIR = SHARED / "data"


@pytest.fixture(scope="session")
def golden_dir() -> Path:
    if not GOLDEN_DIR.is_dir():
        pytest.skip(f"golden test vectors not found at {GOLDEN_DIR} "
                    "(they live in ../shared/golden)")
    return GOLDEN_DIR


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not DATA_DIR.is_dir():
        pytest.skip(f"development data not found at {DATA_DIR} (it lives in ../shared/data)")
    return DATA_DIR


@pytest.fixture(scope="module")
def fast_compile():
    """For modules whose programs each run once or twice: XLA's optimisations would cost more
    than they save. Use with `pytestmark = pytest.mark.usefixtures("fast_compile")`."""
    import jax

    jax.config.update("jax_disable_most_optimizations", True)
    yield
    jax.config.update("jax_disable_most_optimizations", False)


@pytest.fixture(scope="module")
def tfds_dir(tmp_path_factory):
    """Where a test module's prepared datasets go (one per module, so modules run in parallel)."""
    return tmp_path_factory.mktemp("tfds")
