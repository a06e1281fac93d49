"""Reference detection U-Net state_dict (`Global/detection_models/networks.py` UNet) -> our
ScratchUNet `params` and `batch_stats`.

The state_dict is a mapping from the reference's names to numpy arrays (e.g. read from an .npz).
Every key must be used: a missing key raises KeyError, a left-over key ValueError, so a checkpoint
of another network (or depth) cannot load silently.
"""

from collections.abc import Mapping

import numpy as np

# The blur-pool filter is a fixed buffer in the reference; ours is built in, so only check it.
BLUR_FILTER = np.outer([1.0, 2.0, 1.0], [1.0, 2.0, 1.0]) / 16.0


class _StateReader:
    """Pops entries from a copy of the state_dict so that left-over keys can be reported."""

    def __init__(self, state_dict: Mapping, dtype):
        self.state = {k: np.asarray(v) for k, v in state_dict.items()}
        self.dtype = dtype

    def take(self, key):
        if key not in self.state:
            raise KeyError(f"state_dict has no {key!r}")
        return self.state.pop(key).astype(self.dtype)

    def conv(self, prefix) -> dict:
        """Params of one layers.Conv."""
        kernel = self.take(f"{prefix}.weight").transpose(2, 3, 1, 0)  # OIHW -> HWIO
        return {"conv": {"kernel": kernel, "bias": self.take(f"{prefix}.bias")}}

    def conv_bn(self, conv_prefix, bn_prefix) -> tuple[dict, dict]:
        # num_batches_tracked matters to PyTorch only when momentum=None: dropped.
        self.state.pop(f"{bn_prefix}.num_batches_tracked", None)
        params = {"conv": self.conv(conv_prefix),
                  "bn": {"scale": self.take(f"{bn_prefix}.weight"),
                         "bias": self.take(f"{bn_prefix}.bias")}}
        stats = {"bn": {"mean": self.take(f"{bn_prefix}.running_mean"),
                        "var": self.take(f"{bn_prefix}.running_var")}}
        return params, stats

    def conv_block(self, prefix) -> tuple[dict, dict]:
        """UNetConvBlock: convs at block.1 and block.5, their BNs at block.2 and block.6."""
        params, stats = {}, {}
        for j, (conv_index, bn_index) in enumerate([(1, 2), (5, 6)]):
            name = f"layer_{j}"
            params[name], stats[name] = self.conv_bn(
                f"{prefix}.block.{conv_index}", f"{prefix}.block.{bn_index}")
        return params, stats


def import_scratch_unet(state_dict: Mapping, dtype=np.float32) -> tuple[dict, dict]:
    """(params, batch_stats) for `unet_for(params)`, from the reference UNet's state_dict."""
    depth = len({k.split(".")[1] for k in state_dict if k.startswith("down_path.")})
    reader = _StateReader(state_dict, dtype)
    params, stats = {"first": reader.conv("first.1")}, {}
    for i in range(depth):
        name = f"down_sample_{i}"
        params[name], stats[name] = reader.conv_bn(f"down_sample.{i}.1", f"down_sample.{i}.2")
        blur = reader.take(f"down_sample.{i}.4.filt")
        if not np.allclose(blur, BLUR_FILTER[None, None], rtol=0, atol=1e-7):
            raise ValueError(f"down_sample.{i}.4.filt is not the [1,2,1] blur filter")
        name = f"down_path_{i}"
        params[name], stats[name] = reader.conv_block(f"down_path.{i}")
    for i in range(depth):
        params[f"up_path_{i}_up"] = reader.conv(f"up_path.{i}.up.2")
        name = f"up_path_{i}"
        params[name], stats[name] = reader.conv_block(f"up_path.{i}.conv_block")
    params["last"] = reader.conv("last.1")
    if reader.state:
        raise ValueError(f"state_dict keys not used by the U-Net: {sorted(reader.state)}")
    return params, stats
