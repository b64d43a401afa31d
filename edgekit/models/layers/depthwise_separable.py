"""Depthwise-separable convolution (Chollet, "Xception", arXiv 1610.02357; Howard et al.,
"MobileNets", arXiv 1704.04861): a per-channel temporal conv then a 1×1 channel mix.

Layout: `(B, C, T)`. Norm and activation after the pointwise conv are optional (identity).
"""

from __future__ import annotations

import torch
from torch import nn

from edgekit.models.layers.causal import Mask, StreamState, create_conv1d
from edgekit.models.layers.factories import LayerType, get_act, get_norm


class DepthwiseSeparableConv(nn.Module):
    def __init__(self, in_chs: int, out_chs: int, kernel_size: int = 3, dilation: int = 1, stride: int = 1,
                 norm_layer: LayerType | None = None, act_layer: LayerType | None = None, causal: bool = False):
        super().__init__()
        self.conv_dw = create_conv1d(in_chs, in_chs, kernel_size, dilation=dilation, stride=stride,
                                     groups=in_chs, causal=causal)
        self.conv_pw = nn.Conv1d(in_chs, out_chs, 1)
        self.norm = get_norm(norm_layer)(out_chs)
        self.act = get_act(act_layer)() if act_layer else nn.Identity()

    def forward(self, x: torch.Tensor, mask: Mask = None, stream: StreamState | None = None) -> torch.Tensor:
        x = self.conv_dw(x, mask, stream)
        x = self.conv_pw(x)
        x = self.norm(x, mask)
        return self.act(x)
