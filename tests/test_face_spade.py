"""The face generator: parameter counts, shapes, fidelity to the reference's golden vectors (eval
and train mode), synchronised batch norm over devices, and the face losses against plain
versions."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from oldrestore.data.sharding import make_mesh
from oldrestore.losses import face as face_losses
from oldrestore.models.face_import import generator_hyperparameters, import_face_generator
from oldrestore.models.face_spade import BLOCKS, FaceSPADEGenerator, resize_bilinear
from oldrestore.models.layers import count_params
from tests.golden_helpers import assert_close, nhwc

GOLDEN_NEW = "trainmode_new."

pytestmark = pytest.mark.usefixtures("fast_compile")


@pytest.fixture(scope="module")
def golden(golden_dir):
    return dict(np.load(golden_dir / "face_spade_generator.npz"))


def variable_counts(generator, size):
    variables = jax.eval_shape(generator.init, jax.random.key(0), jnp.zeros((1, size, size, 3)))
    return {name: count_params(tree) for name, tree in variables.items()}


@pytest.mark.parametrize("load_size", [256, 512])
def test_parameter_count_at_reference_configuration(load_size):
    """Section 9b: 92,059,587 parameters at 256 and 512; buffers 2 x 10,944 running statistics
    and 9,024 + 83,136 spectral-norm vectors (num_batches_tracked is not kept)."""
    counts = variable_counts(FaceSPADEGenerator(load_size=load_size), load_size)
    assert counts == {"params": 92_059_587, "batch_stats": 21_888, "spectral": 92_160}


def test_output_size_is_load_size_whatever_the_input():
    """The reference at 512 turns a 256 input into a 512 face; shapes at 256 (eval_shape)."""
    for load_size, input_size in ((256, 256), (512, 256), (256, 300)):
        generator = FaceSPADEGenerator(load_size=load_size)
        x = jnp.zeros((2, input_size, input_size, 3))
        out, _ = jax.eval_shape(generator.init_with_output, jax.random.key(0), x)
        assert out.shape == (2, load_size, load_size, 3)


def test_forward_at_256_narrow():
    generator = FaceSPADEGenerator(ngf=1, spade_hidden=8, load_size=256)
    x = jax.random.uniform(jax.random.key(1), (2, 256, 256, 3), minval=-1.0, maxval=1.0)
    variables = generator.init(jax.random.key(0), x)
    out, updated = jax.jit(lambda v, x: generator.apply(
        v, x, train=True, mutable=["batch_stats", "spectral"]))(variables, x)
    assert out.shape == (2, 256, 256, 3)
    assert np.all(np.abs(out) <= 1.0) and np.std(out) > 0
    assert out[0].std() > 0 and not np.allclose(out[0], out[1])  # the output depends on the face
    assert set(updated) == {"batch_stats", "spectral"}


def test_resize_is_pytorch_bilinear_without_antialiasing(golden):
    x = nhwc(golden["input"])
    for size in (2, 4, 8, 16, 32):
        with jax.enable_x64(True):
            resized = resize_bilinear(x, (size, size))
        assert_close(resized, nhwc(golden[f"degraded_resized_{size}x{size}"]), 1e-15)


def golden_generator(golden):
    hyper = generator_hyperparameters(golden)
    assert hyper == {"ngf": 1, "spade_hidden": 128}
    return FaceSPADEGenerator(load_size=golden["input"].shape[-1], **hyper)


def activations(intermediates) -> dict:
    """Our captured module outputs under the golden file's names (without a prefix)."""
    def out(*path):
        node = intermediates
        for name in path:
            node = node[name]
        return node["__call__"][0]

    acts = {f"act_{block}": out(block) for block in BLOCKS}
    norm = ("head_0", "norm_0")
    acts.update({
        "act_fc": out("fc"),
        "act_head_0_norm_0_bn": out(*norm, "param_free_norm"),
        "act_head_0_norm_0_shared": np.maximum(out(*norm, "mlp_shared"), 0.0),
        "act_head_0_norm_0_gamma": out(*norm, "mlp_gamma"),
        "act_head_0_norm_0_beta": out(*norm, "mlp_beta"),
        "act_head_0_norm_0": out(*norm),
        "act_up_0_shortcut": out("up_0", "conv_s"),
    })
    return acts


def torch_name(path) -> str:
    """Our path of a batch-stat or spectral vector -> its reference state name."""
    keys = [p.key for p in path]
    if keys[-1] in ("u", "v"):
        return ".".join(keys[:2]) + f".weight_{keys[-1]}"
    return ".".join(keys[:3]) + {"mean": ".running_mean", "var": ".running_var"}[keys[-1]]


# float32: 18 batch norms (in train mode over a batch of 2) amplify rounding to about 1e-5 of the
# largest value (golden/README.md allows up to 1e-4 after many norm layers).
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-10), (np.float32, 5e-5)])
def test_golden_eval_and_train_mode(golden, dtype, rtol):
    """Eval: output and every recorded activation. Train (batch 2): output, activations, and the
    updated running statistics and spectral vectors of every layer."""
    generator = golden_generator(golden)
    with jax.enable_x64(dtype == np.float64):
        variables = import_face_generator(golden, dtype)
        x = nhwc(golden["input"]).astype(dtype)
        out, captured = jax.jit(lambda v, x: generator.apply(v, x, capture_intermediates=True))(
            variables, x)
        assert out.dtype == dtype
        assert_close(out, nhwc(golden["output"]), rtol)
        for name, act in activations(captured["intermediates"]).items():
            assert_close(act, nhwc(golden[name]), rtol)

        x = nhwc(golden["trainmode_input"]).astype(dtype)
        out, updated = jax.jit(lambda v, x: generator.apply(
            v, x, train=True, capture_intermediates=True,
            mutable=["batch_stats", "spectral", "intermediates"]))(variables, x)
    assert_close(out, nhwc(golden["trainmode_output"]), rtol)
    for name, act in activations(updated["intermediates"]).items():
        assert_close(act, nhwc(golden["trainmode_" + name]), rtol)
    compared = 0
    for collection in ("batch_stats", "spectral"):
        for path, value in jax.tree_util.tree_leaves_with_path(updated[collection]):
            name = GOLDEN_NEW + torch_name(path)
            if name.endswith("weight_u") and value.size == 1:  # stays +-1: not stored
                assert abs(abs(float(value[0])) - 1.0) < 1e-6
                continue
            assert_close(value, golden[name], rtol)
            compared += 1
    assert compared == len([k for k in golden if k.startswith(GOLDEN_NEW)]) == 69


def test_importer_rejects_missing_and_foreign_keys(golden):
    state = {k: v for k, v in golden.items() if not k.startswith(GOLDEN_NEW)}
    import_face_generator(state)
    missing = dict(state)
    del missing["up_1.norm_s.mlp_beta.bias"]
    with pytest.raises(KeyError, match="up_1.norm_s.mlp_beta.bias"):
        import_face_generator(missing)
    with pytest.raises(ValueError, match="up_1.conv_1.extra"):
        import_face_generator({**state, "up_1.conv_1.extra": np.zeros(1)})


def test_batch_norm_is_synchronised_over_devices():
    """Train mode on a batch sharded over 8 devices: the statistics are the whole batch's, so the
    output equals the one-device output, and differs from statistics taken per device."""
    generator = FaceSPADEGenerator(ngf=1, spade_hidden=4, load_size=32)
    x = jax.random.uniform(jax.random.key(2), (8, 32, 32, 3), minval=-1.0, maxval=1.0)
    variables = generator.init(jax.random.key(0), x[:1])

    def forward(x):
        return generator.apply(variables, x, train=True, mutable=["batch_stats", "spectral"])

    single, single_state = jax.jit(forward)(x)
    mesh = make_mesh(jax.devices())
    sharded, sharded_state = jax.jit(forward, in_shardings=NamedSharding(mesh, P("data")))(x)
    np.testing.assert_allclose(sharded, single, atol=1e-5)
    for a, b in zip(jax.tree.leaves(single_state), jax.tree.leaves(sharded_state), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    per_half = jnp.concatenate([forward(x[:4])[0], forward(x[4:])[0]])
    assert np.max(np.abs(per_half - single)) > 1e-3


def random_outputs(rng, num_scales=2, num_layers=5, batch=2):
    return [[rng.normal(size=(batch, 9 - 2 * i - j, 7 - i, 3 + j))
             for j in range(num_layers)] for i in range(num_scales)]


def test_losses_against_plain_versions():
    """SPADE's hinge GAN (scales averaged) and feature matching (weight / num_scales per term)."""
    rng = np.random.default_rng(0)
    real, fake = random_outputs(rng), random_outputs(rng)
    with jax.enable_x64(True):
        d = face_losses.hinge_d_loss(real, fake)
        g = face_losses.hinge_g_loss(fake)
        fm = face_losses.feature_matching(real, fake, weight=10.0)
        fm_grad = jax.grad(face_losses.feature_matching)(real, fake)
    d_plain = np.mean([np.mean(np.maximum(0, 1 - r[-1])) + np.mean(np.maximum(0, 1 + f[-1]))
                       for r, f in zip(real, fake, strict=True)])
    g_plain = np.mean([-np.mean(f[-1]) for f in fake])
    fm_plain = 0.0
    for r_scale, f_scale in zip(real, fake, strict=True):
        for r, f in zip(r_scale[:-1], f_scale[:-1], strict=True):
            fm_plain += np.mean(np.abs(f - r)) * 10.0 / len(real)
    np.testing.assert_allclose([d, g, fm], [d_plain, g_plain, fm_plain], rtol=1e-12)
    assert not any(np.any(grad) for grad in jax.tree.leaves(fm_grad))  # real features: constants
    # The hinge saturates: scores beyond the margin cost nothing.
    assert face_losses.hinge_d_loss([[jnp.full((1, 2), 3.0)]], [[jnp.full((1, 2), -3.0)]]) == 0.0
