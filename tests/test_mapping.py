"""Quality and scratch mapping networks: parameter counts and the reference's golden vectors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from oldrestore.models.layers import count_params
from oldrestore.models.mapping import QualityMapping, ScratchMapping
from oldrestore.models.mapping_import import (
    import_quality_mapping,
    import_scratch_mapping,
    mapping_hyperparameters,
)
from tests.golden_helpers import assert_close, nhwc


def _param_count(module, *inputs):
    shapes = jax.eval_shape(module.init, jax.random.key(0), *inputs)
    return count_params(shapes["params"])


def test_parameter_counts_at_reference_configuration():
    latent = jax.ShapeDtypeStruct((1, 8, 8, 64), jnp.float32)
    mask = jax.ShapeDtypeStruct((1, 32, 32, 1), jnp.float32)
    assert _param_count(QualityMapping(), latent) == 36_135_232
    assert _param_count(ScratchMapping(), latent, mask) == 51_344_704


@pytest.fixture(scope="module")
def quality(golden_dir):
    return dict(np.load(golden_dir / "mapping_quality.npz"))


@pytest.fixture(scope="module")
def scratch(golden_dir):
    return dict(np.load(golden_dir / "mapping_scratch.npz"))


def test_hyperparameters_read_from_state(quality, scratch):
    assert mapping_hyperparameters(quality) == {"max_channels": 128, "n_blocks": 2}
    assert mapping_hyperparameters(scratch) == {"max_channels": 128, "n_blocks": 2}


def test_quality_golden_float64(quality):
    network = QualityMapping(**mapping_hyperparameters(quality))
    with jax.enable_x64(True):
        out, state = network.apply(
            {"params": import_quality_mapping(quality, np.float64)},
            nhwc(quality["input"]),
            capture_intermediates=True,
            mutable=["intermediates"],
        )
    got = state["intermediates"]
    assert out.dtype == jnp.float64
    assert_close(out, nhwc(quality["output"]), 1e-12)
    # act_model_10 is the 4th head conv's instance norm, before the ReLU that ends the head.
    assert_close(got["head"]["__call__"][0], np.maximum(nhwc(quality["act_model_10"]), 0), 1e-12)
    assert_close(got["tail"]["block_1"]["__call__"][0], nhwc(quality["act_model_13"]), 1e-12)


@pytest.mark.parametrize("attention", ["dense", "blockwise"])
def test_scratch_golden_float64(scratch, attention):
    network = ScratchMapping(
        **mapping_hyperparameters(scratch), attention=attention, block_q=16, block_k=16
    )
    with jax.enable_x64(True):
        out, state = network.apply(
            {"params": import_scratch_mapping(scratch, np.float64)},
            nhwc(scratch["input"]),
            nhwc(scratch["mask"]),
            capture_intermediates=True,
            mutable=["intermediates"],
        )
    got = state["intermediates"]
    assert out.dtype == jnp.float64
    assert_close(out, nhwc(scratch["output"]), 1e-12)
    assert_close(got["head"]["__call__"][0], nhwc(scratch["act_before_NL"]), 1e-12)
    assert_close(got["nonlocal"]["__call__"][0], nhwc(scratch["act_NL"]), 1e-12)
    np.testing.assert_array_equal(got["nonlocal"]["valid_mask"][0], nhwc(scratch["valid_mask"]))
    if attention == "dense":
        assert_close(got["nonlocal"]["attention"][0], scratch["attention"], 1e-12)


def test_float32_matches_golden(quality, scratch):
    # golden/README: float32 agrees to ~1e-5, up to ~1e-4 after many instance norms.
    out = QualityMapping(**mapping_hyperparameters(quality)).apply(
        {"params": import_quality_mapping(quality)}, nhwc(quality["input"]).astype(np.float32)
    )
    assert_close(out, nhwc(quality["output"]), 1e-4)
    out = ScratchMapping(**mapping_hyperparameters(scratch), block_q=16, block_k=16).apply(
        {"params": import_scratch_mapping(scratch)},
        nhwc(scratch["input"]).astype(np.float32),
        nhwc(scratch["mask"]).astype(np.float32),
    )
    assert_close(out, nhwc(scratch["output"]), 3e-4)
