"""The detection U-Net: parameter count, fidelity to the reference's own module (golden vectors),
its PyTorch-style batch norm, and batch statistics under data sharding."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from oldrestore.models.layers import count_params
from oldrestore.models.scratch_unet import (
    BatchNorm,
    ScratchUNet,
    blur_pool,
    unet_for,
    upsample_bilinear_x2,
)
from oldrestore.models.unet_import import import_scratch_unet
from tests.golden_helpers import nhwc


def test_parameter_count_at_reference_configuration():
    shapes = jax.eval_shape(ScratchUNet().init, jax.random.key(0), jnp.zeros((1, 32, 32, 1)))
    assert count_params(shapes["params"]) == 37_626_177
    assert unet_for(shapes["params"]) == ScratchUNet(wf=6, depth=4)


@pytest.fixture(scope="module")
def golden(golden_dir):
    with np.load(golden_dir / "scratch_unet.npz") as z:
        arrays = dict(z)
    state_dict = {k: v for k, v in arrays.items() if "." in k}  # state names are dotted
    return arrays, state_dict


def nchw(x):
    return np.asarray(x).transpose(0, 3, 1, 2)




@pytest.mark.parametrize("dtype, tolerance", [(np.float64, 1e-12), (np.float32, 1e-4)])
def test_reproduces_reference_module(golden, dtype, tolerance):
    arrays, state_dict = golden
    with jax.enable_x64(dtype == np.float64):
        params, batch_stats = import_scratch_unet(state_dict, dtype)
        model = unet_for(params)
        assert (model.wf, model.depth) == (3, 4)
        apply = jax.jit(lambda x: model.apply(
            {"params": params, "batch_stats": batch_stats}, x, mutable="intermediates"))
        logits, state = apply(nhwc(arrays["input"]).astype(dtype))
        logits_nonsquare, _ = apply(nhwc(arrays["input_nonsquare"]).astype(dtype))
    assert logits.dtype == dtype
    outputs = {k: v[0] for k, v in state["intermediates"].items()}
    outputs.update(logits=logits, logits_nonsquare=logits_nonsquare)
    assert len(outputs) == 15
    for name, ours in outputs.items():
        expected = arrays[name]
        error = np.max(np.abs(nchw(ours) - expected)) / np.max(np.abs(expected))
        assert error < tolerance, f"{name}: relative error {error:.2e}"


def test_import_rejects_foreign_or_incomplete_state(golden):
    _, state_dict = golden
    with pytest.raises(ValueError, match="not used"):
        import_scratch_unet({**state_dict, "extra.weight": np.zeros(1)})
    incomplete = {k: v for k, v in state_dict.items() if k != "last.1.bias"}
    with pytest.raises(KeyError, match="last.1.bias"):
        import_scratch_unet(incomplete)


def test_upsampling_matches_jax_bilinear_resize():
    x = jax.random.normal(jax.random.key(1), (2, 5, 7, 3))
    expected = jax.image.resize(x, (2, 10, 14, 3), "bilinear")
    np.testing.assert_allclose(upsample_bilinear_x2(x), expected, atol=1e-6)


def test_blur_pool_is_the_depthwise_121_filter():
    x = jax.random.normal(jax.random.key(2), (1, 8, 6, 3))
    taps = jnp.array([1.0, 2.0, 1.0])
    kernel = jnp.tile((jnp.outer(taps, taps) / 16)[:, :, None, None], (1, 1, 1, 3))  # HWIO
    padded = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="reflect")
    expected = jax.lax.conv_general_dilated(
        padded, kernel, (2, 2), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC"),
        feature_group_count=3)
    np.testing.assert_allclose(blur_pool(x), expected, atol=1e-6)


def test_batch_norm_matches_pytorch_training_step():
    x = jax.random.normal(jax.random.key(3), (2, 3, 4, 5)) * 3.0 + 1.0
    bn = BatchNorm()
    variables = bn.init(jax.random.key(0), x, train=True)
    y, updated = bn.apply(variables, x, train=True, mutable="batch_stats")
    flat = np.asarray(x, np.float64).reshape(-1, 5)
    np.testing.assert_allclose(y, (x - flat.mean(0)) / np.sqrt(flat.var(0) + 1e-5), atol=1e-5)
    stats = updated["batch_stats"]
    np.testing.assert_allclose(stats["mean"], 0.1 * flat.mean(0), rtol=1e-5)
    np.testing.assert_allclose(stats["var"], 0.9 + 0.1 * flat.var(0, ddof=1), rtol=1e-5)
    with pytest.raises(ValueError, match="more than one value"):
        bn.apply(variables, x[:1, :1, :1], train=True, mutable="batch_stats")


def test_input_size_must_be_a_multiple_of_16():
    with pytest.raises(ValueError, match="multiples of 16"):
        ScratchUNet(wf=1).init(jax.random.key(0), jnp.zeros((1, 24, 32, 1)))


def test_batch_statistics_over_sharded_batch_equal_single_device():
    assert jax.device_count() == 8, "conftest sets 8 simulated CPU devices"
    model = ScratchUNet(wf=2, depth=2)  # small: this test is about the statistics
    images = jax.random.uniform(jax.random.key(4), (8, 16, 16, 1), minval=-1, maxval=1)
    # Weights drawn with numpy: jit-compiling flax's threefry init takes ~20 s on XLA:CPU.
    shapes = jax.eval_shape(model.init, jax.random.key(0), images[:1])
    rng = np.random.default_rng(5)
    variables = jax.tree.map(lambda s: rng.normal(0.5, 0.2, s.shape).astype(np.float32), shapes)

    @jax.jit
    def train_forward(variables, images):
        return model.apply(variables, images, train=True, mutable="batch_stats")

    single_out, single_state = train_forward(variables, images)
    mesh = jax.make_mesh((8,), ("data",))
    sharded_images = jax.device_put(images, NamedSharding(mesh, P("data")))
    sharded_out, sharded_state = train_forward(variables, sharded_images)
    assert len(sharded_out.sharding.device_set) == 8
    np.testing.assert_allclose(sharded_out, single_out, atol=1e-5)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6),
                 sharded_state, single_state)
    bn_var = lambda state: state["batch_stats"]["down_path_0"]["layer_0"]["bn"]["var"]
    assert not np.allclose(bn_var(variables), bn_var(single_state)), "running stats not updated"
