"""Multi-scale temporal convolution (Inception-style parallel kernels, Szegedy et al., arXiv
1409.4842, as used in ModernTCN-style sensor models, Luo & Wang, ICLR 2024).

Layout: `(B, C, T)`. Parallel depthwise-separable branches, one per kernel size (same dilation),
each → norm → act → dropout; the branches are concatenated and fused by a 1×1 conv. Each branch is
`out_chs` wide (as in the ModernTCN seed note); `split=True` gives each `out_chs // len(kernel_sizes)`
channels instead (about half the parameters and MACs for two branches).
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from edgekit.models.layers.causal import Mask, StreamState
from edgekit.models.layers.depthwise_separable import DepthwiseSeparableConv
from edgekit.models.layers.factories import LayerType


class MultiScaleConv(nn.Module):
    def __init__(self, in_chs: int, out_chs: int, kernel_sizes: Sequence[int] = (3, 7), dilation: int = 1,
                 norm_layer: LayerType = "batch", act_layer: LayerType = "gelu", drop: float = 0.0,
                 causal: bool = False, split: bool = False):
        super().__init__()
        branch_chs = max(1, out_chs // len(kernel_sizes)) if split else out_chs
        self.branches = nn.ModuleList(
            DepthwiseSeparableConv(in_chs, branch_chs, k, dilation=dilation, norm_layer=norm_layer,
                                   act_layer=act_layer, causal=causal)
            for k in kernel_sizes
        )
        self.drop = nn.Dropout(drop)
        self.fuse = nn.Conv1d(branch_chs * len(kernel_sizes), out_chs, 1)

    def forward(self, x: torch.Tensor, mask: Mask = None, stream: StreamState | None = None) -> torch.Tensor:
        x = torch.cat([branch(x, mask, stream) for branch in self.branches], dim=1)
        x = self.drop(x)
        return self.fuse(x)
