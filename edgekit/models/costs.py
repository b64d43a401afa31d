"""Parameter and multiply-accumulate (MAC) counts for registered models.

MACs come from `torch.utils.flop_counter.FlopCounterMode` run on the real modules (MACs =
FLOPs / 2), so a new layer is counted without hand formulas. FlopCounterMode counts matmuls,
convolutions and attention; elementwise ops, norms and activations are not MACs and are not
counted. Ops it has no formula for on CPU are registered below (each with why).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count

aten = torch.ops.aten


def _sdpa_cpu_flops(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
    # On CPU, scaled_dot_product_attention dispatches to this op, which torch's registry (CUDA
    # flash/efficient kernels only) does not list: attention matmuls would count as zero.
    return sdpa_flop_count(query_shape, key_shape, value_shape)


def _mkldnn_rnn_layer_flops(input_shape, w_ih_shape, w_hh_shape, *args, out_shape=None, **kwargs) -> int:
    # nn.LSTM on CPU runs each layer and direction as one fused oneDNN op that FlopCounterMode
    # does not see into. Input is (T, B, I); gates: T·B·(W_ih + W_hh) multiply-adds.
    steps_times_batch = input_shape[0] * input_shape[1]
    macs = steps_times_batch * (w_ih_shape[0] * w_ih_shape[1] + w_hh_shape[0] * w_hh_shape[1])
    return 2 * macs


def _native_mha_flops(query_shape, key_shape, value_shape, embed_dim, num_heads, qkv_weight_shape,
                      *args, out_shape=None, **kwargs) -> int:
    # nn.MultiheadAttention's eval/no-grad fast path is one fused op: q/k/v projections,
    # attention (QKᵀ and AV) and the output projection, all as multiply-adds.
    b, tq, e = query_shape
    tk = key_shape[1]
    macs = b * tq * e * e + 2 * b * tk * e * e + 2 * b * tq * tk * e + b * tq * e * e
    return 2 * macs


_EXTRA_FORMULAS = {
    aten._scaled_dot_product_flash_attention_for_cpu: _sdpa_cpu_flops,
    aten.mkldnn_rnn_layer: _mkldnn_rnn_layer_flops,
    aten._native_multi_head_attention: _native_mha_flops,
}


def count_params(model: nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def _count(model: nn.Module, fn) -> int:
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False, custom_mapping=_EXTRA_FORMULAS) as counter:
            fn()
    finally:
        model.train(was_training)
    return counter.get_total_flops() // 2


def count_macs(model: nn.Module, in_chs: int, length: int) -> int:
    """MACs of `forward` on one `(1, length, in_chs)` window (eval mode; training-only heads excluded)."""
    x = torch.zeros(1, length, in_chs, dtype=next(model.parameters()).dtype)
    return _count(model, lambda: model(x))


def count_step_macs(model: nn.Module, in_chs: int) -> int:
    """MACs of one streaming `step` on one sample (streamable models only)."""
    if not hasattr(model, "step"):
        raise TypeError(f"{type(model).__name__} is not streamable (it has no step())")
    state = model.init_state(1)
    x_t = torch.zeros(1, in_chs, dtype=state[0].dtype if state else torch.float32)
    return _count(model, lambda: model.step(x_t, *state))


def model_table(length: int, in_chs: int, num_classes: int) -> list[dict]:
    """One row per registered model: name, kind, streamable, params, MACs per window and per step."""
    from edgekit.models.registry import create_model, get_entry, list_models

    rows = []
    for name in list_models():
        entry = get_entry(name)
        model = create_model(name, in_chs=in_chs, num_classes=num_classes)
        rows.append({
            "name": name,
            "kind": entry.kind,
            "streamable": entry.streamable,
            "params": count_params(model),
            "macs_per_window": count_macs(model, in_chs, length),
            "macs_per_step": count_step_macs(model, in_chs) if entry.streamable else None,
        })
    return rows
