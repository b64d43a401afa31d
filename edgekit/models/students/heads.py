"""Student heads: classifier (global or causal running pooling), binary and physics heads.

Layout: `(B, F, T)` backbone features in; the mask is `(B, 1, T)` float (1 = real sample).
The physics head reconstructs R input channels per time step (an auxiliary task trained with
Smooth L1; which channels: `physics.py`); it lives only in `forward_train` and is dropped at export.

A BatchNorm between pooling and the classifier is folded into the classifier's weights at
inference (`_fold_norm`), so the exported graph has one Gemm/Conv there and no float
BatchNormalization (onnxruntime folds a BatchNorm only into the conv before it, not the one after).
"""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from torch import nn

from edgekit.models.layers.causal import Mask, RunningMeanPool, StreamState
from edgekit.models.layers.factories import LayerType, get_act, get_norm
from edgekit.models.layers.pooling import MaskedGlobalPool


def _vector_norm(norm: str | None, features: int) -> nn.Module:
    if norm in (None, "", "identity"):
        return nn.Identity()
    if norm == "layer":
        return nn.LayerNorm(features)
    if norm == "batch":
        return nn.BatchNorm1d(features)
    raise ValueError(f"head norm must be 'layer', 'batch' or 'identity', not {norm!r}")


def _fold_norm(norm: nn.Module, weight: torch.Tensor, bias: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """`weight`, `bias` of a linear map (`(K, F, ...)`) applied after the eval-mode BatchNorm `norm`,
    with the norm folded in: `W·(s·z + t) + b = (W·s)·z + (W·t + b)`."""
    scale = torch.rsqrt(norm.running_var + norm.eps)
    shift = -norm.running_mean * scale
    if norm.affine:
        scale, shift = scale * norm.weight, shift * norm.weight + norm.bias
    per_input = scale.reshape((1, -1) + (1,) * (weight.dim() - 2))
    folded_bias = (weight.flatten(2).sum(-1) if weight.dim() > 2 else weight) @ shift
    folded = weight * per_input, folded_bias + (bias if bias is not None else 0.0)
    if torch.jit.is_tracing():
        # the legacy ONNX exporter does not constant-fold this MatMul/ReduceSum, so the file would
        # compute the fold (and count its MACs); the weights are fixed while exporting: pass values
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            folded = tuple(torch.from_numpy(t.detach().cpu().numpy().copy()) for t in folded)
    return folded


class ClassifierHead(nn.Module):
    """Masked global pooling → norm → dropout → linear: `(B, F, T)` → `(B, num_classes)`."""

    def __init__(self, in_chs: int, num_classes: int, pool_type: str = "avg", norm_layer: str | None = "layer",
                 drop: float = 0.0):
        super().__init__()
        self.pool = MaskedGlobalPool(pool_type)
        self.num_features = in_chs * self.pool.feature_mult()
        self.norm = _vector_norm(norm_layer, self.num_features)
        self.drop = nn.Dropout(drop)
        self.fc = nn.Linear(self.num_features, num_classes)

    def features(self, x: torch.Tensor, mask: Mask = None, stream: StreamState | None = None) -> torch.Tensor:
        return self.drop(self.norm(self.pool(x, mask, stream)))

    def forward(self, x: torch.Tensor, mask: Mask = None, stream: StreamState | None = None) -> torch.Tensor:
        if self.training or not isinstance(self.norm, nn.BatchNorm1d):
            return self.fc(self.features(x, mask, stream))
        return F.linear(self.pool(x, mask, stream), *_fold_norm(self.norm, self.fc.weight, self.fc.bias))


class CausalClassifierHead(nn.Module):
    """Running (cumulative masked mean) pooling → BatchNorm → dropout → 1×1 linear:
    `(B, F, T)` → per-step logits `(B, num_classes, T)`; BatchNorm (padding-masked statistics in
    training) so export can fold it."""

    def __init__(self, in_chs: int, num_classes: int, drop: float = 0.0):
        super().__init__()
        self.num_features = in_chs
        self.pool = RunningMeanPool(in_chs)
        self.norm = get_norm("batch")(in_chs)
        self.drop = nn.Dropout(drop)
        self.fc = nn.Conv1d(in_chs, num_classes, 1)

    def features(self, x: torch.Tensor, mask: Mask = None, stream: StreamState | None = None) -> torch.Tensor:
        return self.drop(self.norm(self.pool(x, mask, stream), mask))

    def forward(self, x: torch.Tensor, mask: Mask = None, stream: StreamState | None = None) -> torch.Tensor:
        return self._classify(self.pool(x, mask, stream), mask)

    def _classify(self, pooled: torch.Tensor, mask: Mask) -> torch.Tensor:
        if self.training:
            return self.fc(self.drop(self.norm(pooled, mask)))
        return F.conv1d(pooled, *_fold_norm(self.norm, self.fc.weight, self.fc.bias))


class PhysicsHead(nn.Module):
    """Per-time-step MLP (1×1 convs) reconstructing `out_chs` input channels: `(B, F, T)` → `(B, R, T)`.
    The seed note's head: Linear(F, F/2) → ReLU → Linear(F/2, 6) at every step."""

    def __init__(self, in_chs: int, out_chs: int, hidden: int, act_layer: LayerType = "relu"):
        super().__init__()
        self.fc1 = nn.Conv1d(in_chs, hidden, 1)
        self.act = get_act(act_layer)()
        self.fc2 = nn.Conv1d(hidden, out_chs, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))
