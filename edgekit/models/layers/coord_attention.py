"""Coordinate attention adapted to 1D sequences.

Hou, Zhou & Feng, "Coordinate Attention for Efficient Mobile Network Design" (arXiv 2103.02907).
The 2D original pools along each spatial axis separately (keeping the other coordinate), passes
both descriptors through one shared 1x1 transform, then splits them into two sigmoid gates whose
product rescales the input. A sequence has one coordinate, time, so the two descriptors become the
global (masked) time average — a channel descriptor, as in squeeze-excite — and the per-step
features themselves, which keep the time coordinate; they share the reduction conv + norm + act,
then give a channel gate `(B, C, 1)` and a position gate `(B, C, T)`.

Layout: `(B, C, T)`; `mask` `(B, 1, T)` float, 1 = real step.
"""

from __future__ import annotations

import torch
from torch import nn

from edgekit.models.layers.factories import LayerType, get_act
from edgekit.models.layers.masking import MaskedBatchNorm
from edgekit.models.layers.pooling import masked_mean


class CoordAttention1d(nn.Module):
    def __init__(self, in_chs: int, rd_ratio: float = 1 / 16, min_rd_chs: int = 8, act_layer: LayerType = "hardswish"):
        super().__init__()
        rd_chs = max(min_rd_chs, round(in_chs * rd_ratio))
        self.reduce = nn.Conv1d(in_chs, rd_chs, 1)
        self.norm = MaskedBatchNorm(rd_chs)
        self.act = get_act(act_layer)()
        self.gate_c = nn.Conv1d(rd_chs, in_chs, 1)
        self.gate_t = nn.Conv1d(rd_chs, in_chs, 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        pooled = masked_mean(x, mask, keepdim=True)  # (B, C, 1)
        y = torch.cat([pooled, x], dim=-1)
        y_mask = torch.cat([torch.ones_like(mask[..., :1]), mask], dim=-1)
        y = self.act(self.norm(self.reduce(y), y_mask))
        a_c = torch.sigmoid(self.gate_c(y[..., :1]))
        a_t = torch.sigmoid(self.gate_t(y[..., 1:]))
        return x * a_c * a_t
