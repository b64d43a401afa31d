"""Squeeze-and-Excitation for 1D sequences (Hu et al., "Squeeze-and-Excitation Networks",
arXiv 1709.01507).

Layout: `(B, C, T)`. The squeeze is a masked mean over time; with `causal=True` it is the running
mean up to each step (`RunningMeanPool`), so the gate at time t uses no later sample and streams.
"""

from __future__ import annotations

import torch
from torch import nn

from edgekit.models.layers.causal import Mask, RunningMeanPool, StreamState
from edgekit.models.layers.factories import LayerType, get_act
from edgekit.models.layers.pooling import MaskedGlobalPool


class SqueezeExcite(nn.Module):
    def __init__(self, in_chs: int, rd_ratio: float = 0.25, rd_channels: int | None = None,
                 act_layer: LayerType = "relu", gate_layer: LayerType = "sigmoid", causal: bool = False):
        super().__init__()
        rd_channels = rd_channels or max(1, round(in_chs * rd_ratio))
        self.pool = RunningMeanPool(in_chs) if causal else MaskedGlobalPool("avg", keepdim=True)
        self.fc1 = nn.Conv1d(in_chs, rd_channels, 1)
        self.act = get_act(act_layer)()
        self.fc2 = nn.Conv1d(rd_channels, in_chs, 1)
        self.gate = get_act(gate_layer)()

    def forward(self, x: torch.Tensor, mask: Mask = None, stream: StreamState | None = None) -> torch.Tensor:
        s = self.pool(x, mask, stream)
        s = self.fc1(s)
        s = self.act(s)
        s = self.fc2(s)
        return x * self.gate(s)
