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
from oldrestore.models.vae import join_colour, split_colour
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


def test_colour_head_starts_as_the_identity_and_adds_only_its_own_parameters():
    """With the VAEs' colour statistics the latent is 64 learned + 6 colour channels: the
    learned ones are mapped as without them, the colour ones by the colour head (two dense
    layers), which starts by passing the degraded photo's colour through."""
    mapping = QualityMapping(max_channels=128, n_blocks=1, colour_stats=True)
    learned = jax.random.normal(jax.random.key(0), (2, 4, 4, 64))
    colour = jax.random.normal(jax.random.key(1), (2, 6))
    latent = join_colour(learned, colour)
    params = mapping.init(jax.random.key(2), latent)["params"]
    plain = QualityMapping(max_channels=128, n_blocks=1)
    plain_params = {k: v for k, v in params.items() if k != "colour"}
    assert count_params(params) - count_params(plain_params) == (134 * 64 + 64) + (64 * 6 + 6)

    mapped = mapping.apply({"params": params}, latent)
    mapped_learned, mapped_colour = split_colour(mapped)
    np.testing.assert_allclose(mapped_colour, colour, rtol=1e-6)
    np.testing.assert_allclose(mapped_learned, plain.apply({"params": plain_params}, learned),
                               rtol=1e-5, atol=1e-6)
