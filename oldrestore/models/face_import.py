"""The reference face generator's state_dict (a `latest_net_G.pth` of its face checkpoints, or the
golden file) -> the variables of `models.face_spade.FaceSPADEGenerator`.

Every key of the network must be used and none may be missing (`torch_import.TorchState`), so a
checkpoint of another configuration cannot load silently. `num_batches_tracked` is read and dropped:
the reference's synchronised batch norm never uses it (momentum is fixed).
"""

from collections.abc import Mapping

from oldrestore.models.face_spade import BLOCKS
from oldrestore.models.torch_import import TorchState, conv_weight


def _spectral_conv(state: TorchState, prefix: str, bias: bool) -> tuple[dict, dict]:
    params = {"kernel": conv_weight(state.array(f"{prefix}.weight_orig"))}
    if bias:
        params["bias"] = state.array(f"{prefix}.bias")
    vectors = {"spectral_norm": {"u": state.array(f"{prefix}.weight_u"),
                                 "v": state.array(f"{prefix}.weight_v")}}
    return params, vectors


def _spade(state: TorchState, prefix: str) -> tuple[dict, dict]:
    norm = f"{prefix}.param_free_norm"
    state.array(f"{norm}.num_batches_tracked")
    stats = {"param_free_norm": {"mean": state.array(f"{norm}.running_mean"),
                                 "var": state.array(f"{norm}.running_var")}}
    params = {"mlp_shared": state.conv(f"{prefix}.mlp_shared.0"),
              "mlp_gamma": state.conv(f"{prefix}.mlp_gamma"),
              "mlp_beta": state.conv(f"{prefix}.mlp_beta")}
    return params, stats


def import_face_generator(state_dict: Mapping, dtype=None) -> dict:
    """{"params", "batch_stats", "spectral"} of the generator with the reference's ngf and
    hidden width (read them from the shapes: `fc.weight` is (16 ngf, 3, 3, 3))."""
    state = TorchState(state_dict, ("fc.", "conv_img.", *(f"{b}." for b in BLOCKS)), dtype)
    params = {"fc": state.conv("fc"), "conv_img": state.conv("conv_img")}
    batch_stats, spectral = {}, {}
    for block in BLOCKS:
        params[block], batch_stats[block], spectral[block] = {}, {}, {}
        has_shortcut = f"{block}.conv_s.weight_orig" in state.arrays
        for conv in ("conv_0", "conv_1", "conv_s") if has_shortcut else ("conv_0", "conv_1"):
            params[block][conv], spectral[block][conv] = _spectral_conv(
                state, f"{block}.{conv}", bias=conv != "conv_s")
        for norm in ("norm_0", "norm_1", "norm_s") if has_shortcut else ("norm_0", "norm_1"):
            params[block][norm], batch_stats[block][norm] = _spade(state, f"{block}.{norm}")
    state.check_all_used()
    return {"params": params, "batch_stats": batch_stats, "spectral": spectral}


def generator_hyperparameters(state_dict: Mapping) -> dict:
    """The FaceSPADEGenerator fields (ngf, spade_hidden) a reference state was built with."""
    return {"ngf": int(state_dict["fc.weight"].shape[0]) // 16,
            "spade_hidden": int(state_dict["head_0.norm_0.mlp_shared.0.weight"].shape[0])}
