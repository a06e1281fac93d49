"""Convert PyTorch state_dicts of the reference into our flax variable trees.

Input: a mapping name -> numpy array, e.g. `dict(np.load(golden_file))` or a converted official
checkpoint (`{k: v.numpy() for k, v in torch.load(path).items()}`). Keys that do not belong to the
network (a golden file's inputs and outputs) are ignored; a key of the network that the mapping does
not use, or a missing one, raises, so a mapping cannot silently drift from the checkpoint.

Generic helpers for porting other networks:
* `conv_weight`: Conv2d weight (out, in, kh, kw) -> our HWIO kernel.
* `conv_transpose_weight`: ConvTranspose2d weight (in, out, kh, kw) -> our (kh, kw, in, out) kernel
  (`models.vae.ConvTranspose2x`; transposed, not flipped).
* `TorchState`: reads the arrays and tracks which were used; `conv`, `conv_transpose`,
  `layer_conv` (an `oldrestore.models.layers.Conv`) and `res_block` (a pix2pixHD residual block,
  convs `conv_block.{1,5}` -> `layers.ResBlock`).
"""

import re
from collections.abc import Mapping

import numpy as np


def conv_weight(oihw: np.ndarray) -> np.ndarray:
    return np.transpose(oihw, (2, 3, 1, 0))


def conv_transpose_weight(iohw: np.ndarray) -> np.ndarray:
    return np.transpose(iohw, (2, 3, 0, 1))


class TorchState:
    """The keys of a state_dict that start with one of `prefixes`, read at most once each."""

    def __init__(self, state_dict: Mapping, prefixes: tuple[str, ...], dtype=None):
        self.arrays = {k: v for k, v in state_dict.items() if k.startswith(prefixes)}
        self.dtype = dtype
        self.used = set()

    def array(self, name: str) -> np.ndarray:
        if name not in self.arrays:
            raise KeyError(f"state_dict has no {name!r}")
        self.used.add(name)
        value = np.asarray(self.arrays[name])
        return value if self.dtype is None else value.astype(self.dtype)

    def conv(self, prefix: str) -> dict:
        return {
            "kernel": conv_weight(self.array(f"{prefix}.weight")),
            "bias": self.array(f"{prefix}.bias"),
        }

    def conv_transpose(self, prefix: str) -> dict:
        return {
            "kernel": conv_transpose_weight(self.array(f"{prefix}.weight")),
            "bias": self.array(f"{prefix}.bias"),
        }

    def layer_conv(self, prefix: str) -> dict:
        """Params of a `layers.Conv` (its conv sits under the name `conv`)."""
        return {"conv": self.conv(prefix)}

    def res_block(self, prefix: str) -> dict:
        """pix2pixHD residual block: its convs are children 1 and 5 of `conv_block`."""
        return {
            "conv1": self.layer_conv(f"{prefix}.conv_block.1"),
            "conv2": self.layer_conv(f"{prefix}.conv_block.5"),
        }

    def check_all_used(self):
        unused = sorted(set(self.arrays) - self.used)
        if unused:
            raise ValueError(f"state_dict entries not mapped: {unused}")


# Child indices in the reference's `encoder` / `decoder` Sequentials at its only configuration
# (2 down/upsamplings, 4 + 4 residual blocks); the pads, norms and ReLUs in between have no state.
ENCODER_CONVS = {"stem": 1, "down0": 4, "down1": 7}
ENCODER_BLOCKS = (10, 11, 12, 13)
DECODER_BLOCKS = (0, 1, 2, 3)
DECODER_UPSAMPLES = {"up0": 4, "up1": 7}
DECODER_HEAD = 11


def import_vae(state_dict: Mapping, dtype=None) -> dict:
    """`GlobalGenerator_DCDCv2` state (e.g. latest_net_G.pth) -> params of `models.vae.VAE`."""
    state = TorchState(state_dict, ("encoder.", "decoder."), dtype)
    encoder = {name: state.layer_conv(f"encoder.{i}") for name, i in ENCODER_CONVS.items()}
    encoder |= {f"block{j}": state.res_block(f"encoder.{i}") for j, i in enumerate(ENCODER_BLOCKS)}
    decoder = {f"block{j}": state.res_block(f"decoder.{i}") for j, i in enumerate(DECODER_BLOCKS)}
    decoder |= {name: state.conv_transpose(f"decoder.{i}") for name, i in DECODER_UPSAMPLES.items()}
    decoder["head"] = state.layer_conv(f"decoder.{DECODER_HEAD}")
    state.check_all_used()
    return {"encoder": encoder, "decoder": decoder}


def import_discriminator(state_dict: Mapping, dtype=None) -> tuple[dict, dict]:
    """`MultiscaleDiscriminator` state -> (params, spectral state) of our
    `MultiscaleDiscriminator`; the spectral state is empty without spectral norm.

    The reference computes output i with its `scale{num_D-1-i}` parameters; ours with `scale{i}`.
    """
    state = TorchState(state_dict, ("scale",), dtype)
    matches = (re.match(r"scale(\d+)_layer(\d+)\.", k) for k in state.arrays)
    layers = {m.groups() for m in matches if m}  # keys that do not match stay unused and raise
    num_scales = 1 + max(int(s) for s, _ in layers)
    num_layers = 1 + max(int(j) for _, j in layers)
    params, spectral = {}, {}
    for i in range(num_scales):
        scale_params, scale_spectral = {}, {}
        for j in range(num_layers):
            prefix = f"scale{num_scales - 1 - i}_layer{j}.0"
            if f"{prefix}.weight_orig" in state.arrays:
                kernel = conv_weight(state.array(f"{prefix}.weight_orig"))
                scale_spectral[f"layer{j}"] = {
                    "spectral_norm": {
                        "u": state.array(f"{prefix}.weight_u"),
                        "v": state.array(f"{prefix}.weight_v"),
                    }
                }
            else:
                kernel = conv_weight(state.array(f"{prefix}.weight"))
            scale_params[f"layer{j}"] = {"kernel": kernel, "bias": state.array(f"{prefix}.bias")}
        params[f"scale{i}"] = scale_params
        if scale_spectral:
            spectral[f"scale{i}"] = scale_spectral
    state.check_all_used()
    return params, spectral
