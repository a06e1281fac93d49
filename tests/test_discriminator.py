"""Image and latent discriminators, spectral norm and the importer, against the golden vectors."""

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from oldrestore.models.discriminator import MultiscaleDiscriminator, downsample
from oldrestore.models.layers import count_params
from oldrestore.models.spectral_norm import SPECTRAL
from oldrestore.models.torch_import import import_discriminator
from tests.golden_helpers import assert_close, nhwc

GOLDEN_NDF = 8  # the golden discriminators are the reference's at ndf 8
TRAIN_STATE_PREFIX = "trainmode_new."






def assert_outputs_match(outputs, golden, prefix, rtol):
    assert [len(scale) for scale in outputs] == [5, 5]
    for i, scale in enumerate(outputs):
        for j, output in enumerate(scale):
            assert_close(output, nhwc(golden[f"{prefix}out_scale{i}_layer{j}"]), rtol)


pytestmark = pytest.mark.usefixtures("fast_compile")


@pytest.fixture(scope="module")
def golden(golden_dir):
    return dict(np.load(golden_dir / "image_discriminator.npz"))


@pytest.fixture(scope="module")
def golden_sn(golden_dir):
    return dict(np.load(golden_dir / "image_discriminator_sn.npz"))


def param_count(discriminator, channels):
    x = jnp.zeros((1, 64, 64, channels))
    return count_params(jax.eval_shape(discriminator.init, jax.random.key(0), x)["params"])


def test_parameter_counts_at_reference_configuration():
    assert param_count(MultiscaleDiscriminator(), 3) == 5_529_474
    assert param_count(MultiscaleDiscriminator(), 6) == 5_535_618  # conditional, stage 2
    assert param_count(MultiscaleDiscriminator(spectral_norm=True), 6) == 5_535_618
    assert param_count(MultiscaleDiscriminator(num_scales=1), 64) == 2_827_201  # latent D


def test_shapes_at_256():
    x = jnp.zeros((1, 256, 256, 3))
    outputs, _ = jax.eval_shape(MultiscaleDiscriminator().init_with_output, jax.random.key(0), x)
    widths = [64, 128, 256, 512, 1]
    assert [o.shape for o in outputs[0]] == [
        (1, s, s, w) for s, w in zip([129, 65, 33, 34, 35], widths, strict=True)
    ]
    assert [o.shape for o in outputs[1]] == [
        (1, s, s, w) for s, w in zip([65, 33, 17, 18, 19], widths, strict=True)
    ]


@pytest.mark.parametrize(("dtype", "rtol"), [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_golden_outputs(golden, dtype, rtol):
    discriminator = MultiscaleDiscriminator(ndf=GOLDEN_NDF)
    x = nhwc(golden["input"]).astype(dtype)
    with jax.enable_x64(dtype == np.float64):
        params, spectral = import_discriminator(golden, dtype)
        outputs = jax.jit(discriminator.apply)({"params": params}, x)
        assert_close(downsample(x), nhwc(golden["input_downsampled"]), rtol)
    assert spectral == {}
    assert outputs[0][0].dtype == dtype
    assert_outputs_match(outputs, golden, "", rtol)


def trained_spectral_state(golden_sn):
    """The u, v that the reference stored after its train-mode pass, as our spectral state."""
    state = {k.removeprefix(TRAIN_STATE_PREFIX): v for k, v in golden_sn.items()}
    return import_discriminator(state)[1]


@pytest.mark.parametrize(("dtype", "rtol"), [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_golden_spectral_norm_eval_and_train(golden_sn, dtype, rtol):
    discriminator = MultiscaleDiscriminator(ndf=GOLDEN_NDF, spectral_norm=True)
    x = nhwc(golden_sn["input"]).astype(dtype)
    with jax.enable_x64(dtype == np.float64):
        params, spectral = import_discriminator(golden_sn, dtype)
        variables = {"params": params, SPECTRAL: spectral}
        eval_outputs = jax.jit(discriminator.apply)(variables, x)
        train_apply = jax.jit(partial(discriminator.apply, update_stats=True, mutable=[SPECTRAL]))
        train_outputs, updated = train_apply(variables, x)
    assert_outputs_match(eval_outputs, golden_sn, "", rtol)
    assert_outputs_match(train_outputs, golden_sn, "trainmode_", rtol)
    expected = trained_spectral_state(golden_sn)
    jax.tree.map(lambda a, b: assert_close(a, b, rtol), updated[SPECTRAL], expected)


def test_spectral_norm_init_and_gradients():
    discriminator = MultiscaleDiscriminator(num_scales=1, ndf=4, n_layers=1, spectral_norm=True)
    x = jax.random.normal(jax.random.key(1), (1, 16, 16, 3))
    variables = jax.jit(discriminator.init)(jax.random.key(0), x)
    state = variables[SPECTRAL]["scale0"]["layer0"]["spectral_norm"]
    assert state["u"].shape == (4,) and state["v"].shape == (3 * 4 * 4,)
    np.testing.assert_allclose(jnp.linalg.norm(state["v"]), 1.0, rtol=1e-6)

    def loss(params):
        outputs, _ = discriminator.apply(
            {**variables, "params": params}, x, update_stats=True, mutable=[SPECTRAL]
        )
        return jnp.mean(outputs[0][-1])

    leaves = jax.tree.leaves(jax.jit(jax.grad(loss))(variables["params"]))
    assert all(bool(jnp.all(jnp.isfinite(g))) for g in leaves)


def test_importer_rejects_missing_and_unknown_keys(golden):
    state = {k: v for k, v in golden.items() if k != "scale1_layer2.0.bias"}
    with pytest.raises(KeyError, match="scale1_layer2.0.bias"):
        import_discriminator(state)
    with pytest.raises(ValueError, match="scale0_layer0.1.weight"):
        import_discriminator({**golden, "scale0_layer0.1.weight": np.zeros(1)})
