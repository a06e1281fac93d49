"""Reference `state_dict` (numpy arrays, PyTorch names and layouts) -> our mapping-network params.

Names: `Mapping_Model` keeps everything in `model.{i}`; `Mapping_Model_with_mask` has
`before_NL.{i}`, `NL.*` and `after_NL.{i}`. The indices after the residual blocks depend on
their count n (docs: golden/README.md), so n is read from the keys.
"""

import re

import numpy as np


def _conv(state, name, dtype):
    """PyTorch conv (OIHW) -> params of layers.Conv (flax HWIO under "conv")."""
    return {
        "conv": {
            "kernel": np.asarray(state[f"{name}.weight"], dtype).transpose(2, 3, 1, 0),
            "bias": np.asarray(state[f"{name}.bias"], dtype),
        }
    }


def _conv1x1_dense(state, name, dtype):
    """PyTorch 1x1 conv (O, I, 1, 1) -> a Dense kernel (I, O)."""
    return {
        "kernel": np.asarray(state[f"{name}.weight"], dtype)[:, :, 0, 0].T,
        "bias": np.asarray(state[f"{name}.bias"], dtype),
    }


def _res_block(state, name, dtype):
    return {
        "conv1": _conv(state, f"{name}.conv_block.1", dtype),
        "conv2": _conv(state, f"{name}.conv_block.5", dtype),
    }


def _num_res_blocks(state, prefix):
    pattern = re.compile(rf"{re.escape(prefix)}\.(\d+)\.conv_block\.1\.weight")
    return sum(1 for key in state if pattern.fullmatch(key))


def _head(state, prefix, indices, dtype):
    return {f"conv_{i}": _conv(state, f"{prefix}.{j}", dtype) for i, j in enumerate(indices)}


def _tail(state, prefix, first_block, dtype):
    """n residual blocks at prefix.first_block.., then convs at +n, +n+3, +n+6 and +n+9."""
    n = _num_res_blocks(state, prefix)
    tail = {f"block_{i}": _res_block(state, f"{prefix}.{first_block + i}", dtype) for i in range(n)}
    after = first_block + n
    for i in range(3):
        tail[f"conv_{i}"] = _conv(state, f"{prefix}.{after + 3 * i}", dtype)
    tail["out"] = _conv(state, f"{prefix}.{after + 9}", dtype)
    return tail


def import_nonlocal_block(state, dtype=np.float32):
    """`NonLocalBlock2D_with_mask_Res` state (unprefixed names) -> PartialNonLocalBlock params."""
    params = {name: _conv1x1_dense(state, name, dtype) for name in ("theta", "phi", "g", "W")}
    for i in range(3):
        params[f"res_block_{i}"] = _res_block(state, f"res_block.{i}", dtype)
    return params


def import_quality_mapping(state, dtype=np.float32):
    """`Mapping_Model` state (a `latest_net_mapping_net.pth`) -> QualityMapping params."""
    return {
        "head": _head(state, "model", (0, 3, 6, 9), dtype),
        "tail": _tail(state, "model", 12, dtype),
    }


def import_scratch_mapping(state, dtype=np.float32):
    """`Mapping_Model_with_mask` state -> ScratchMapping params."""
    nonlocal_state = {key[3:]: value for key, value in state.items() if key.startswith("NL.")}
    return {
        "head": _head(state, "before_NL", (0, 3, 6, 9), dtype),
        "nonlocal": import_nonlocal_block(nonlocal_state, dtype),
        "tail": _tail(state, "after_NL", 0, dtype),
    }


def mapping_hyperparameters(state):
    """The constructor fields (max_channels, n_blocks) a reference mapping state was built with."""
    prefix = "model" if "model.0.weight" in state else "after_NL"
    last_head_conv = "model.9.weight" if prefix == "model" else "before_NL.9.weight"
    return {
        "max_channels": int(np.shape(state[last_head_conv])[0]),
        "n_blocks": _num_res_blocks(state, prefix),
    }
