"""Student heads: classifier (global or causal running pooling), binary and physics heads.

Layout: `(B, F, T)` backbone features in; the mask is `(B, 1, T)` float (1 = real sample).
The physics head reconstructs R raw input channels per time step (an auxiliary task trained with
Smooth L1); it lives only in `forward_train` and is dropped at export.
"""

from __future__ import annotations

import torch
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
        return self.fc(self.features(x, mask, stream))


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
        return self.fc(self.features(x, mask, stream))


class PhysicsHead(nn.Module):
    """Per-time-step MLP (1×1 convs) reconstructing `out_chs` raw channels: `(B, F, T)` → `(B, R, T)`."""

    def __init__(self, in_chs: int, out_chs: int, hidden: int, act_layer: LayerType = "gelu"):
        super().__init__()
        self.fc1 = nn.Conv1d(in_chs, hidden, 1)
        self.act = get_act(act_layer)()
        self.fc2 = nn.Conv1d(hidden, out_chs, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))
