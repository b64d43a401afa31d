"""Layer factories from plain names: `get_act("gelu")`, `get_norm("batch")`.

Configs and builders name activations and norms as strings; these look-ups turn them into layer
classes (timm's `get_act_layer`/`get_norm_layer`, without the string mini-language). A class or
callable passes through unchanged, so `act_layer=nn.SiLU` and `act_layer="silu"` both work.
Norms act on `(B, C, T)` tensors and are called as `norm(x, mask)` (mask `(B, 1, T)` float or None);
none mixes time steps at inference: "batch" is `MaskedBatchNorm` (padding stays out of its
training statistics; plain, foldable BatchNorm at inference), "layer" normalises channels per step.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from edgekit.models.layers.masking import MaskedBatchNorm


class ChannelLayerNorm(nn.LayerNorm):
    """LayerNorm over the channel axis of a `(B, C, T)` tensor (per time step, so causal)."""

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return super().forward(x.transpose(1, 2)).transpose(1, 2)


class NoNorm(nn.Identity):
    """The "identity" norm, with the `norm(x, mask)` calling convention."""

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return x


_ACTS: dict[str, type[nn.Module]] = {
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "swish": nn.SiLU,
    "relu": nn.ReLU,
    "relu6": nn.ReLU6,
    "hardswish": nn.Hardswish,
    "sigmoid": nn.Sigmoid,
    "hardsigmoid": nn.Hardsigmoid,
    "tanh": nn.Tanh,
    "identity": nn.Identity,
}

_NORMS: dict[str, type[nn.Module]] = {
    "batch": MaskedBatchNorm,
    "layer": ChannelLayerNorm,
    "identity": NoNorm,
}

LayerType = str | type[nn.Module] | Callable[..., nn.Module]


def get_act(act: LayerType) -> Callable[..., nn.Module]:
    """Activation layer class for a name (`"gelu"`, `"silu"`, ...) or pass a class through."""
    if isinstance(act, str):
        key = act.lower()
        if key not in _ACTS:
            raise ValueError(f"unknown activation {act!r}; choose from {sorted(_ACTS)}")
        return _ACTS[key]
    return act


def get_norm(norm: LayerType | None) -> Callable[..., nn.Module]:
    """Norm layer class for `(B, C, T)` tensors, built as `norm_layer(num_channels)`; None = no norm."""
    if norm is None:
        return NoNorm
    if isinstance(norm, str):
        key = norm.lower()
        if key not in _NORMS:
            raise ValueError(f"unknown norm {norm!r}; choose from {sorted(_NORMS)}")
        return _NORMS[key]
    return norm
