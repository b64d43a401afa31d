"""ModernTCN block for sensor sequences (after Luo & Wang, "ModernTCN: A Modern Pure Convolution
Structure for General Time Series Analysis", ICLR 2024, https://openreview.net/forum?id=vpJMJerXHU;
no arXiv id).

Layout: `(B, C, T)`. multi-scale conv → depthwise-separable conv at the largest kernel → norm →
act → dropout → squeeze-excite (optional; the seed note has none in the block) → residual add →
act. All temporal convs share one dilation d, so a stack with dilations 1, 2, 4, ... grows the
receptive field exponentially: each block adds `2 * (max(kernel_sizes) - 1) * d` samples.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from edgekit.models.layers.causal import Mask, StreamState
from edgekit.models.layers.depthwise_separable import DepthwiseSeparableConv
from edgekit.models.layers.drop_path import DropPath
from edgekit.models.layers.factories import LayerType, get_act, get_norm
from edgekit.models.layers.multiscale_conv import MultiScaleConv
from edgekit.models.layers.squeeze_excite import SqueezeExcite


class ModernTCNBlock(nn.Module):
    def __init__(self, in_chs: int, out_chs: int, kernel_sizes: Sequence[int] = (3, 7), dilation: int = 1,
                 rd_ratio: float | None = None, act_layer: LayerType = "gelu", norm_layer: LayerType = "batch",
                 drop: float = 0.0, drop_path: float = 0.0, causal: bool = False, split_branches: bool = False):
        super().__init__()
        self.ms_conv = MultiScaleConv(in_chs, out_chs, kernel_sizes, dilation=dilation, norm_layer=norm_layer,
                                      act_layer=act_layer, drop=drop, causal=causal, split=split_branches)
        self.ds_conv = DepthwiseSeparableConv(out_chs, out_chs, max(kernel_sizes), dilation=dilation, causal=causal)
        self.norm = get_norm(norm_layer)(out_chs)
        self.act = get_act(act_layer)()
        self.drop = nn.Dropout(drop)
        self.se = SqueezeExcite(out_chs, rd_ratio, causal=causal) if rd_ratio else nn.Identity()
        self.drop_path = DropPath(drop_path)
        self.shortcut = nn.Conv1d(in_chs, out_chs, 1) if in_chs != out_chs else nn.Identity()
        self.act_out = get_act(act_layer)()

    def forward(self, x: torch.Tensor, mask: Mask = None, stream: StreamState | None = None) -> torch.Tensor:
        shortcut = self.shortcut(x)
        x = self.ms_conv(x, mask, stream)
        x = self.ds_conv(x, mask, stream)
        x = self.norm(x, mask)
        x = self.act(x)
        x = self.drop(x)
        x = self.se(x, mask, stream) if isinstance(self.se, SqueezeExcite) else x
        return self.act_out(self.drop_path(x) + shortcut)
